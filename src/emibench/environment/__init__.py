"""The software environment: the lock file (envs/requirements.lock) and what a run records of it."""
