"""The look-ahead checker: a feature at ``t`` must not change when bars after ``t`` are removed.

A feature frame is point in time when every value at ``ts = t`` could have been
computed at ``t``. The direct test of that is to compute the features again on
the bars up to ``t`` only, as a live system would, and compare with the full
computation on the rows up to ``t``. Any difference means the full build read
data it would not have had: a negative shift, a centred window, a
normalisation over the whole series, a rank over future timestamps. This is
Freqtrade's lookahead analysis, applied to a whole feature build.

The check is empirical: it catches a leak that changes a value at one of the
cuts tried. Cuts are spread over the series after the warm-up (where features
are defined, so a leak can show), and every row up to each cut is compared,
not only the last, so one cut already sees windows of every length ending
before it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from alphagate.errors import AlphagateError


class PointInTimeError(AlphagateError):
    """A feature's value at some ``ts`` depends on bars after ``ts``.

    Attributes
    ----------
    column, symbol, ts
        Where the first mismatch is (earliest ``ts`` of the earliest failing cut).
    full_value
        The value from the build on all bars.
    cut_value
        The value from the build on bars with ``ts <= cut`` only.
    cut
        The cut that exposed it.
    """

    def __init__(
        self,
        message: str,
        *,
        column: str,
        symbol: str,
        ts: pd.Timestamp,
        full_value: float,
        cut_value: float,
        cut: pd.Timestamp,
    ) -> None:
        super().__init__(message)
        self.column = column
        self.symbol = symbol
        self.ts = ts
        self.full_value = full_value
        self.cut_value = cut_value
        self.cut = cut


def assert_point_in_time(
    build: Callable[[pd.DataFrame], pd.DataFrame],
    bars: pd.DataFrame,
    cuts: Sequence[pd.Timestamp] | int = 5,
    atol: float = 1e-12,
) -> None:
    """Raise ``PointInTimeError`` unless ``build`` gives the same rows with the future removed.

    Parameters
    ----------
    build
        Bars frame in, feature frame out on the bars' ``(symbol, ts)`` index
        (e.g. ``lambda b: build_features(b, "short")``).
    bars
        A canonical bars frame; all symbols are cut at the same instant, as the
        cross-sectional features need.
    cuts
        Instants ``t`` to cut at, or how many to spread evenly over the
        timestamps after the warm-up (the first ``ts`` at which every column
        of the full build has a value for some symbol) and before the last
        one (a cut there removes nothing).
    atol
        Largest absolute difference still counted as equal; NaN equals NaN.

    Raises
    ------
    PointInTimeError
        Naming the column, symbol, ``ts`` and both values of the first mismatch.
    ValueError
        ``cuts`` is a count and the series has no timestamp left to cut at, or
        the build on cut bars returned other rows or columns than the full
        build (a feature frame must keep the bars' index and a fixed schema).
    """
    full = build(bars)
    ts_level = bars.index.get_level_values("ts")
    for cut in _choose_cuts(full, ts_level, cuts):
        partial_bars = bars.loc[ts_level <= cut]
        partial = build(partial_bars)
        expected = full.loc[full.index.get_level_values("ts") <= cut]
        _compare(expected, partial, cut, atol)


def _choose_cuts(
    full: pd.DataFrame, ts_level: pd.Index, cuts: Sequence[pd.Timestamp] | int
) -> list[pd.Timestamp]:
    if not isinstance(cuts, int):
        return sorted(_utc(c) for c in cuts)
    if cuts < 1:
        raise ValueError(f"cuts must be at least 1, got {cuts}")
    stamps = pd.DatetimeIndex(ts_level.unique()).sort_values()
    start = _warm_up_position(full, stamps)
    candidates = stamps[start:-1]
    if len(candidates) == 0:
        raise ValueError(
            f"no timestamp after the warm-up ({start} of {len(stamps)} timestamps) to cut at"
        )
    picks = np.unique(np.linspace(0, len(candidates) - 1, cuts).round().astype(int))
    return [candidates[i] for i in picks]


def _utc(stamp: pd.Timestamp | str) -> pd.Timestamp:
    """A cut as a UTC timestamp; a naive one would not compare with the tz-aware ``ts``."""
    value = pd.Timestamp(stamp)
    if value.tzinfo is None:
        raise ValueError(f"cut {value} has no time zone; bars' ts are UTC")
    return value.tz_convert("UTC")


def _warm_up_position(full: pd.DataFrame, stamps: pd.DatetimeIndex) -> int:
    """Position in ``stamps`` of the first ts where every ever-defined column has a value."""
    defined = full.notna()
    ever = defined.any(axis=0)
    if not ever.any():
        return 0
    columns = ever.index[ever.to_numpy()]
    ts = full.index.get_level_values("ts")
    first = [ts[defined[column].to_numpy()].min() for column in columns]
    return int(stamps.searchsorted(max(first), side="left"))


def _compare(expected: pd.DataFrame, partial: pd.DataFrame, cut: pd.Timestamp, atol: float) -> None:
    where = f"with bars cut at {cut.isoformat()}"
    if not partial.index.equals(expected.index):
        missing = expected.index.difference(partial.index)
        extra = partial.index.difference(expected.index)
        raise ValueError(
            f"{where}: the build returned other rows than the full build up to the cut "
            f"({len(missing)} missing, {len(extra)} extra); it must keep the bars' index"
        )
    if list(partial.columns) != list(expected.columns):
        raise ValueError(
            f"{where}: the build returned columns {sorted(map(str, partial.columns))}, "
            f"the full build {sorted(map(str, expected.columns))}"
        )
    want = expected.to_numpy(dtype=np.float64, na_value=np.nan)
    got = partial.to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        same = (want == got) | (np.isnan(want) & np.isnan(got)) | (np.abs(want - got) <= atol)
    if same.all():
        return
    rows, cols = np.nonzero(~same)
    ts = pd.DatetimeIndex(expected.index.get_level_values("ts")[rows])
    symbols = expected.index.get_level_values("symbol")[rows]
    columns = expected.columns[cols]
    order = np.lexsort((np.asarray(columns, dtype=str), np.asarray(symbols, dtype=str), ts.asi8))
    first = int(order[0])
    row, col = int(rows[first]), int(cols[first])
    full_value, cut_value = float(want[row, col]), float(got[row, col])
    column, symbol, stamp = str(columns[first]), str(symbols[first]), pd.Timestamp(ts[first])
    raise PointInTimeError(
        f"feature {column!r} is not point in time: symbol {symbol!r} at ts "
        f"{stamp.isoformat()} is {full_value!r} on all bars but {cut_value!r} {where} "
        f"({int((~same).sum())} values differ); it reads bars after its own ts",
        column=column,
        symbol=symbol,
        ts=stamp,
        full_value=full_value,
        cut_value=cut_value,
        cut=cut,
    )
