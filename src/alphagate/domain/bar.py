"""One bar as a value, for code that handles bars one at a time.

The engine's event loop and a live feed see one bar per symbol per step; a
:class:`Bar` is that step's row of the canonical bars frame
(:mod:`alphagate.domain.bars`), with the same meaning: ``ts`` is the bar's
*close*, the first instant its values are known.

Only the structure is checked here (a symbol, a tz-aware time). The value
rules (positive prices, ``low <= open, close <= high``, ...) belong to
:mod:`alphagate.data.quality`, whose per-rule policies may let a flagged bar
through with a warning; rejecting that bar again here would crash the engine
on data the user chose to accept.
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from alphagate.domain.value_record import ValueRecord

# Bound once: compiled code would look ``pd.Timestamp`` up in the module at every check.
_Timestamp: Final = pd.Timestamp


class Bar(ValueRecord):
    """OHLCV of one symbol over one period, stamped at the period's close."""

    __match_args__ = ("symbol", "ts", "open", "high", "low", "close", "volume")

    def __init__(  # noqa: PLR0917 - positional, as the row it is (and the dataclass it was)
        self,
        symbol: str,
        ts: pd.Timestamp,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
    ) -> None:
        if not symbol:
            raise ValueError(f"a bar needs a symbol (ts {ts!r})")
        if not isinstance(ts, _Timestamp) or ts.tzinfo is None:
            raise ValueError(f"bar of {symbol!r}: ts must be a tz-aware Timestamp")
        self.symbol: Final = symbol
        self.ts: Final = ts
        self.open: Final = open
        self.high: Final = high
        self.low: Final = low
        self.close: Final = close
        self.volume: Final = volume
