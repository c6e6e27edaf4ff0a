"""Stage II models: DSCMN, TAEMI and the baselines."""
