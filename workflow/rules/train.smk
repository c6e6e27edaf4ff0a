# Rules: Stage II runs, baseline fusion, submissions.
# Functions for these rules live in workflow/rules/functions/train.smk (lint: no functions here).
