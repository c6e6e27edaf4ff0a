# Rules: local models, feature extraction, Stage I.
# Functions for these rules live in workflow/rules/functions/features.smk (lint: no functions here).
