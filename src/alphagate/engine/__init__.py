"""Ring 4: the event loop that runs a strategy against a venue, bar by bar.

Imports rings 0-3 only, so the same loop drives a backtest (simulated venue)
and, later, paper and live runs: only the venue and the feed change.
"""
