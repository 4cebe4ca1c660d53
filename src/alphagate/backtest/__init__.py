"""Ring 5: backtests, the engine run over history through the simulated venue, and their files."""
