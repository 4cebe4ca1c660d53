"""Resample a bars frame to a coarser timeframe.

Which period a bar belongs to is decided by ``data.calendar.bar_end_labels``
and nowhere else, so resampled bars land exactly on the bar ends the quality
checks expect (a daily equity bar at its session's close, an hourly one clipped
to an early close). Because every timestamp is a bar *close*, periods are
closed on the right: a bar that closes on a boundary is the last bar of the
period ending there, never the first of the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from alphagate.data.calendar import bar_end_labels, expected_bar_ends
from alphagate.domain.bars import (
    BAR_COLUMNS,
    INDEX_NAMES,
    PRICE_COLUMNS,
    check_bars_frame,
    empty_bars,
)
from alphagate.domain.timeframe import Timeframe, TimeUnit

EmptyPolicy = Literal["drop", "fill"]

_AGGREGATIONS = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


@dataclass(frozen=True)
class ResampleResult:
    """Resampled bars, with the bars that were invented kept apart.

    Attributes
    ----------
    bars
        Canonical bars frame at the target timeframe.
    filled
        The rows of ``bars`` created for periods without any input bar (a
        canonical bars frame, empty when nothing was filled). They are listed
        separately because a flat, zero-volume bar is an assumption, not an
        observation: callers that count trades or fit volume models need to
        tell the two apart.
    """

    bars: pd.DataFrame
    filled: pd.DataFrame


def resample_bars(
    bars: pd.DataFrame,
    target: Timeframe,
    *,
    calendar: str | None,
    source: Timeframe | None = None,
    empty: EmptyPolicy = "drop",
) -> ResampleResult:
    """Aggregate ``bars`` into ``target`` bars, per symbol.

    Parameters
    ----------
    bars
        Canonical bars frame; may hold several symbols. It is checked up front
        because ``first``/``last`` are only right when rows are sorted by time.
    target
        Timeframe of the output bars.
    calendar
        ``exchange_calendars`` code of the market, or ``None`` for markets that
        trade around the clock. It decides the labels (a day is a session) and,
        with ``empty="fill"``, which periods count as missing: weekends and
        holidays are not gaps for a calendar market.
    source
        Timeframe of the input bars, when known. Giving it turns silent
        nonsense into an error: a coarser source cannot be split into finer
        bars, and a source whose bars straddle target boundaries (``4h`` into
        ``6h``, ``1w`` into ``1M``) would put one bar's volume in two periods.
    empty
        ``"drop"`` emits no bar for a period without input bars, which keeps
        the output an honest record of what traded. ``"fill"`` emits a flat bar
        at the previous close with zero volume for every expected period
        between a symbol's first and last output bar, for consumers that need
        a regular grid; never before the first bar, since there is no price
        to carry there.

    Returns
    -------
    ResampleResult
        The resampled bars and, separately, the bars invented by filling.

    Raises
    ------
    ValueError
        When ``bars`` is not a canonical bars frame, ``empty`` is unknown, or
        ``source`` cannot be aggregated into ``target``.
    """
    check_bars_frame(bars)
    if empty not in ("drop", "fill"):
        raise ValueError(f"empty must be 'drop' or 'fill', got {empty!r}")
    if source is not None:
        _check_nesting(source, target)
    if bars.empty:
        return ResampleResult(bars=empty_bars(), filled=empty_bars())

    resampled = _aggregate(bars, target, calendar)
    if empty == "drop":
        return ResampleResult(bars=resampled, filled=empty_bars())
    return _fill_empty_periods(resampled, target, calendar)


def _check_nesting(source: Timeframe, target: Timeframe) -> None:
    """Refuse sources whose bars cannot be assigned whole to a single target bar.

    Boundaries of every timeframe are anchored together (see ``Timeframe.period_end``),
    so a fixed-length source nests in a fixed-length target exactly when the
    target's length is a multiple of the source's; every source up to a day
    nests in a month, and a week nests in nothing longer than itself.
    """
    source_minutes, target_minutes = source.minutes, target.minutes
    if _coarseness(target) < _coarseness(source):
        raise ValueError(
            f"cannot resample {source} bars to the finer timeframe {target}: "
            "resampling only aggregates, it cannot split a bar into shorter ones"
        )
    if source_minutes is None or target_minutes is None:
        # Only a month target has no length here (a month source was refused above).
        nests = source.unit is not TimeUnit.WEEK
    else:
        nests = target_minutes % source_minutes == 0
    if not nests:
        raise ValueError(
            f"cannot resample {source} bars to {target}: a {source} bar can straddle a "
            f"{target} boundary, so its volume would belong to two {target} bars"
        )


def _coarseness(timeframe: Timeframe) -> float:
    """Order timeframes by length; a month has no fixed length but is the coarsest."""
    minutes = timeframe.minutes
    return float("inf") if minutes is None else float(minutes)


def _aggregate(bars: pd.DataFrame, target: Timeframe, calendar: str | None) -> pd.DataFrame:
    """Group all symbols at once by ``(symbol, period end)`` and take OHLCV aggregates.

    ``first`` and ``last`` follow row order, which ``check_bars_frame`` has
    guaranteed to be time order within each symbol.
    """
    symbols = bars.index.get_level_values("symbol")
    ts = bars.index.get_level_values("ts")
    assert isinstance(ts, pd.DatetimeIndex)  # guaranteed by check_bars_frame
    # Labels are whole minutes or session closes, so matching the caller's
    # resolution (pandas 3 defaults to microseconds) loses nothing.
    labels = bar_end_labels(ts, target, calendar).as_unit(ts.unit).rename("ts")
    grouped = bars.loc[:, list(BAR_COLUMNS)].groupby([symbols, labels], sort=True)
    out = grouped.agg(_AGGREGATIONS)
    return out.astype(dict.fromkeys(BAR_COLUMNS, "float64"))


def _fill_empty_periods(
    resampled: pd.DataFrame, target: Timeframe, calendar: str | None
) -> ResampleResult:
    """Insert flat zero-volume bars where the market was open but no bar arrived.

    Expected periods come from ``expected_bar_ends`` so that "open" means the
    same here as in the quality checks. Observed bars that are not on that
    grid (instants outside sessions) are kept rather than silently dropped.
    """
    symbols = resampled.index.get_level_values("symbol")
    stamps = resampled.index.get_level_values("ts")
    assert isinstance(stamps, pd.DatetimeIndex)
    owners: list[np.ndarray] = []
    grids: list[pd.DatetimeIndex] = []
    for rows in resampled.groupby(level="symbol", sort=False).indices.values():
        observed = stamps[rows]
        expected = expected_bar_ends(target, calendar, observed[0], observed[-1])
        grid = observed.union(expected.as_unit(observed.unit))
        grids.append(grid)
        owners.append(np.full(len(grid), rows[0]))
    # Built from flat arrays rather than by concatenating frames, which would
    # infer a freq on the ts level (see ``_stack_without_freq``); ``take`` keeps
    # the caller's symbol dtype.
    index = pd.MultiIndex.from_arrays(
        [symbols.take(np.concatenate(owners)), _stack_without_freq(grids)],
        names=list(INDEX_NAMES),
    ).sort_values()
    full = resampled.reindex(index)
    is_filled = ~index.isin(resampled.index)
    previous_close = full["close"].groupby(level="symbol", sort=False).ffill()
    for column in PRICE_COLUMNS:
        full[column] = full[column].where(~is_filled, previous_close)
    full["volume"] = full["volume"].where(~is_filled, 0.0)
    filled = full.loc[is_filled]
    return ResampleResult(bars=full, filled=filled if not filled.empty else empty_bars())


def _stack_without_freq(parts: list[pd.DatetimeIndex]) -> pd.DatetimeIndex:
    """Concatenate UTC indexes, dropping the freq that unions with a regular grid carry.

    A freq on the ``ts`` level makes two frames with identical rows compare
    unequal, so filled output would not equal the same bars built any other way.
    """
    naive = np.concatenate([part.tz_convert(None).to_numpy() for part in parts])
    return pd.DatetimeIndex(naive).tz_localize("UTC")
