"""One bar as a value, for code that handles bars one at a time.

The engine's event loop and a live feed see one bar per symbol per step; a
:class:`Bar` is that step's row of the canonical bars frame
(:mod:`alphagate.domain.bars`), with the same meaning: ``ts`` is the bar's
*close*, the first instant its values are known, in int64 nanoseconds since
the epoch (UTC), as the bars frame's int64 view holds it
(:mod:`alphagate.domain.instants`).

Only the structure is checked here (a symbol, an integer time). The value
rules (positive prices, ``low <= open, close <= high``, ...) belong to
:mod:`alphagate.data.quality`, whose per-rule policies may let a flagged bar
through with a warning; rejecting that bar again here would crash the engine
on data the user chose to accept.
"""

from __future__ import annotations

from dataclasses import dataclass

from alphagate.domain.instants import check_ns


@dataclass(frozen=True, slots=True)
class Bar:
    """OHLCV of one symbol over one period, stamped at the period's close."""

    symbol: str
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ValueError(f"a bar needs a symbol (ts {self.ts!r})")
        ts = check_ns(self.ts, f"bar of {self.symbol!r}: ts")
        if ts is not self.ts:  # a NumPy integer, kept as a plain int
            object.__setattr__(self, "ts", ts)
