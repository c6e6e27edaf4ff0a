# Rules: frames, audio and transcripts per shard.
# Functions for these rules live in workflow/rules/functions/preprocess.smk (lint: no functions here).
