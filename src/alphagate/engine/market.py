"""The bars the kernel has been shown, per symbol, as columnar arrays.

The kernel reads history from here and nowhere else. A driver puts bars in
and then tells the kernel which symbols closed (:meth:`Kernel.on_bars
<alphagate.engine.kernel.Kernel.on_bars>`); the kernel then counts them as
*seen*. What a strategy may read is exactly the seen bars, so a bar that is
stored but not yet announced is invisible to it.

Two drivers fill it two ways, with one reading path:

* the backtest stores a symbol's whole history up front (:meth:`MarketData.of_frame`,
  views of the bars frame, no copy) and announces one bar at a time;
* a live run starts from the warm-up history and :meth:`MarketData.append`\\ s
  each bar as it arrives, then announces it.

Arrays are stored with spare capacity and grown by doubling, so appending is
amortised O(1); anything that kept a view of an array must ask again after
:attr:`MarketData.version` of the symbol changed (the kernel's indicator
cache does).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Final

import numpy as np
import pandas as pd

from alphagate.domain.bar import Bar
from alphagate.domain.bars import PRICE_COLUMNS, check_bars_frame, symbols_of
from alphagate.domain.strategy import FloatArray, SymbolHistory

COLUMNS: Final = (*PRICE_COLUMNS, "volume")
"""The price and volume columns each symbol's arrays hold, besides ``ts``."""
_MIN_CAPACITY: Final = 256


