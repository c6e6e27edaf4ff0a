# Rules: download or synthesis of the raw data, layout check, manifest, Table 1.
# Functions for these rules live in workflow/rules/functions/dataset.smk (lint: no functions here).
