"""Reading off a file what its user did not say: bar size, calendar, symbol, columns.

The oracles are independent of the code under test: the FX week from
``zoneinfo`` (17:00 New York), NYSE sessions from ``exchange_calendars``
directly, spacings written by hand.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import exchange_calendars
import pandas as pd
import pytest

from alphagate.config import CsvConfig
from alphagate.data.calendar import expected_bar_ends, sessions
from alphagate.data.inference import (
    guess_calendar,
    match_columns,
    spacing_timeframe,
    symbol_of_path,
)
from alphagate.domain.timeframe import Timeframe
from alphagate.errors import DataError

NEW_YORK = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")


def _utc(local: datetime) -> pd.Timestamp:
    return pd.Timestamp(local.replace(tzinfo=NEW_YORK).astimezone(UTC))


@pytest.mark.parametrize(
    ("monday", "open_hour_utc"),
    [("2023-03-06", 22), ("2023-03-13", 21), ("2023-11-06", 22)],  # winter, summer, winter
)
def test_the_fx_week_opens_and_closes_at_5pm_new_york_whatever_the_season(
    monday: str, open_hour_utc: int
) -> None:
    table = sessions("fx")
    day = pd.Timestamp(monday)
    position = table.dates.get_loc(day)
    sunday = datetime.fromisoformat(monday) - timedelta(days=1)
    assert table.opens[position] == _utc(sunday.replace(hour=17))
    assert table.opens[position].hour == open_hour_utc
    friday = position + 4
    assert table.dates[friday].day_name() == "Friday"
    friday_close = datetime.fromisoformat(monday).replace(hour=17) + timedelta(days=4)
    assert table.closes[friday] == _utc(friday_close)
    assert table.dates[friday + 1] == day + pd.Timedelta(days=7)  # no weekend sessions


def test_a_full_fx_week_of_hourly_bars_has_no_gap_and_the_weekend_is_none() -> None:
    first = _utc(datetime(2023, 3, 5, 18))  # the first hourly bar closes at 18:00 on Sunday
    last = _utc(datetime(2023, 3, 17, 17))  # the last one of the next week at Friday 17:00
    ends = expected_bar_ends(Timeframe.parse("1h"), "fx", first, last)
    assert len(ends) == 2 * 5 * 24
    assert not any(end.day_name() == "Saturday" for end in ends)


@pytest.mark.parametrize(
    ("spacing", "name"),
    [("1min", "1m"), ("5min", "5m"), ("1h", "1h"), ("4h", "4h"), ("1D", "1d"), ("7D", "1w")],
)
def test_the_bar_size_is_the_most_common_spacing(spacing: str, name: str) -> None:
    stamps = pd.date_range("2024-01-01", periods=50, freq=spacing, tz="UTC")
    holes = stamps.delete([10, 11, 30])  # missing bars do not change the most common spacing
    assert spacing_timeframe(holes) == Timeframe.parse(name)


def test_daily_weekday_bars_are_one_day_bars_despite_their_weekends() -> None:
    weekdays = pd.bdate_range("2024-01-01", periods=60).tz_localize("UTC")
    assert spacing_timeframe(weekdays) == Timeframe.parse("1d")


def test_a_spacing_that_is_no_bar_size_is_refused_with_the_option_to_pass() -> None:
    stamps = pd.date_range("2024-01-01", periods=20, freq="7min", tz="UTC")
    with pytest.raises(DataError, match="--timeframe"):
        spacing_timeframe(stamps)


def test_bars_on_weekends_and_nights_mean_a_market_that_never_closes() -> None:
    minutes = pd.date_range("2024-03-04", periods=8 * 1440, freq="1min", tz="UTC")
    assert guess_calendar(minutes, Timeframe.parse("1m"), "start").calendar is None


def test_round_the_clock_weekday_bars_closed_friday_to_sunday_evening_are_fx() -> None:
    starts = [
        pd.date_range(_utc(datetime(2023, 3, d, 17)), periods=24, freq="1h")
        for d in (5, 6, 7, 8, 9, 12, 13, 14, 15, 16)  # Sunday to Thursday starts, across DST
    ]
    stamps = starts[0].append(starts[1:])
    assert guess_calendar(stamps, Timeframe.parse("1h"), "start").calendar == "fx"


def test_intraday_bars_inside_new_york_hours_are_nyse() -> None:
    xnys = exchange_calendars.get_calendar("XNYS")
    days = xnys.sessions_in_range("2024-03-04", "2024-03-29")
    starts = [
        pd.date_range(
            xnys.session_open(day), xnys.session_close(day), freq="5min", inclusive="left"
        )
        for day in days
    ]
    stamps = starts[0].append(starts[1:]).tz_convert("UTC")
    assert guess_calendar(stamps, Timeframe.parse("5m"), "start").calendar == "XNYS"


def test_us_daily_dates_are_nyse_sessions_and_weekdays_through_holidays_are_fx() -> None:
    xnys = exchange_calendars.get_calendar("XNYS")
    us = pd.DatetimeIndex(xnys.sessions_in_range("2022-01-03", "2023-12-29")).tz_localize("UTC")
    assert guess_calendar(us, Timeframe.parse("1d"), "start").calendar == "XNYS"
    every_weekday = pd.bdate_range("2022-01-03", "2023-12-29").tz_localize("UTC")
    assert guess_calendar(every_weekday, Timeframe.parse("1d"), "start").calendar == "fx"


def test_daily_bars_on_saturdays_are_24_7() -> None:
    days = pd.date_range("2024-01-01", periods=90, freq="1D", tz="UTC")
    assert guess_calendar(days, Timeframe.parse("1d"), "start").calendar is None


def test_columns_match_without_case_and_by_alias_but_adj_close_is_never_the_close() -> None:
    header = ["Date", "Open", "High", "Low", "Adj Close", "Close", "Volume"]
    assert match_columns(header, CsvConfig()) == {
        "ts": "Date",
        "open": "Open",
        "high": "High",
        "low": "Low",
        "close": "Close",
        "volume": "Volume",
    }
    assert "close" not in match_columns(["Date", "Open", "Adj Close"], CsvConfig())


def test_a_configured_column_name_is_used_as_written_and_never_replaced_by_an_alias() -> None:
    header = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]
    chosen = match_columns(header, CsvConfig(close_column="Adj Close"))
    assert chosen["close"] == "Adj Close"
    assert "ts" not in match_columns(header, CsvConfig(ts_column="when"))


@pytest.mark.parametrize(
    ("path", "symbol"),
    [("data/EURUSD.csv", "EURUSD"), ("BTC-USD.csv.gz", "BTC-USD"), ("^GSPC.parquet", "^GSPC")],
)
def test_the_symbol_of_a_file_is_its_name_without_data_suffixes(path: str, symbol: str) -> None:
    assert symbol_of_path(Path(path)) == symbol
