"""Bar timeframes from one minute to one month.

A timeframe is parsed once from its short name (``5m``, ``1h``, ``1d``,
``1w``, ``1M``) and carries what the rest of the code needs: whether it is
intraday, its fixed length when it has one, and how to find the end of the
period a timestamp falls in. Only sizes that nest inside the next unit are
accepted (``7m`` is refused) so that resampling twice equals resampling once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd

_PATTERN = re.compile(r"^(?P<count>\d+)(?P<unit>[mhdwM])$")


class TimeUnit(StrEnum):
    """The unit of a timeframe; ``M`` (month) is case-sensitive against ``m`` (minute)."""

    MINUTE = "m"
    HOUR = "h"
    DAY = "d"
    WEEK = "w"
    MONTH = "M"


_ALLOWED_COUNTS: dict[TimeUnit, tuple[int, ...]] = {
    TimeUnit.MINUTE: (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30),
    TimeUnit.HOUR: (1, 2, 3, 4, 6, 8, 12),
    TimeUnit.DAY: (1,),
    TimeUnit.WEEK: (1,),
    TimeUnit.MONTH: (1,),
}

_UNIT_MINUTES = {TimeUnit.MINUTE: 1, TimeUnit.HOUR: 60, TimeUnit.DAY: 1440, TimeUnit.WEEK: 10080}


@dataclass(frozen=True, order=False)
class Timeframe:
    """A bar size such as ``5m`` or ``1d``; build it with :meth:`parse`."""

    count: int
    unit: TimeUnit

    @classmethod
    def parse(cls, name: str) -> Timeframe:
        """Parse a short name, explaining the accepted forms when it is not one.

        Raises
        ------
        ValueError
            When the name is malformed or its size does not nest in the next unit.
        """
        match = _PATTERN.match(name.strip())
        if match is None:
            raise ValueError(
                f"timeframe {name!r} is not of the form <count><unit> with unit m, h, d, w or M "
                "(for example 5m, 1h, 1d, 1w, 1M)"
            )
        unit = TimeUnit(match["unit"])
        count = int(match["count"])
        if count not in _ALLOWED_COUNTS[unit]:
            allowed = ", ".join(f"{c}{unit.value}" for c in _ALLOWED_COUNTS[unit])
            raise ValueError(f"timeframe {name!r} is not a standard size; use one of {allowed}")
        return cls(count, unit)

    @property
    def name(self) -> str:
        """The short name, as accepted by :meth:`parse`."""
        return f"{self.count}{self.unit.value}"

    def __str__(self) -> str:
        return self.name

    @property
    def is_intraday(self) -> bool:
        """True for bars shorter than a day, which sit inside trading sessions."""
        return self.unit in (TimeUnit.MINUTE, TimeUnit.HOUR)

    @property
    def minutes(self) -> int | None:
        """Length in minutes for fixed-length bars; ``None`` for months."""
        if self.unit is TimeUnit.MONTH:
            return None
        return self.count * _UNIT_MINUTES[self.unit]

    @property
    def delta(self) -> pd.Timedelta:
        """Fixed length of a bar; months have none and raise."""
        minutes = self.minutes
        if minutes is None:
            raise ValueError("a month has no fixed length")
        return pd.Timedelta(minutes=minutes)

    def period_end(self, ts: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """Return, for each UTC timestamp, the end of the period that contains it.

        Periods are closed on the right, ``(start, end]``, because a bar's
        timestamp is the moment it closes: a bar stamped exactly on a boundary
        belongs to the period that ends there. Boundaries are anchored at the
        Unix epoch for minutes and hours, at UTC midnight for days, at Monday
        00:00 UTC for weeks and at the first of the month for months, so every
        coarser set of boundaries is a subset of every finer one.
        """
        if self.unit is TimeUnit.MONTH:
            naive = ts.tz_convert("UTC").tz_localize(None)
            month_start = naive.to_period("M").to_timestamp().tz_localize("UTC").as_unit(ts.unit)
            on_boundary = month_start == ts
            next_start = month_start + pd.offsets.MonthBegin(1)
            return pd.DatetimeIndex(next_start.where(~on_boundary, ts))
        if self.unit is TimeUnit.WEEK:
            day_end = ts.ceil("D")
            # Monday is weekday 0; the week ends at the next Monday 00:00 (or on it).
            days_to_monday = (7 - day_end.day_of_week) % 7
            return day_end + pd.to_timedelta(days_to_monday, unit="D")
        return ts.ceil(self.delta)
