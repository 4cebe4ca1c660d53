"""What a chart draws of a long run: monthly returns, thinned series, chosen trades, UTC times.

Kept apart from :mod:`alphagate.backtest.report`, which lays the page out:
these functions decide which numbers reach the page, and each is tested on
its own (extremes kept exactly, months compounded, times as UTC wall times).
A million-bar run must render in a fraction of a second and a few MiB, so
nothing here loops over bars in Python.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

TRADE_COLUMNS = (
    "symbol",
    "side",
    "qty",
    "entry_ts",
    "entry_price",
    "exit_ts",
    "exit_price",
    "pnl",
    "fees",
)
"""Columns a non-empty trades frame must have (others are ignored)."""
_LONG_SIDES = frozenset({"buy", "long"})
_SHORT_SIDES = frozenset({"sell", "short"})


def checked_equity(equity: pd.Series, name: str) -> tuple[np.ndarray[Any, Any], pd.DatetimeIndex]:
    """Validate an equity curve; return its values and its index in UTC."""
    if not isinstance(equity, pd.Series):
        raise ValueError(f"{name} must be a pandas Series, got {type(equity).__name__}")
    if len(equity) == 0:
        raise ValueError(f"{name} is empty; a report needs at least one equity point")
    if not isinstance(equity.index, pd.DatetimeIndex):
        raise ValueError(f"{name} must be indexed by timestamps, got {type(equity.index).__name__}")
    index = utc_index(equity.index)
    if not strictly_increasing(index):
        raise ValueError(f"{name} timestamps must be strictly increasing (sorted, no duplicates)")
    values = equity.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values) | (values <= 0.0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must be positive and finite: {int(bad.sum())} bad value(s), "
            f"the first {values[first]} at {equity.index[first]}"
        )
    return values, index


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Compounded return of each calendar month, as a years x months table.

    A month's return is its last equity value over the last value before the
    month began, minus one; the first month is measured from the curve's
    first value, because that is the starting capital and there is nothing
    before it. Measuring month end to month end (rather than summing daily
    returns) makes the months compound exactly: the product of ``1 + r`` over
    all months equals the curve's last value over its first. A month with no
    equity point is ``NaN`` (not 0 %, which would claim the account was
    flat); whatever changed during such a month is counted in the next month
    that has data, which is the first time the curve shows it.

    Months are calendar months in UTC, as every ``ts`` in alphagate is UTC (a
    tz-naive index is taken to be UTC already).

    Parameters
    ----------
    equity
        Account value at each bar close, positive and finite, indexed by
        strictly increasing timestamps.

    Returns
    -------
    pandas.DataFrame
        One row per year from the first to the last (``int`` index named
        ``"year"``), one column per month ``1`` to ``12`` (named ``"month"``),
        values as fractions (0.012 is 1.2 %).

    Raises
    ------
    ValueError
        When ``equity`` is empty, not indexed by timestamps, not strictly
        increasing, or has a value that is not finite or not positive.
    """
    return monthly_table(*checked_equity(equity, "equity"))


