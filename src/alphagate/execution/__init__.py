"""Ring 3: orders after the decision: portfolio accounting, order management, fills, the venue.

Imports only ring 0 (``alphagate.domain``, ``ports``, ``config``, ``errors``) and
numerical libraries, so the same accounting runs in backtests, paper and live.
"""
