"""A kit for testing strategies and adapters: bars, orders and fills to order, and a venue.

alphagate's own tests use it, and so can yours::

    from alphagate.testing import bundled_bars, random_walk_bars, ScriptedVenue

Nothing here is used by a run; it lives in the package so that a user's
test suite gets the same builders ours trusts.
"""

from alphagate.testing.bars import (
    bars_by_symbol,
    bars_from_rows,
    bars_of,
    bundled_bars,
    random_walk_bars,
    stack_bars,
    synthetic_bars,
)
from alphagate.testing.orders import as_ns, fill_of, request_of
from alphagate.testing.venue import ScriptedVenue

__all__ = [
    "ScriptedVenue",
    "as_ns",
    "bars_by_symbol",
    "bars_from_rows",
    "bars_of",
    "bundled_bars",
    "fill_of",
    "random_walk_bars",
    "request_of",
    "stack_bars",
    "synthetic_bars",
]