def monthly_table(values: np.ndarray[Any, Any], index: pd.DatetimeIndex) -> pd.DataFrame:
    """:func:`monthly_returns` of a curve :func:`checked_equity` has already checked.

    The report checks its curve once, for every chart: a million-point check
    is not free.
    """
    # The timestamps are sorted, so each month's last point sits just before the
    # next month's first instant: a binary search per month finds them all,
    # where grouping a million points by their month would first compute it
    # for every one.
    first, last_stamp = index[0], index[-1]
    months = (last_stamp.year - first.year) * 12 + last_stamp.month - first.month + 1
    month_starts = pd.date_range(
        pd.Timestamp(year=first.year, month=first.month, day=1, tz="UTC"),
        periods=months,
        freq="MS",
        unit=index.unit,
    )
    # Where each month's points end: before the next month's start, the last at the end.
    ends = np.append(np.searchsorted(index.asi8, month_starts.asi8[1:]), len(index))
    present = ends > np.concatenate(([0], ends[:-1]))  # months with at least one point
    keys = (month_starts.year * 100 + month_starts.month).to_numpy()[present]
    last = values[ends[present] - 1]
    base = np.concatenate(([values[0]], last[:-1]))
    returns = last / base - 1.0

    years = range(int(first.year), int(last_stamp.year) + 1)
    table = np.full((len(years), 12), np.nan)
    table[keys // 100 - first.year, keys % 100 - 1] = returns
    return pd.DataFrame(
        table,
        index=pd.Index(years, name="year", dtype="int64"),
        columns=pd.Index(range(1, 13), name="month", dtype="int64"),
    )


# --------------------------------------------------------------------------- report


def strictly_increasing(index: pd.DatetimeIndex) -> bool:
    """Sorted without duplicates or missing stamps, found by comparing neighbours.

    The same answer as ``is_monotonic_increasing and is_unique``, but
    ``is_unique`` hashes every timestamp: tens of milliseconds on a
    million-bar curve, which is checked more than once per report.
    """
    stamps = index.asi8
    return not index.hasnans and bool(np.all(stamps[1:] > stamps[:-1]))


def utc_index(index: pd.Index) -> pd.DatetimeIndex:
    """``index`` as UTC timestamps; a tz-naive index is taken to be UTC already."""
    stamps = pd.DatetimeIndex(index)
    return stamps.tz_localize("UTC") if stamps.tz is None else stamps.tz_convert("UTC")


def plot_times(index: pd.Index) -> list[str]:
    # Plotly.js draws the wall time it is given and ignores any offset, so
    # UTC wall times are passed as plain ISO strings: every axis reads UTC.
    # Formatted by NumPy in one call ("YYYY-MM-DDTHH:MM:SS", whole seconds);
    # Plotly takes either "T" or a space, the space reads better in a hover.
    seconds = utc_index(index).tz_localize(None).to_numpy().astype("datetime64[s]")
    text = np.char.replace(np.datetime_as_string(seconds, unit="s"), "T", " ")
    return [str(stamp) for stamp in text.tolist()]


def min_max_indices(values: np.ndarray[Any, Any], max_points: int) -> np.ndarray[Any, Any]:
    """Positions (sorted, int64) of the points of ``values`` to draw, at most ``max_points``.

    All of them when there are at most ``max_points``. Otherwise the series
    is cut into buckets of equal width (the last may be shorter) and each
    bucket contributes its first point, its lowest and its highest (the first
    of equal ones, missing values ignored) and its last point; a bucket with a
    missing value also contributes its first one, so that a gap in the line
    is still drawn as a gap. Four (five with gaps) points per bucket and
    ``max_points // 4`` (``// 5``) buckets keep within the limit, and the
    series' first, last, lowest and highest points are always among them.
    """
    count = values.size
    if count <= max_points:
        return np.arange(count, dtype=np.int64)
    missing = np.isnan(values)
    has_gaps = bool(missing.any())
    width = -(-count // max(1, max_points // (5 if has_gaps else 4)))
    buckets = -(-count // width)
    starts = np.arange(buckets, dtype=np.int64) * width
    ends = np.minimum(starts + width, count) - 1
    if not has_gaps:
        return np.unique(np.concatenate([starts, *_bucket_extremes(values, width), ends]))
    low = np.full(buckets * width, np.inf)
    low[:count] = np.where(missing, np.inf, values)
    high = np.full(buckets * width, -np.inf)
    high[:count] = np.where(missing, -np.inf, values)
    parts = [
        starts,
        starts + low.reshape(buckets, width).argmin(axis=1),
        starts + high.reshape(buckets, width).argmax(axis=1),
        ends,
    ]
    if has_gaps:
        gaps = np.zeros(buckets * width, dtype=bool)
        gaps[:count] = missing
        rows = gaps.reshape(buckets, width)
        parts.append((starts + rows.argmax(axis=1))[rows.any(axis=1)])
    return np.unique(np.concatenate(parts))


def _bucket_extremes(
    values: np.ndarray[Any, Any], width: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Positions of the first lowest and first highest value in each bucket of ``width`` values.

    The full buckets are searched in place, as rows of one reshaped view, and
    a shorter last bucket on its own, so nothing is copied to pad it.
    """
    full = values.size // width
    rows = values[: full * width].reshape(full, width)
    offsets = np.arange(full, dtype=np.int64) * width
    lowest, highest = offsets + rows.argmin(axis=1), offsets + rows.argmax(axis=1)
    if full * width < values.size:
        tail = values[full * width :]
        lowest = np.append(lowest, full * width + int(tail.argmin()))
        highest = np.append(highest, full * width + int(tail.argmax()))
    return lowest, highest


def marked_trades(trades: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The trades to mark on a price chart: all of them, or ``limit`` chosen ones.

    Chosen, in this order, until ``limit`` are taken: the open trades (the
    position the run ended with), the largest by absolute P&L (ties: the
    earlier row) up to half of what is left, then trades spread evenly over
    the remaining rows, which are in trade order, so quiet stretches of the
    run keep some markers. The chosen rows keep their original order.
    """
    count = len(trades)
    if count <= limit:
        return trades
    keep = np.zeros(count, dtype=bool)
    keep[np.flatnonzero(trades["exit_ts"].isna().to_numpy())[:limit]] = True
    magnitude = np.abs(trades["pnl"].to_numpy(dtype=np.float64, na_value=np.nan))
    order = np.argsort(-np.nan_to_num(magnitude, nan=-1.0), kind="stable")
    order = order[~keep[order]]
    keep[order[: (limit - int(keep.sum())) // 2]] = True
    rest = np.flatnonzero(~keep)
    wanted = limit - int(keep.sum())
    if wanted == 1:
        keep[rest[0]] = True
    elif wanted > 1:
        # rest.size > wanted (count > limit), so the steps are at least 1 and
        # the integer positions are distinct, first and last included.
        keep[rest[np.arange(wanted) * (rest.size - 1) // (wanted - 1)]] = True
    return trades[keep]


def checked_trades(trades: pd.DataFrame) -> pd.DataFrame:
    """Validate the trades and return them with uniform types.

    Engines and tests build trade frames in different ways (``Side`` enums or
    strings, ``None`` or ``NaT`` for an open exit, naive or aware times), so
    everything is normalised once here: ``symbol`` as text, a boolean
    ``long``, times as UTC ``datetime64`` (missing exit = ``NaT``), numbers as
    float64 (missing = ``NaN``). A frame with no rows may lack the columns.
    """
    if len(trades) == 0:
        trades = pd.DataFrame({column: pd.Series(dtype=object) for column in TRADE_COLUMNS})
    missing = [column for column in TRADE_COLUMNS if column not in trades.columns]
    if missing:
        raise ValueError(f"trades lack column(s) {missing}; expected {list(TRADE_COLUMNS)}")
    trades = trades.reset_index(drop=True)
    columns: dict[str, Any] = {
        "symbol": trades["symbol"].astype(str),
        "long": is_long(trades["side"]),
        "entry_ts": pd.to_datetime(trades["entry_ts"], utc=True),
        "exit_ts": pd.to_datetime(trades["exit_ts"], utc=True),
    }
    for column in ("qty", "entry_price", "exit_price", "pnl", "fees"):
        columns[column] = pd.to_numeric(trades[column], errors="coerce").astype(np.float64)
    out = pd.DataFrame(columns)
    if out["entry_ts"].isna().any():
        row = int(np.flatnonzero(out["entry_ts"].isna().to_numpy())[0])
        raise ValueError(f"the trade in row {row} has no entry_ts; every trade has one")
    return out


def is_long(sides: pd.Series) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Whether each side is long (``buy``/``long``, any case and spacing), or ValueError.

    A column of text (an engine's, with a row per trade) holds a handful of
    distinct sides, so those are normalised and looked up once each and
    spread back over the rows. Any other column, and text with a side that is
    not recognised (for the error, which names the first such row), is
    normalised row by row.
    """
    if isinstance(sides.dtype, pd.StringDtype):
        codes, distinct = pd.factorize(sides, use_na_sentinel=False)
        normalised = pd.Series(distinct, dtype=object).astype(str).str.strip().str.lower()
        if normalised.isin(_LONG_SIDES | _SHORT_SIDES).all():
            return normalised.isin(_LONG_SIDES).to_numpy(dtype=bool)[codes]
    normalised = sides.astype(str).str.strip().str.lower()
    unknown = ~normalised.isin(_LONG_SIDES | _SHORT_SIDES)
    if unknown.any():
        raise ValueError(
            f"trade side must be one of {sorted(_LONG_SIDES | _SHORT_SIDES)}, "
            f"got {sides[unknown].iloc[0]!r}"
        )
    return normalised.isin(_LONG_SIDES).to_numpy(dtype=bool)


def rescaled_benchmark(benchmark: pd.Series, equity: pd.Series) -> np.ndarray[Any, Any]:
    """Benchmark at the equity's timestamps, scaled so it starts at the first equity."""
    aligned = (
        benchmark.set_axis(utc_index(pd.DatetimeIndex(benchmark.index)))
        .reindex(equity.index)
        .to_numpy(dtype=np.float64, na_value=np.nan)
    )
    # Anchor at the first timestamp where both exist (normally the first one,
    # so the million-bar search is skipped), so the lines start at the same
    # height even if the benchmark starts late.
    valid = (
        np.zeros(1, dtype=np.int64)
        if aligned.size and math.isfinite(aligned[0]) and aligned[0] > 0.0
        else np.flatnonzero(np.isfinite(aligned) & (aligned > 0.0))
    )
    if valid.size == 0:
        raise ValueError(
            "benchmark has no positive value on any of the equity's timestamps; "
            "both must be stamped at the same bar closes"
        )
    start = int(valid[0])
    return aligned * (float(equity.iloc[start]) / float(aligned[start]))
