"""The canonical bars frame: one representation of OHLCV across the codebase.

A bars frame is a pandas DataFrame indexed by ``(symbol, ts)``, where ``ts``
is tz-aware UTC and is the moment the bar *closes*, the first instant at
which its values are known. Stamping bars by their close makes "nothing at t
reads data after t" a plain ``<=`` comparison everywhere downstream, and keeps
a daily bar from looking complete at 00:00 on the day it trades.

Columns are float64 ``open high low close volume``. On disk the index becomes
the columns ``symbol, ts``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
BAR_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")
INDEX_NAMES: tuple[str, str] = ("symbol", "ts")
NAT_NS = np.iinfo(np.int64).min
"""NaT among stamps read as nanoseconds: the smallest int64, so in stamps
that never fall only the first can be NaT."""


def in_nanoseconds(ts: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """``ts`` in nanoseconds, as it is when it already is.

    ``as_unit("ns")`` copies the stamps even when their unit is already ns,
    eight megabytes for a million bars, so it is called only when it is not.
    """
    return ts if ts.unit == "ns" else ts.as_unit("ns")


def empty_bars() -> pd.DataFrame:
    """Return a bars frame with no rows but the canonical index and dtypes."""
    index = pd.MultiIndex.from_arrays(
        [pd.Index([], dtype="object"), pd.DatetimeIndex([], tz="UTC")], names=INDEX_NAMES
    )
    return pd.DataFrame({c: pd.Series([], dtype="float64") for c in BAR_COLUMNS}, index=index)


def bars_from_flat(flat: pd.DataFrame) -> pd.DataFrame:
    """Build a canonical bars frame from a flat frame with ``symbol, ts`` columns.

    The result is sorted by ``(symbol, ts)``; uniqueness is the caller's duty
    (the quality checks enforce it before anything reaches the store).
    """
    if flat.empty:
        return empty_bars()
    frame = flat.loc[:, [*INDEX_NAMES, *BAR_COLUMNS]].astype(dict.fromkeys(BAR_COLUMNS, "float64"))
    frame["symbol"] = frame["symbol"].astype("object")
    # One precision everywhere (pandas 3 defaults to microseconds for new data),
    # so frames from different sources compare equal.
    frame["ts"] = pd.DatetimeIndex(frame["ts"]).tz_convert("UTC").as_unit("ns")
    return frame.set_index(list(INDEX_NAMES)).sort_index()


def bars_of_symbol(symbol: str, flat: pd.DataFrame, *, handed_over: bool = False) -> pd.DataFrame:
    """Build the bars frame of one symbol from flat ``ts, open, …`` columns (others ignored).

    The same frame as :func:`bars_from_flat` of these columns with ``symbol``
    added. When the timestamps strictly increase, as a checked series' do
    unless a rule only warned, the index is built directly from them: the
    general path hashes and sorts a million timestamps to find what is
    already known, that they are unique and in order.

    The frame gets its own, writable memory, one block per column, as
    ``bars_from_flat`` leaves it, so writing to it never changes ``flat``.
    ``handed_over`` says the caller gives ``flat`` up, and every frame that
    shares its memory (a series it has just read and checked): then the
    columns' memory becomes the frame's instead of being copied, where that
    memory is writable and no two columns share it, and so does the memory
    of the timestamps.
    """
    ts = pd.DatetimeIndex(flat["ts"]).tz_convert("UTC")
    # Not handed over, the frame gets stamps of its own: as_unit copies them.
    ts = in_nanoseconds(ts) if handed_over else ts.as_unit("ns")
    stamps = ts.asi8
    # NaT is the smallest stamp: in rising stamps only the first could be NaT.
    if len(ts) == 0 or stamps[0] == NAT_NS or not bool(np.all(stamps[1:] > stamps[:-1])):
        return bars_from_flat(flat.assign(symbol=symbol).loc[:, [*INDEX_NAMES, *BAR_COLUMNS]])
    # What MultiIndex.from_arrays would build: each level's sorted unique values, and codes
    # of the smallest type that holds them (which the constructor would otherwise cast to).
    levels: list[pd.Index] = [pd.Index([symbol], dtype="object"), ts.rename(None)]
    codes: list[np.ndarray] = [
        np.zeros(len(ts), dtype=np.int8),
        np.arange(len(ts), dtype=_code_type(len(ts))),
    ]
    index = pd.MultiIndex(
        levels=levels,  # type: ignore[arg-type]  # the stubs want plain sequences
        codes=codes,  # type: ignore[arg-type]
        names=list(INDEX_NAMES),
        verify_integrity=False,
    )
    columns: dict[str, np.ndarray] = {}
    for name in BAR_COLUMNS:
        column = flat[name]
        if handed_over and column.dtype == np.float64:
            values = np.asarray(column.array)  # to_numpy would give a read-only view
            if values.flags.writeable and not any(
                np.may_share_memory(values, kept) for kept in columns.values()
            ):
                columns[name] = values
                continue
        columns[name] = column.to_numpy(dtype="float64", copy=True)
    return pd.DataFrame(columns, index=index, copy=False)


def _code_type(size: int) -> type[np.signedinteger]:
    """The integer type pandas gives the codes of a level of ``size`` values."""
    for kind in (np.int8, np.int16, np.int32):
        if size < np.iinfo(kind).max:
            return kind
    return np.int64


def flat_from_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """Turn a bars frame back into flat ``symbol, ts, open, …`` columns for storage."""
    return bars.reset_index().loc[:, [*INDEX_NAMES, *BAR_COLUMNS]]


def check_bars_frame(bars: pd.DataFrame) -> None:
    """Raise ``ValueError`` when ``bars`` is not a canonical bars frame.

    This is the structural contract only (index, dtypes, order); the value
    rules (prices positive, OHLC consistent, …) live in ``data.quality``.
    """
    if list(bars.index.names) != list(INDEX_NAMES):
        raise ValueError(f"bars index must be {INDEX_NAMES}, got {tuple(bars.index.names)}")
    missing = [c for c in BAR_COLUMNS if c not in bars.columns]
    if missing:
        raise ValueError(f"bars frame lacks columns {missing}")
    ts = bars.index.get_level_values("ts")
    if not isinstance(ts, pd.DatetimeIndex) or str(ts.tz) != "UTC":
        raise ValueError("bars 'ts' level must be tz-aware UTC")
    if not bars.index.is_monotonic_increasing or not bars.index.is_unique:
        raise ValueError("bars index must be sorted and unique")
    wrong = [c for c in BAR_COLUMNS if bars[c].dtype != "float64"]
    if wrong:
        raise ValueError(f"bars columns must be float64: {wrong}")


def symbols_of(bars: pd.DataFrame) -> list[str]:
    """Return the symbols present in a bars frame, in index order.

    Read from the index's codes rather than its values: the symbol level's
    values for a million rows are a million strings to build and hash (a
    twentieth of a second, asked for more than once per backtest), while the
    codes are small integers, and only where they change can a new symbol
    appear.
    """
    index = bars.index
    if isinstance(index, pd.MultiIndex) and "symbol" in index.names:
        level = index.names.index("symbol")
        codes = np.asarray(index.codes[level])
        if len(codes) == 0:
            return []
        present = pd.unique(codes[np.concatenate(([True], codes[1:] != codes[:-1]))])
        if not (present < 0).any():  # a missing symbol (code -1) takes the general path
            return [str(s) for s in index.levels[level].take(present)]
    return [str(s) for s in index.get_level_values("symbol").unique()]


def select_symbols(bars: pd.DataFrame, symbols: Iterable[str]) -> pd.DataFrame:
    """Return the rows of ``bars`` for the given symbols (missing ones are ignored)."""
    wanted = set(symbols)
    mask = bars.index.get_level_values("symbol").isin(wanted)
    return bars.loc[mask]
