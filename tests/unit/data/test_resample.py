"""Tests for resampling bars to a coarser timeframe.

Expected values are computed here independently of ``alphagate.data.calendar``:
plain UTC arithmetic for markets without a calendar, and the XNYS schedule read
straight from ``exchange_calendars`` for the calendar case.
"""

from __future__ import annotations

from functools import lru_cache

import exchange_calendars
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.data.resample import resample_bars
from alphagate.domain.bars import check_bars_frame
from alphagate.domain.timeframe import Timeframe, TimeUnit
from alphagate.testing import bars_from_rows

TF = Timeframe.parse
SYMBOLS = ("AAA", "BBB", "CCC")
# Bases for calendar-free data: a Monday before a leap-day month end, and a
# Friday before a year end, so weeks and months are cut at awkward places.
PLAIN_BASES = (pd.Timestamp("2024-02-26", tz="UTC"), pd.Timestamp("2023-12-29", tz="UTC"))
# Spans DST changes, the 2018-11-23 and 2018-12-24 early closes, holidays and
# the unscheduled 2018-12-05 closure.
XNYS_START, XNYS_END = "2018-06-01", "2019-05-31"
OHLCV = tuple[float, float, float, float, float]


@lru_cache(maxsize=1)
def xnys_schedule() -> pd.DataFrame:
    """XNYS sessions (UTC open and close) read directly from exchange_calendars."""
    calendar = exchange_calendars.get_calendar("XNYS", start=XNYS_START, end=XNYS_END)
    schedule = calendar.schedule.loc[:, ["open", "close"]]
    return pd.DataFrame(
        {
            "open": pd.DatetimeIndex(schedule["open"]).tz_convert("UTC"),
            "close": pd.DatetimeIndex(schedule["close"]).tz_convert("UTC"),
        },
        index=pd.DatetimeIndex(schedule.index),
    )


def at(ts: str) -> pd.Timestamp:
    return pd.Timestamp(ts, tz="UTC")


# --------------------------------------------------------------------------- strategies


@st.composite
def ohlcv_rows(draw: st.DrawFn, count: int) -> list[OHLCV]:
    """Valid OHLCV values: positive prices, low <= open, close <= high, integral volume.

    Integral volumes keep sums exact whatever order they are added in.
    """
    price = st.floats(min_value=1.0, max_value=1000.0, allow_nan=False, allow_infinity=False)
    fraction = st.floats(min_value=0.0, max_value=0.5)
    rows = []
    for _ in range(count):
        open_, close = draw(price), draw(price)
        high = max(open_, close) * (1.0 + draw(fraction))
        low = min(open_, close) * (1.0 - draw(fraction))
        volume = float(draw(st.integers(min_value=0, max_value=10**6)))
        rows.append((open_, high, low, close, volume))
    return rows


def frame_from(stamps: dict[str, list[pd.Timestamp]], values: list[list[OHLCV]]) -> pd.DataFrame:
    flat_rows = [
        (symbol, ts, *row)
        for (symbol, ts_list), rows in zip(stamps.items(), values, strict=True)
        for ts, row in zip(ts_list, rows, strict=True)
    ]
    return bars_from_rows(flat_rows)


