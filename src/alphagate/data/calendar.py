"""Trading sessions and the bar-end timestamps they imply.

Bars are stamped at their close (see ``domain.bars``), so a daily equity bar
sits at its session's close in UTC (21:00 in winter, 20:00 in summer, 18:00 on
an early close) and intraday bars end on clock boundaries inside sessions,
the last one clipped to the close. Markets without a calendar (crypto) trade
around the clock and their bars end on plain UTC boundaries.

Besides the ``exchange_calendars`` codes there is ``fx``, the spot currency
week: no exchange publishes it, and its sessions follow from one convention,
New York 17:00. Session ``D`` (Monday to Friday) opens at 17:00 New York on
the day before ``D`` and closes at 17:00 New York on ``D``, so the week runs
from Sunday about 21:00/22:00 UTC to Friday about 21:00/22:00 UTC, moving
with American daylight saving; daily FX bars close at 17:00 New York. It has
no holidays: dealers quote through them, thinly.

This module is the one place that knows this, so the quality checks (which bars
should exist) and resampling (which period a bar belongs to) cannot disagree.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from alphagate.domain.timeframe import Timeframe, TimeUnit
from alphagate.errors import DataError

if TYPE_CHECKING:
    from exchange_calendars import ExchangeCalendar

_CALENDAR_START = "1990-01-01"

FX = "fx"
"""The spot currency week, Sunday 17:00 to Friday 17:00 New York (see the module docstring)."""

_FX_ROLL_ZONE = "America/New_York"
_FX_ROLL_HOUR = 17
_FX_YEARS_AHEAD = 2


@dataclass(frozen=True)
class Sessions:
    """Session dates with their UTC open and close instants, sorted."""

    dates: pd.DatetimeIndex
    opens: pd.DatetimeIndex
    closes: pd.DatetimeIndex


@lru_cache(maxsize=8)
def exchange_calendar(code: str) -> ExchangeCalendar:
    """Return the ``exchange_calendars`` calendar for ``code`` (cached: building one is slow)."""
    import exchange_calendars

    try:
        with warnings.catch_warnings():
            # exchange_calendars 4.13 reads Series.values on tz-aware data, which
            # pandas 3.1 deprecates; the warning is the library's, not ours.
            warnings.simplefilter("ignore", category=FutureWarning)
            warnings.simplefilter("ignore", category=DeprecationWarning)
            return exchange_calendars.get_calendar(code, start=_CALENDAR_START)
    except exchange_calendars.errors.InvalidCalendarName:
        raise DataError(
            f"unknown exchange calendar {code!r}; use an exchange_calendars code such as "
            "XNYS, XNAS, XLON, fx for the currency week, or none for markets that trade around "
            "the clock"
        ) from None


def sessions(code: str) -> Sessions:
    """Return every session of the calendar ``code`` with its open and close in UTC."""
    return _sessions(code)


@lru_cache(maxsize=8)
def _sessions(code: str) -> Sessions:
    if code == FX:
        return _fx_sessions()
    calendar = exchange_calendar(code)
    schedule = calendar.schedule
    return Sessions(
        dates=pd.DatetimeIndex(schedule.index).as_unit("ns"),
        opens=pd.DatetimeIndex(schedule["open"]).tz_convert("UTC").as_unit("ns"),
        closes=pd.DatetimeIndex(schedule["close"]).tz_convert("UTC").as_unit("ns"),
    )


def _fx_sessions() -> Sessions:
    """Weekdays from 1990 to two years ahead, each from 17:00 New York the day before to 17:00."""
    last = pd.Timestamp.now(tz="UTC").normalize().tz_localize(None) + pd.DateOffset(
        years=_FX_YEARS_AHEAD
    )
    dates = pd.bdate_range(_CALENDAR_START, last).as_unit("ns")
    roll = pd.Timedelta(hours=_FX_ROLL_HOUR)

    def at_roll(days: pd.DatetimeIndex) -> pd.DatetimeIndex:
        # 17:00 New York never falls in a daylight-saving change (02:00), so it always exists.
        local = (days + roll).tz_localize(_FX_ROLL_ZONE)
        return local.tz_convert("UTC").as_unit("ns")

    return Sessions(dates=dates, opens=at_roll(dates - pd.Timedelta(days=1)), closes=at_roll(dates))


def session_closes_for_dates(dates: pd.DatetimeIndex, code: str) -> pd.DatetimeIndex:
    """Map session dates (naive, midnight) to their closes; NaT where a date is no session."""
    table = sessions(code)
    position = table.dates.get_indexer(pd.DatetimeIndex(dates).normalize().as_unit("ns"))
    closes = table.closes.take(np.where(position >= 0, position, 0))
    return pd.DatetimeIndex(closes.where(position >= 0))


def session_positions(ts: pd.DatetimeIndex, code: str) -> np.ndarray:
    """Return, for each UTC instant, the index of the session with ``open < ts <= close``, or -1."""
    table = sessions(code)
    values = ts.as_unit("ns").asi8
    position = np.searchsorted(table.closes.asi8, values, side="left")
    inside = position < len(table.closes)
    clipped = np.minimum(position, len(table.closes) - 1)
    inside &= table.opens.asi8[clipped] < values
    return np.where(inside, clipped, -1)


def bar_end_labels(
    ts: pd.DatetimeIndex, timeframe: Timeframe, calendar: str | None
) -> pd.DatetimeIndex:
    """Return the end of the ``timeframe`` bar that each bar-end instant ``ts`` falls in.

    With a calendar, intraday bars are clipped to their session's close, a day
    is a session (labelled at its close), and weeks and months are labelled at
    the close of their last scheduled session. Instants outside every session
    fall back to plain UTC boundaries; the quality checks reject them before
    they are stored.
    """
    ts = pd.DatetimeIndex(ts).as_unit("ns")
    plain = timeframe.period_end(ts)
    if calendar is None:
        return plain
    table = sessions(calendar)
    position = session_positions(ts, calendar)
    inside = position >= 0
    safe = np.where(inside, position, 0)
    if timeframe.is_intraday:
        close = table.closes.asi8[safe]
        labels = np.where(inside, np.minimum(plain.asi8, close), plain.asi8)
    elif timeframe.unit is TimeUnit.DAY:
        labels = np.where(inside, table.closes.asi8[safe], plain.asi8)
    else:
        keyed = _period_close_of_sessions(calendar, timeframe.unit)[safe]
        labels = np.where(inside, keyed, plain.asi8)
    return pd.DatetimeIndex(labels.astype("datetime64[ns]"), tz="UTC")


def expected_bar_ends(
    timeframe: Timeframe, calendar: str | None, first: pd.Timestamp, last: pd.Timestamp
) -> pd.DatetimeIndex:
    """Return every bar end the market should produce between ``first`` and ``last`` inclusive."""
    first = pd.Timestamp(first).tz_convert("UTC").as_unit("ns")
    last = pd.Timestamp(last).tz_convert("UTC").as_unit("ns")
    if calendar is None:
        return _plain_bar_ends(timeframe, first, last)
    table = sessions(calendar)
    if not timeframe.is_intraday:
        if timeframe.unit is TimeUnit.DAY:
            ends = table.closes
        else:
            closes = np.unique(_period_close_of_sessions(calendar, timeframe.unit))
            ends = pd.DatetimeIndex(closes.astype("datetime64[ns]")).tz_localize("UTC")
        return ends[(ends >= first) & (ends <= last)]
    window = (table.closes >= first) & (table.opens < last)
    pieces = []
    step = timeframe.delta
    for open_, close in zip(table.opens[window], table.closes[window], strict=True):
        start = timeframe.period_end(pd.DatetimeIndex([open_ + pd.Timedelta(1, "ns")]))[0]
        grid = pd.date_range(start, close, freq=step)
        if len(grid) == 0 or grid[-1] != close:
            grid = pd.DatetimeIndex(grid.append(pd.DatetimeIndex([close])))
        pieces.append(grid)
    if not pieces:
        return pd.DatetimeIndex([], tz="UTC").as_unit("ns")
    ends = pd.DatetimeIndex(np.concatenate([p.as_unit("ns").asi8 for p in pieces])).tz_localize(
        "UTC"
    )
    return ends[(ends >= first) & (ends <= last)]


def _plain_bar_ends(
    timeframe: Timeframe, first: pd.Timestamp, last: pd.Timestamp
) -> pd.DatetimeIndex:
    start = timeframe.period_end(pd.DatetimeIndex([first]))[0]
    if timeframe.unit is TimeUnit.MONTH:
        ends = pd.date_range(start, last, freq="MS")
    elif timeframe.unit is TimeUnit.WEEK:
        ends = pd.date_range(start, last, freq="W-MON")
    else:
        ends = pd.date_range(start, last, freq=timeframe.delta)
    return pd.DatetimeIndex(ends).as_unit("ns")


def _period_keys(dates: pd.DatetimeIndex, unit: TimeUnit) -> np.ndarray:
    """Key each date by its calendar week (Monday to Sunday) or month, as an integer."""
    period = "M" if unit is TimeUnit.MONTH else "W-SUN"
    return np.asarray(dates.to_period(period).asi8)


@lru_cache(maxsize=16)
def _last_close_per_period(code: str, unit: TimeUnit) -> pd.Series:
    """Close (ns since epoch) of the last session in each week or month, keyed by period."""
    table = sessions(code)
    keys = _period_keys(table.dates, unit)
    return pd.Series(table.closes.asi8, index=keys).groupby(level=0, sort=False).last()


@lru_cache(maxsize=16)
def _period_close_of_sessions(code: str, unit: TimeUnit) -> np.ndarray:
    """For each session, the close (ns) of the last session of its week or month."""
    table = sessions(code)
    keys = _period_keys(table.dates, unit)
    return _last_close_per_period(code, unit).reindex(keys).to_numpy(dtype="int64")


def day_closes_for_dates(
    dates: pd.DatetimeIndex, timeframe: Timeframe, calendar: str | None
) -> pd.DatetimeIndex:
    """Map trading dates, as written in daily-or-coarser data, to the bars' closes.

    A date names the day (or the week or month containing it) that the bar
    covers. With a calendar the bar closes at that session's close, or at the
    last session close of its week or month; a date that is not a session of a
    daily calendar maps to NaT. Without a calendar the day ends at the next UTC
    midnight.
    """
    dates = pd.DatetimeIndex(dates).normalize().as_unit("ns")
    if calendar is None:
        day_end = dates.tz_localize("UTC") + pd.Timedelta(days=1)
        return timeframe.period_end(day_end)
    if timeframe.unit is TimeUnit.DAY:
        return session_closes_for_dates(dates, calendar)
    last_close = _last_close_per_period(calendar, timeframe.unit)
    keyed = last_close.reindex(_period_keys(dates, timeframe.unit)).to_numpy(dtype="float64")
    return pd.DatetimeIndex(pd.to_datetime(keyed, unit="ns"), tz=None).tz_localize("UTC")
