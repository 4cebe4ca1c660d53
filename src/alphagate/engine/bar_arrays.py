"""Each symbol's bars as read-only NumPy arrays: what the event loop and strategies read.

Kept out of the loop because it is about the input, not the run: a canonical
bars frame becomes, per symbol, ``ts`` (int64 ns, UTC) and OHLCV arrays, with
a NaN price refused up front (a NaN would silently poison equity, indicators
and fills alike).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

from alphagate.domain.bars import PRICE_COLUMNS
from alphagate.domain.strategy import SymbolHistory

COLUMNS: Final = (*PRICE_COLUMNS, "volume")
"""The price and volume columns each symbol's arrays hold, besides ``ts``."""


def symbol_arrays(bars: pd.DataFrame, symbols: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """Per symbol, read-only ``ts`` (int64 ns) and OHLCV arrays; refuse a NaN price.

    Each symbol's rows are one run of the sorted index, so its arrays are
    views of the frame's columns, not copies: a run of a million bars would
    otherwise hold the prices twice.
    """
    all_ts = pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8
    columns = {c: bars[c].to_numpy(np.float64) for c in COLUMNS}
    data = {}
    level = bars.index.levels[0] if isinstance(bars.index, pd.MultiIndex) else None
    for symbol in symbols:
        if level is not None and len(level) == 1 and level[0] == symbol:
            # The frame's only symbol: every row is its, and the index search
            # would first sort out a million rows' lexical order to say so.
            rows: slice | np.ndarray = slice(None)
        else:
            found = bars.index.get_loc(symbol)
            rows = found if isinstance(found, slice) else np.flatnonzero(found)
        ts = all_ts[rows]
        for column in PRICE_COLUMNS:
            bad = np.flatnonzero(np.isnan(columns[column][rows]))
            if bad.size:
                at = pd.Timestamp(int(ts[bad[0]]), tz="UTC")
                raise ValueError(f"NaN {column} for {symbol!r} at {at}")
        arrays = {c: read_only(columns[c][rows]) for c in COLUMNS}
        data[symbol] = {"ts": read_only(ts), **arrays}
    return data


def read_only(values: np.ndarray) -> np.ndarray:
    """``values`` as a read-only contiguous array; views handed to strategies inherit the flag."""
    array = np.ascontiguousarray(values)
    array.flags.writeable = False
    return array


def history_upto(arrays: Mapping[str, np.ndarray], n: int) -> SymbolHistory:
    """A symbol's first ``n`` bars as a :class:`SymbolHistory` of views (no copies)."""
    return SymbolHistory(
        arrays["ts"][:n], arrays["open"][:n], arrays["high"][:n], arrays["low"][:n],
        arrays["close"][:n], arrays["volume"][:n],
    )  # fmt: skip