@st.composite
def plain_bars(draw: st.DrawFn, step_minutes: int = 1) -> pd.DataFrame:
    """Bars on a ``step_minutes`` UTC grid, random subsets over up to ~100 days, 1-3 symbols."""
    base = draw(st.sampled_from(PLAIN_BASES))
    span_minutes = draw(st.sampled_from([30, 1440, 3 * 1440, 100 * 1440]))
    slots = max(span_minutes // step_minutes, 1)
    n_symbols = draw(st.integers(min_value=1, max_value=3))
    stamps: dict[str, list[pd.Timestamp]] = {}
    for symbol in SYMBOLS[:n_symbols]:
        offsets = draw(st.sets(st.integers(min_value=1, max_value=slots), min_size=1, max_size=40))
        stamps[symbol] = sorted(base + pd.Timedelta(minutes=k * step_minutes) for k in offsets)
    values = [draw(ohlcv_rows(len(ts_list))) for ts_list in stamps.values()]
    return frame_from(stamps, values)


@st.composite
def xnys_bars(draw: st.DrawFn, step_minutes: int = 1) -> pd.DataFrame:
    """Bars ending inside XNYS sessions: every minute, or hourly clipped to the close."""
    schedule = xnys_schedule()
    span = draw(st.sampled_from([1, 3, 10, 70]))
    first = draw(st.integers(min_value=0, max_value=len(schedule) - span))
    n_symbols = draw(st.integers(min_value=1, max_value=3))
    step = pd.Timedelta(minutes=step_minutes)
    stamps: dict[str, list[pd.Timestamp]] = {}
    for symbol in SYMBOLS[:n_symbols]:
        picks = draw(
            st.lists(
                st.tuples(
                    st.integers(min_value=first, max_value=first + span - 1),
                    st.integers(min_value=1, max_value=390),
                ),
                min_size=1,
                max_size=40,
            )
        )
        chosen = set()
        for session, minute in picks:
            open_, close = schedule["open"].iloc[session], schedule["close"].iloc[session]
            ts = min(open_ + pd.Timedelta(minutes=minute), close)
            chosen.add(min(ts.ceil(step), close))
        stamps[symbol] = sorted(chosen)
    values = [draw(ohlcv_rows(len(ts_list))) for ts_list in stamps.values()]
    return frame_from(stamps, values)


def any_bars(calendar: str | None, step_minutes: int = 1) -> st.SearchStrategy[pd.DataFrame]:
    if calendar is None:
        return plain_bars(step_minutes)
    return xnys_bars(step_minutes)


# --------------------------------------------------------------------------- oracle


def plain_window_start(end: pd.Timestamp, target: Timeframe) -> pd.Timestamp:
    """Previous boundary before ``end`` by plain arithmetic, asserting ``end`` is a boundary."""
    assert end == end.floor("min")
    if target.unit is TimeUnit.MONTH:
        assert end == end.normalize() and end.day == 1
        return end - pd.DateOffset(months=1)
    if target.unit is TimeUnit.WEEK:
        assert end == end.normalize() and end.day_of_week == 0
        return end - pd.Timedelta(days=7)
    unit_minutes = {TimeUnit.MINUTE: 1, TimeUnit.HOUR: 60, TimeUnit.DAY: 1440}[target.unit]
    length = pd.Timedelta(minutes=target.count * unit_minutes)
    epoch = pd.Timestamp("1970-01-01", tz="UTC")
    assert (end - epoch) % length == pd.Timedelta(0)
    return end - length


def xnys_label(ts: pd.Timestamp, target: Timeframe) -> pd.Timestamp:
    """Where an in-session bar end belongs, read off the schedule row by row."""
    schedule = xnys_schedule()
    session = schedule[(schedule["open"] < ts) & (schedule["close"] >= ts)]
    assert len(session) == 1
    dates = pd.DatetimeIndex(schedule.index)
    date, close = pd.Timestamp(session.index[0]), pd.Timestamp(session["close"].iloc[0])
    if target.is_intraday:
        return min(ts.ceil(target.delta), close)
    if target.unit is TimeUnit.DAY:
        return close
    if target.unit is TimeUnit.WEEK:
        monday = date - pd.Timedelta(days=date.day_of_week)
        same = (dates >= monday) & (dates < monday + pd.Timedelta(days=7))
    else:
        same = (dates.year == date.year) & (dates.month == date.month)
    return pd.Timestamp(schedule["close"][same].max())


def assert_aggregates(window: pd.DataFrame, bar: pd.Series) -> None:
    assert len(window) > 0
    assert bar["open"] == window["open"].iloc[0]
    assert bar["high"] == max(window["high"])
    assert bar["low"] == min(window["low"])
    assert bar["close"] == window["close"].iloc[-1]
    assert bar["volume"] == sum(window["volume"])


# --------------------------------------------------------------------------- examples


def test_one_minute_bars_aggregate_into_five_minute_bars_labelled_at_their_right_edge() -> None:
    bars = bars_from_rows(
        [
            ("AAA", "2024-01-02 00:01", 10.0, 11.0, 9.5, 10.5, 100.0),
            ("AAA", "2024-01-02 00:02", 10.5, 12.0, 10.0, 11.0, 50.0),
            ("AAA", "2024-01-02 00:03", 11.0, 11.5, 8.0, 9.0, 25.0),
            ("AAA", "2024-01-02 00:04", 9.0, 9.5, 8.5, 9.25, 0.0),
            ("AAA", "2024-01-02 00:05", 9.25, 10.0, 9.0, 9.75, 10.0),
            ("AAA", "2024-01-02 00:06", 9.75, 13.0, 9.5, 12.5, 7.0),
        ]
    )

    result = resample_bars(bars, TF("5m"), calendar=None, source=TF("1m"))

    expected = bars_from_rows(
        [
            ("AAA", "2024-01-02 00:05", 10.0, 12.0, 8.0, 9.75, 185.0),
            ("AAA", "2024-01-02 00:10", 9.75, 13.0, 9.5, 12.5, 7.0),
        ]
    )
    pd.testing.assert_frame_equal(result.bars, expected)
    check_bars_frame(result.bars)
    assert result.filled.empty


def test_symbols_are_resampled_separately() -> None:
    bars = bars_from_rows(
        [
            ("AAA", "2024-01-02 00:01", 1.0, 2.0, 1.0, 2.0, 1.0),
            ("BBB", "2024-01-02 00:02", 5.0, 6.0, 4.0, 4.5, 3.0),
            ("BBB", "2024-01-02 00:03", 4.5, 7.0, 4.5, 7.0, 4.0),
        ]
    )

    result = resample_bars(bars, TF("5m"), calendar=None)

    expected = bars_from_rows(
        [
            ("AAA", "2024-01-02 00:05", 1.0, 2.0, 1.0, 2.0, 1.0),
            ("BBB", "2024-01-02 00:05", 5.0, 7.0, 4.0, 7.0, 7.0),
        ]
    )
    pd.testing.assert_frame_equal(result.bars, expected)


def test_every_minute_of_an_xnys_session_is_labelled_at_that_sessions_close() -> None:
    bars = bars_from_rows(
        [
            # Early close after Thanksgiving: 13:00 New York is 18:00 UTC.
            ("AAA", "2018-11-23 14:31", 10.0, 10.0, 10.0, 10.0, 1.0),
            ("AAA", "2018-11-23 16:00", 10.0, 11.0, 10.0, 11.0, 1.0),
            ("AAA", "2018-11-23 18:00", 11.0, 11.0, 9.0, 9.0, 1.0),
            # Summer (EDT): the session runs 13:30-20:00 UTC.
            ("BBB", "2018-07-10 13:31", 20.0, 20.0, 20.0, 20.0, 2.0),
            ("BBB", "2018-07-10 20:00", 20.0, 21.0, 19.0, 21.0, 2.0),
            # Winter (EST): the session runs 14:30-21:00 UTC.
            ("BBB", "2018-12-10 14:31", 30.0, 30.0, 30.0, 30.0, 3.0),
            ("BBB", "2018-12-10 21:00", 30.0, 31.0, 29.0, 29.5, 3.0),
        ]
    )

    result = resample_bars(bars, TF("1d"), calendar="XNYS", source=TF("1m"))

    expected = bars_from_rows(
        [
            ("AAA", "2018-11-23 18:00", 10.0, 11.0, 9.0, 9.0, 3.0),
            ("BBB", "2018-07-10 20:00", 20.0, 21.0, 19.0, 21.0, 4.0),
            ("BBB", "2018-12-10 21:00", 30.0, 31.0, 29.0, 29.5, 6.0),
        ]
    )
    pd.testing.assert_frame_equal(result.bars, expected)


def test_filling_an_empty_period_repeats_the_previous_close_with_zero_volume() -> None:
    bars = bars_from_rows(
        [
            ("AAA", "2024-01-02 00:01", 10.0, 11.0, 9.0, 10.5, 5.0),
            ("AAA", "2024-01-02 00:12", 10.0, 12.0, 10.0, 11.0, 6.0),
            ("BBB", "2024-01-02 00:04", 1.0, 1.0, 1.0, 1.0, 1.0),
        ]
    )

    result = resample_bars(bars, TF("5m"), calendar=None, empty="fill")

    expected = bars_from_rows(
        [
            ("AAA", "2024-01-02 00:05", 10.0, 11.0, 9.0, 10.5, 5.0),
            ("AAA", "2024-01-02 00:10", 10.5, 10.5, 10.5, 10.5, 0.0),
            ("AAA", "2024-01-02 00:15", 10.0, 12.0, 10.0, 11.0, 6.0),
            ("BBB", "2024-01-02 00:05", 1.0, 1.0, 1.0, 1.0, 1.0),
        ]
    )
    pd.testing.assert_frame_equal(result.bars, expected)
    pd.testing.assert_frame_equal(result.filled, expected.iloc[[1]])
    check_bars_frame(result.filled)


def test_dropping_empty_periods_emits_no_bar_for_them() -> None:
    bars = bars_from_rows(
        [
            ("AAA", "2024-01-02 00:01", 10.0, 11.0, 9.0, 10.5, 5.0),
            ("AAA", "2024-01-02 00:12", 10.0, 12.0, 10.0, 11.0, 6.0),
        ]
    )

    result = resample_bars(bars, TF("5m"), calendar=None)

    assert list(result.bars.index.get_level_values("ts")) == [
        at("2024-01-02 00:05"),
        at("2024-01-02 00:15"),
    ]
    assert result.filled.empty


def test_weekends_and_holidays_are_not_empty_periods_for_a_calendar_market() -> None:
    bars = bars_from_rows(
        [
            # Thanksgiving week: Thursday 22nd is a holiday, Friday closes early.
            ("AAA", "2018-11-21 21:00", 10.0, 10.0, 10.0, 10.0, 1.0),
            ("AAA", "2018-11-23 18:00", 11.0, 11.0, 11.0, 11.0, 1.0),
            # Then a weekend, and Monday.
            ("AAA", "2018-11-26 21:00", 12.0, 12.0, 12.0, 12.0, 1.0),
        ]
    )

    daily = resample_bars(bars, TF("1d"), calendar="XNYS", source=TF("1d"), empty="fill")

    pd.testing.assert_frame_equal(daily.bars, bars)
    assert daily.filled.empty


def test_only_a_week_without_any_session_data_is_filled_when_resampling_xnys_days() -> None:
    bars = bars_from_rows(
        [
            # Week of 19 Nov: no Thursday (holiday), Friday's early close ends the week.
            ("AAA", "2018-11-19 21:00", 10.0, 11.0, 9.0, 10.0, 1.0),
            ("AAA", "2018-11-23 18:00", 10.0, 12.0, 10.0, 11.0, 2.0),
            # Week of 26 Nov: no data at all.
            # Week of 3 Dec: market closed Wednesday 5th; data only on Monday.
            ("AAA", "2018-12-03 21:00", 11.0, 13.0, 11.0, 12.0, 3.0),
        ]
    )

    result = resample_bars(bars, TF("1w"), calendar="XNYS", source=TF("1d"), empty="fill")

    expected = bars_from_rows(
        [
            ("AAA", "2018-11-23 18:00", 10.0, 12.0, 9.0, 11.0, 3.0),
            ("AAA", "2018-11-30 21:00", 11.0, 11.0, 11.0, 11.0, 0.0),
            ("AAA", "2018-12-07 21:00", 11.0, 13.0, 11.0, 12.0, 3.0),
        ]
    )
    pd.testing.assert_frame_equal(result.bars, expected)
    pd.testing.assert_frame_equal(result.filled, expected.iloc[[1]])


@pytest.mark.parametrize(
    ("source", "target"), [("1d", "1h"), ("1h", "30m"), ("1M", "1w"), ("1w", "1d")]
)
def test_resampling_to_a_finer_timeframe_is_refused(source: str, target: str) -> None:
    bars = bars_from_rows([("AAA", "2024-01-02 00:00", 1.0, 1.0, 1.0, 1.0, 1.0)])

    with pytest.raises(ValueError, match="finer"):
        resample_bars(bars, TF(target), calendar=None, source=TF(source))


@pytest.mark.parametrize(("source", "target"), [("4h", "6h"), ("10m", "15m"), ("1w", "1M")])
def test_resampling_bars_that_straddle_target_boundaries_is_refused(
    source: str, target: str
) -> None:
    bars = bars_from_rows([("AAA", "2024-01-02 00:00", 1.0, 1.0, 1.0, 1.0, 1.0)])

    with pytest.raises(ValueError, match="straddle"):
        resample_bars(bars, TF(target), calendar=None, source=TF(source))


@pytest.mark.parametrize(("source", "target"), [("1h", "1h"), ("1d", "1M"), ("8h", "1w")])
def test_resampling_to_an_equal_or_nesting_coarser_timeframe_is_accepted(
    source: str, target: str
) -> None:
    bars = bars_from_rows([("AAA", "2024-01-02 00:00", 1.0, 1.0, 1.0, 1.0, 1.0)])

    result = resample_bars(bars, TF(target), calendar=None, source=TF(source))

    assert len(result.bars) == 1


def test_an_empty_frame_resamples_to_an_empty_frame() -> None:
    bars = bars_from_rows([])

    result = resample_bars(bars, TF("1d"), calendar="XNYS", empty="fill")

    check_bars_frame(result.bars)
    assert result.bars.empty
    assert result.filled.empty


def test_unsorted_bars_are_refused_because_first_and_last_would_be_wrong() -> None:
    bars = bars_from_rows(
        [
            ("AAA", "2024-01-02 00:01", 1.0, 1.0, 1.0, 1.0, 1.0),
            ("AAA", "2024-01-02 00:02", 2.0, 2.0, 2.0, 2.0, 1.0),
        ]
    ).iloc[::-1]

    with pytest.raises(ValueError, match="sorted"):
        resample_bars(bars, TF("5m"), calendar=None)


# --------------------------------------------------------------------------- properties

TARGETS = ["5m", "15m", "1h", "4h", "1d", "1w", "1M"]


@settings(max_examples=50, deadline=None)
@given(bars=plain_bars(), target=st.sampled_from(TARGETS))
def test_each_bar_aggregates_exactly_the_input_bars_in_its_right_closed_window(
    bars: pd.DataFrame, target: str
) -> None:
    timeframe = TF(target)

    result = resample_bars(bars, timeframe, calendar=None, source=TF("1m"))

    check_bars_frame(result.bars)
    covered = 0
    by_symbol = {symbol: own.droplevel("symbol") for symbol, own in bars.groupby(level="symbol")}
    for (symbol, end), (_, bar) in zip(result.bars.index, result.bars.iterrows(), strict=True):
        start = plain_window_start(end, timeframe)
        own = by_symbol[symbol]
        window = own[(own.index > start) & (own.index <= end)]
        assert_aggregates(window, bar)
        covered += len(window)
    assert covered == len(bars)


@settings(max_examples=50, deadline=None)
@given(bars=xnys_bars(), target=st.sampled_from(TARGETS))
def test_each_xnys_bar_aggregates_the_input_bars_its_session_schedule_assigns_to_it(
    bars: pd.DataFrame, target: str
) -> None:
    timeframe = TF(target)

    result = resample_bars(bars, timeframe, calendar="XNYS", source=TF("1m"))

    check_bars_frame(result.bars)
    labels = [xnys_label(ts, timeframe) for ts in bars.index.get_level_values("ts")]
    expected_keys = sorted(set(zip(bars.index.get_level_values("symbol"), labels, strict=True)))
    assert list(result.bars.index) == expected_keys
    for (symbol, end), (_, bar) in zip(result.bars.index, result.bars.iterrows(), strict=True):
        mask = [
            s == symbol and label == end
            for s, label in zip(bars.index.get_level_values("symbol"), labels, strict=True)
        ]
        assert_aggregates(bars[mask], bar)


NESTING_PATHS = [
    ("1m", "5m", "15m"),
    ("1m", "1h", "1d"),
    ("1h", "1d", "1w"),
    ("1h", "1d", "1M"),
]


@pytest.mark.parametrize("calendar", [None, "XNYS"])
@settings(max_examples=50, deadline=None)
@given(data=st.data(), path=st.sampled_from(NESTING_PATHS))
def test_resampling_twice_equals_resampling_once_to_the_coarser_bar(
    data: st.DataObject, path: tuple[str, str, str], calendar: str | None
) -> None:
    source, middle, target = path
    step = TF(source).minutes
    assert step is not None
    bars = data.draw(any_bars(calendar, step))
    if step > 1:
        # The input really is a `source` series: its bars already sit on `source` ends.
        assert resample_bars(bars, TF(source), calendar=calendar).bars.equals(bars)

    once = resample_bars(bars, TF(target), calendar=calendar, source=TF(source))
    first = resample_bars(bars, TF(middle), calendar=calendar, source=TF(source))
    twice = resample_bars(first.bars, TF(target), calendar=calendar, source=TF(middle))

    pd.testing.assert_frame_equal(twice.bars, once.bars)


@pytest.mark.parametrize("calendar", [None, "XNYS"])
@settings(max_examples=50, deadline=None)
@given(data=st.data(), target=st.sampled_from(TARGETS))
def test_dropping_empty_periods_conserves_volume(
    data: st.DataObject, target: str, calendar: str | None
) -> None:
    bars = data.draw(any_bars(calendar))

    result = resample_bars(bars, TF(target), calendar=calendar)

    assert result.bars["volume"].sum() == bars["volume"].sum()
    for symbol in SYMBOLS:
        mask_in = bars.index.get_level_values("symbol") == symbol
        mask_out = result.bars.index.get_level_values("symbol") == symbol
        assert result.bars["volume"][mask_out].sum() == bars["volume"][mask_in].sum()


@pytest.mark.parametrize("calendar", [None, "XNYS"])
@settings(max_examples=50, deadline=None)
@given(data=st.data(), target=st.sampled_from(["15m", "1h", "1d", "1w"]))
def test_filling_only_adds_flat_zero_volume_bars_at_the_previous_close(
    data: st.DataObject, target: str, calendar: str | None
) -> None:
    bars = data.draw(any_bars(calendar))

    dropped = resample_bars(bars, TF(target), calendar=calendar)
    filled = resample_bars(bars, TF(target), calendar=calendar, empty="fill")

    check_bars_frame(filled.bars)
    observed = filled.bars.drop(filled.filled.index)
    pd.testing.assert_frame_equal(observed, dropped.bars)
    assert (filled.filled["volume"] == 0.0).all()
    previous_close = filled.bars.groupby(level="symbol")["close"].shift(1)
    carried = previous_close.loc[filled.filled.index]
    for column in ("open", "high", "low", "close"):
        assert (filled.filled[column] == carried).all()
    first_observed = dropped.bars.reset_index().groupby("symbol")["ts"].min()
    filled_flat = filled.filled.reset_index()
    assert (filled_flat["ts"] > first_observed.loc[filled_flat["symbol"]].to_numpy()).all()
