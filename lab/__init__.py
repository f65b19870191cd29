"""SolverLab's orchestration: models, plans, runs, store, statistics and the command line."""
