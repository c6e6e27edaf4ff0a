# Rules: collect, tables, figures, report.
# Functions for these rules live in workflow/rules/functions/report.smk (lint: no functions here).
