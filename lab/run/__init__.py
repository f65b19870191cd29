"""Running a study: plans, the run executor, typed records, the store and the run lifecycle."""
