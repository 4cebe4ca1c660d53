"""Bars per year, inferred from bar spacing: the annualisation factor every metric uses.

Kept apart from the metrics themselves (:mod:`alphagate.metrics.performance`) because it
is a question about the data's calendar, not about returns; the metrics
module uses it when no factor is given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Annualisation constants, see ``periods_per_year``.
_SESSION_DAYS_PER_YEAR = 252  # trading sessions in a typical equity year
_SESSION_MINUTES = 390  # 09:30-16:00, a regular US equity session
_CALENDAR_DAYS_PER_YEAR = 365
_MINUTES_PER_DAY = 1440
_WEEKS_PER_YEAR = 52
_MONTHS_PER_YEAR = 12
# Spacing boundaries between bar families, in minutes. Daily closes of a session
# calendar are 23-25 h apart across DST changes and 21-27 h around early closes,
# so anything from 20 h to 4 days (a long weekend) is "daily"; weekly closes move
# by a day or two around holidays, monthly ones between 28 and 31 days.
_MIN_DAILY_SPACING = 20 * 60
_MAX_DAILY_SPACING = 4 * _MINUTES_PER_DAY
_MAX_WEEKLY_SPACING = 10 * _MINUTES_PER_DAY
_MAX_MONTHLY_SPACING = 45 * _MINUTES_PER_DAY
_DAYS_PER_YEAR_EXACT = 365.25


def periods_per_year(index: pd.DatetimeIndex, calendar: str | None = None) -> float:
    """Infer how many bars make a year from the median spacing of ``index``.

    The median, not the mean, is used so that weekends, holidays, overnight
    gaps and DST shifts (the exceptions) do not change the answer set by the
    typical bar. With the median spacing ``d``:

    ========================  ==========================  ========================
    spacing ``d``             with ``calendar``           without (trades 24/7)
    ========================  ==========================  ========================
    under 20 hours            ``252 * 390 / d_minutes``   ``365 * 1440 / d_minutes``
    20 hours to 4 days        252 (sessions)              365 (days)
    4 to 10 days              52                          52
    10 to 45 days             12                          12
    over 45 days              ``round(365.25 / d_days)``  same
    ========================  ==========================  ========================

    A session calendar (any exchange code, e.g. ``"XNYS"``) means the market
    trades 252 sessions of 6.5 hours a year, so intraday bars count trading
    minutes only; without one the market never closes. Only the presence of a
    calendar matters, not which one, because this module is ring 0 and cannot
    consult exchange schedules; 252 x 390 minutes is the US equity norm.

    Parameters
    ----------
    index
        Bar timestamps (bar closes, as everywhere in alphagate), strictly
        increasing.
    calendar
        Exchange calendar code, or ``None`` for a market open around the clock.

    Returns
    -------
    float
        Bars per year, e.g. 252.0 for daily XNYS bars, 8760.0 for hourly 24/7
        bars, 98280.0 for one-minute XNYS bars.

    Raises
    ------
    ValueError
        With fewer than two timestamps (there is no spacing to measure) or when
        the timestamps are not strictly increasing.
    """
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError(
            f"periods_per_year needs a DatetimeIndex, got {type(index).__name__}; "
            "pass periods_per_year explicitly for data without timestamps"
        )
    if len(index) < 2:
        raise ValueError(
            f"periods_per_year needs at least 2 timestamps to measure bar spacing, got {len(index)}"
        )
    steps_ns = np.diff(index.as_unit("ns").asi8)
    if (steps_ns <= 0).any():
        first = int(np.flatnonzero(steps_ns <= 0)[0]) + 1
        raise ValueError(
            "timestamps must be strictly increasing to infer periods per year; "
            f"{index[first]} does not come after {index[first - 1]}"
        )
    minutes = float(np.median(steps_ns)) / 60e9
    has_calendar = bool(calendar)
    if minutes < _MIN_DAILY_SPACING:
        minutes_per_year = (
            _SESSION_DAYS_PER_YEAR * _SESSION_MINUTES
            if has_calendar
            else _CALENDAR_DAYS_PER_YEAR * _MINUTES_PER_DAY
        )
        return minutes_per_year / minutes
    if minutes <= _MAX_DAILY_SPACING:
        return float(_SESSION_DAYS_PER_YEAR if has_calendar else _CALENDAR_DAYS_PER_YEAR)
    if minutes <= _MAX_WEEKLY_SPACING:
        return float(_WEEKS_PER_YEAR)
    if minutes <= _MAX_MONTHLY_SPACING:
        return float(_MONTHS_PER_YEAR)
    return float(max(1, round(_DAYS_PER_YEAR_EXACT * _MINUTES_PER_DAY / minutes)))