class MarketData:
    """Per symbol: ``ts`` (int64 ns) and OHLCV arrays, how many are stored and how many seen."""

    def __init__(self, arrays: Mapping[str, Mapping[str, np.ndarray]]) -> None:
        self._arrays: dict[str, dict[str, np.ndarray]] = {}
        # The same arrays as memoryviews: indexed, one gives a Python float (an
        # int for ``ts``) directly, without a NumPy scalar in between.
        self._cells: dict[str, dict[str, memoryview]] = {}
        self._stored: dict[str, int] = {}
        self.seen: dict[str, int] = {}
        """Bars of each symbol the kernel has been told about: its readable history."""
        self.version: dict[str, int] = {}
        """Bumped whenever a symbol's stored bars change (an append), so caches can tell."""
        self.appends = 0
        """Bars appended so far, all symbols together: one number to tell that nothing was."""
        for symbol, columns in arrays.items():
            _refuse_nan_prices(symbol, columns)
            self._arrays[symbol] = {
                "ts": _read_only(columns["ts"], np.int64),
                **{c: _read_only(columns[c], np.float64) for c in COLUMNS},
            }
            self._cells[symbol] = _cells(self._arrays[symbol])
            self._stored[symbol] = len(columns["ts"])
            self.seen[symbol] = 0
            self.version[symbol] = 0

    @classmethod
    def of_frame(cls, bars: pd.DataFrame) -> MarketData:
        """Every bar of a canonical bars frame, stored and not yet seen; views, not copies.

        Raises
        ------
        ValueError
            For a malformed frame, or a NaN price (naming the symbol and bar):
            a NaN would silently poison equity, indicators and fills alike.
        """
        check_bars_frame(bars)
        stamps = pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8
        columns = {c: bars[c].to_numpy(np.float64) for c in COLUMNS}
        arrays: dict[str, dict[str, np.ndarray]] = {}
        for symbol in symbols_of(bars):
            found = bars.index.get_loc(symbol)
            rows = found if isinstance(found, slice) else np.flatnonzero(found)
            arrays[symbol] = {"ts": stamps[rows], **{c: columns[c][rows] for c in COLUMNS}}
        return cls(arrays)

    @classmethod
    def empty(cls, symbols: Iterable[str]) -> MarketData:
        """No bars yet for ``symbols``: a live run appends them as they close."""
        blank = {"ts": np.empty(0, np.int64), **{c: np.empty(0) for c in COLUMNS}}
        return cls(dict.fromkeys(symbols, blank))

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbols held, in the order given."""
        return tuple(self._arrays)

    def stored(self, symbol: str) -> int:
        """Bars of ``symbol`` held, seen or not."""
        return self._stored[symbol]

    def append(self, bar: Bar) -> None:
        """Store one new bar of ``bar.symbol``, after its last one; it is not seen yet.

        Raises
        ------
        KeyError
            For a symbol the run does not trade.
        ValueError
            For a NaN price or a bar not after the symbol's last one.
        """
        symbol = bar.symbol
        arrays, n = self._arrays[symbol], self._stored[symbol]
        ts = bar.ts
        if n and ts <= int(arrays["ts"][n - 1]):
            at = pd.Timestamp(ts, tz="UTC")
            raise ValueError(f"bar of {symbol!r} at {at} is not after its last one")
        prices = (bar.open, bar.high, bar.low, bar.close)
        if any(math.isnan(p) for p in prices):
            raise ValueError(f"NaN price for {symbol!r} at {pd.Timestamp(ts, tz='UTC')}")
        if n == len(arrays["ts"]):
            arrays = self._arrays[symbol] = _grown(arrays, n)
            self._cells[symbol] = _cells(arrays)
        for column, value in zip(("ts", *COLUMNS), (ts, *prices, bar.volume), strict=True):
            column_array = arrays[column]
            column_array.flags.writeable = True
            column_array[n] = value
            column_array.flags.writeable = False
        self._stored[symbol] = n + 1
        self.version[symbol] += 1
        self.appends += 1

    def column(self, symbol: str, name: str) -> np.ndarray:
        """All stored values of one column of ``symbol`` (read-only; may be longer than seen)."""
        return self._arrays[symbol][name][: self._stored[symbol]]

    def history(self, symbol: str, n: int | None = None) -> SymbolHistory:
        """The first ``n`` bars of ``symbol`` (default: those seen) as read-only views."""
        count = self.seen[symbol] if n is None else n
        a = self._arrays[symbol]
        return SymbolHistory(
            a["ts"][:count], a["open"][:count], a["high"][:count], a["low"][:count],
            a["close"][:count], a["volume"][:count],
        )  # fmt: skip

    def stored_history(self, symbol: str) -> SymbolHistory:
        """Every stored bar of ``symbol``: what declared indicators are computed over."""
        return self.history(symbol, self._stored[symbol])

    def value(self, symbol: str, column: str, row: int) -> float:
        """One stored value, as a Python float."""
        value: float = self._cells[symbol][column][row]
        return value

    def bar(self, symbol: str, row: int, ts: int) -> Bar:
        """Row ``row`` of ``symbol`` as a :class:`Bar` stamped ``ts`` ns (its stored ``ts``)."""
        cells = self._cells[symbol]
        return Bar(
            symbol, ts, cells["open"][row], cells["high"][row], cells["low"][row],
            cells["close"][row], cells["volume"][row],
        )  # fmt: skip


def _grown(arrays: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    capacity = max(_MIN_CAPACITY, 2 * n)
    out: dict[str, np.ndarray] = {}
    for name, values in arrays.items():
        grown = np.empty(capacity, dtype=values.dtype)
        grown[:n] = values[:n]
        grown.flags.writeable = False
        out[name] = grown
    return out


def _cells(arrays: Mapping[str, np.ndarray]) -> dict[str, memoryview]:
    return {name: values.data for name, values in arrays.items()}


def _read_only(values: np.ndarray, dtype: type[np.generic]) -> np.ndarray:
    """``values`` as a read-only contiguous array of ``dtype`` (a view when it already is one).

    Views handed to strategies inherit the flag; the dtype is what
    :meth:`MarketData.value` relies on to read Python floats (ints for ``ts``).
    """
    array = np.ascontiguousarray(values, dtype=dtype)
    array.flags.writeable = False
    return array


def _refuse_nan_prices(symbol: str, columns: Mapping[str, np.ndarray]) -> None:
    for column in PRICE_COLUMNS:
        values: FloatArray = columns[column]
        bad = np.flatnonzero(np.isnan(values))
        if bad.size:
            at = pd.Timestamp(int(columns["ts"][bad[0]]), tz="UTC")
            raise ValueError(f"NaN {column} for {symbol!r} at {at}")
