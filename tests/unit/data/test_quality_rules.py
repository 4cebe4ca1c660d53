"""Every data-quality rule, one malformed input each, through the real ingest path.

Each rejection must name the file, the row and the rule, and leave the store
byte-for-byte as it was.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from alphagate.config import CsvConfig, QualityConfig, SyntheticConfig
from alphagate.data.ingest import ingest, validate_source
from alphagate.data.sources.csv import CsvSource
from alphagate.data.sources.synthetic import SyntheticSource
from alphagate.data.store import BarStore
from alphagate.domain.quality_report import Action, DataValidationError, Rule
from alphagate.domain.timeframe import Timeframe

HEADER = "symbol,ts,open,high,low,close,volume\n"
GOOD_ROWS = [
    "AAA,2020-01-02,10,11,9,10.5,100",
    "AAA,2020-01-03,10.5,11,10,10.8,100",
    "AAA,2020-01-06,10.8,11.2,10.1,11,120",
    "AAA,2020-01-07,11,11.5,10.9,11.2,90",
]
DAILY = Timeframe.parse("1d")


def write_csv(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def csv_with(rows: list[str]) -> str:
    return HEADER + "\n".join(rows) + "\n"


def store_digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != ".lock"
    }


@pytest.fixture
def store(tmp_path: Path) -> BarStore:
    """A store that already holds bars, so 'unchanged' means something."""
    store = BarStore(tmp_path / "store")
    options = SyntheticConfig(symbols=("AAA", "BBB"), start="2019-06-03", end="2019-12-31")
    source = SyntheticSource(options, timeframe=DAILY, calendar="XNYS")
    ingest(source, store, QualityConfig())
    return store


def rejected(
    tmp_path: Path,
    store: BarStore,
    text: str,
    *,
    options: CsvConfig | None = None,
    timeframe: Timeframe = DAILY,
    calendar: str | None = "XNYS",
    symbol: str | None = None,
    policy: QualityConfig | None = None,
) -> DataValidationError:
    """Ingest ``text`` as a CSV, expect a rejection, and check the store did not move."""
    path = write_csv(tmp_path, "input.csv", text)
    before = store_digest(store.root)
    source = CsvSource(
        path, options or CsvConfig(), timeframe=timeframe, calendar=calendar, symbol=symbol
    )
    with pytest.raises(DataValidationError) as caught:
        ingest(source, store, policy or QualityConfig())
    assert store_digest(store.root) == before
    assert str(path) in str(caught.value)
    return caught.value


def only_error(error: DataValidationError, rule: Rule) -> str:
    errors = error.report.errors()
    assert {v.rule for v in errors} == {rule}, [str(v) for v in errors]
    return str(errors[0])


def test_a_missing_column_is_rejected_with_a_suggestion(tmp_path: Path, store: BarStore) -> None:
    text = "symbol,ts,open,hgh,low,close,volume\nAAA,2020-01-02,10,11,9,10.5,100\n"
    message = only_error(rejected(tmp_path, store, text), Rule.REQUIRED_COLUMNS)
    assert "high" in message
    assert "did you mean 'hgh'" in message


def test_text_in_a_price_column_names_the_row_and_the_rule(tmp_path: Path, store: BarStore) -> None:
    rows = [*GOOD_ROWS]
    rows[2] = "AAA,2020-01-06,10.8,eleven,10.1,11,120"
    message = only_error(rejected(tmp_path, store, csv_with(rows)), Rule.NUMERIC)
    assert "row 3" in message
    assert "'eleven' is not a number" in message
    assert "column 'high'" in message
    assert "2020-01-06T21:00:00+00:00" in message  # the session close of that row


def test_nan_is_rejected_as_non_finite(tmp_path: Path, store: BarStore) -> None:
    rows = [*GOOD_ROWS]
    rows[1] = "AAA,2020-01-03,10.5,11,10,NaN,100"
    message = only_error(rejected(tmp_path, store, csv_with(rows)), Rule.NON_FINITE)
    assert "row 2" in message
    assert "column 'close'" in message


@pytest.mark.parametrize("price", ["0", "-3.5"])
def test_zero_and_negative_prices_are_rejected(tmp_path: Path, store: BarStore, price: str) -> None:
    rows = [*GOOD_ROWS]
    rows[3] = f"AAA,2020-01-07,11,11.5,{price},11.2,90"
    error = rejected(tmp_path, store, csv_with(rows))
    positive = [v for v in error.report.errors() if v.rule is Rule.PRICE_POSITIVE]
    assert len(positive) == 1
    assert positive[0].row == 4
    assert positive[0].column == "low"


def test_negative_volume_is_rejected(tmp_path: Path, store: BarStore) -> None:
    rows = [*GOOD_ROWS]
    rows[0] = "AAA,2020-01-02,10,11,9,10.5,-1"
    message = only_error(rejected(tmp_path, store, csv_with(rows)), Rule.VOLUME_NON_NEGATIVE)
    assert "row 1" in message


def test_high_below_low_is_rejected(tmp_path: Path, store: BarStore) -> None:
    rows = [*GOOD_ROWS]
    rows[1] = "AAA,2020-01-03,10.5,9.5,10,10.2,100"
    message = only_error(rejected(tmp_path, store, csv_with(rows)), Rule.OHLC_CONSISTENT)
    assert "row 2" in message
    assert "high" in message


def test_duplicate_timestamps_are_rejected(tmp_path: Path, store: BarStore) -> None:
    rows = [*GOOD_ROWS[:3], GOOD_ROWS[2], GOOD_ROWS[3]]
    message = only_error(rejected(tmp_path, store, csv_with(rows)), Rule.DUPLICATES)
    assert "row 3" in message
    assert "row 4" in message


def test_out_of_order_timestamps_are_rejected(tmp_path: Path, store: BarStore) -> None:
    rows = [GOOD_ROWS[0], GOOD_ROWS[2], GOOD_ROWS[1], GOOD_ROWS[3]]
    message = only_error(rejected(tmp_path, store, csv_with(rows)), Rule.ORDER)
    assert "row 3" in message


def test_naive_timestamps_without_a_timezone_are_rejected(tmp_path: Path, store: BarStore) -> None:
    text = "ts,open,high,low,close,volume\n2020-01-02 14:31:00,1,1,1,1,1\n"
    error = rejected(
        tmp_path, store, text, timeframe=Timeframe.parse("1m"), calendar=None, symbol="AAA"
    )
    message = only_error(error, Rule.TIMEZONE)
    assert "row 1" in message
    assert "data.csv.timezone" in message


def test_mixed_timestamp_styles_are_rejected(tmp_path: Path, store: BarStore) -> None:
    text = (
        "ts,open,high,low,close,volume\n"
        "2020-01-02T14:31:00+00:00,1,1,1,1,1\n"
        "2020-01-02T14:32:00,1,1,1,1,1\n"
    )
    options = CsvConfig(timezone="UTC")
    error = rejected(
        tmp_path,
        store,
        text,
        options=options,
        timeframe=Timeframe.parse("1m"),
        calendar=None,
        symbol="AAA",
    )
    message = only_error(error, Rule.TIMEZONE)
    assert "row 2" in message
    assert "row 1 had a UTC offset" in message


def test_an_empty_file_is_rejected(tmp_path: Path, store: BarStore) -> None:
    message = only_error(rejected(tmp_path, store, ""), Rule.EMPTY)
    assert "empty" in message


def test_a_header_without_rows_is_rejected(tmp_path: Path, store: BarStore) -> None:
    message = only_error(rejected(tmp_path, store, HEADER), Rule.EMPTY)
    assert "no data rows" in message


def test_a_weekend_bar_is_off_the_exchange_calendar(tmp_path: Path, store: BarStore) -> None:
    rows = [*GOOD_ROWS[:2], "AAA,2020-01-04,10.8,11,10.5,10.9,5", *GOOD_ROWS[2:]]
    message = only_error(rejected(tmp_path, store, csv_with(rows)), Rule.OFF_CALENDAR)
    assert "2020-01-04" in message
    assert "row 3" in message


def test_a_missing_session_is_a_gap_but_a_holiday_is_not(tmp_path: Path, store: BarStore) -> None:
    # 2020-01-20 is Martin Luther King Jr. Day: no session, so no gap around it.
    holiday = csv_with(
        ["AAA,2020-01-16,1,1,1,1,1", "AAA,2020-01-17,1,1,1,1,1", "AAA,2020-01-21,1,1,1,1,1"]
    )
    path = write_csv(tmp_path, "holiday.csv", holiday)
    source = CsvSource(path, CsvConfig(), timeframe=DAILY, calendar="XNYS")
    assert validate_source(source, QualityConfig()).is_clean
    rows = [GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[3]]  # 2020-01-06 is missing
    message = only_error(rejected(tmp_path, store, csv_with(rows)), Rule.GAPS)
    assert "missing bar at 2020-01-06T21:00:00+00:00" in message


def test_every_violation_is_reported_in_one_pass(tmp_path: Path, store: BarStore) -> None:
    rows = [
        "AAA,2020-01-02,10,11,9,10.5,100",
        "AAA,2020-01-03,abc,11,10,10.8,100",
        "AAA,2020-01-06,10.8,9,10.1,11,120",
        "AAA,2020-01-07,-1,11.2,0.5,11,120",
    ]
    error = rejected(tmp_path, store, csv_with(rows))
    rules = {v.rule for v in error.report.errors()}
    assert rules == {Rule.NUMERIC, Rule.OHLC_CONSISTENT, Rule.PRICE_POSITIVE}
    # A malformed row is still a row: it does not open a spurious gap.
    assert Rule.GAPS not in rules


def test_repair_policies_fix_and_report_every_row_they_touch(tmp_path: Path) -> None:
    rows = [
        "AAA,2020-01-03,10.5,11,10,10.8,100",
        "AAA,2020-01-02,10,11,9,10.5,100",  # out of order
        "AAA,2020-01-06,10.8,11.2,10.1,11,120",
        "AAA,2020-01-06,10.8,11.2,10.1,11.1,130",  # duplicate: the last one is kept
        "AAA,2020-01-09,11,11.5,10.9,11.2,90",  # 2020-01-07 and 08 missing: filled
    ]
    path = write_csv(tmp_path, "repair.csv", csv_with(rows))
    policy = QualityConfig(order="repair", duplicates="repair", gaps="repair", max_fill_bars=2)
    store = BarStore(tmp_path / "store")
    result = ingest(CsvSource(path, CsvConfig(), timeframe=DAILY, calendar="XNYS"), store, policy)
    counts = result.report.counts
    assert counts[(Rule.ORDER, Action.SORTED)] == 1
    assert counts[(Rule.DUPLICATES, Action.DROPPED)] == 1
    assert counts[(Rule.GAPS, Action.FILLED)] == 1
    bars = store.read(["AAA"], "1d").droplevel("symbol")
    assert bars.index.is_monotonic_increasing
    assert len(bars) == 6
    assert bars.loc["2020-01-06 21:00:00+00:00", "close"] == 11.1
    filled = bars.loc["2020-01-07 21:00:00+00:00"]
    assert (filled[["open", "high", "low", "close"]] == 11.1).all()
    assert filled["volume"] == 0


def test_a_gap_longer_than_the_fill_limit_stays_an_error(tmp_path: Path, store: BarStore) -> None:
    rows = [GOOD_ROWS[0], "AAA,2020-01-10,1,1,1,1,1"]
    policy = QualityConfig(gaps="repair", max_fill_bars=2)
    message = only_error(rejected(tmp_path, store, csv_with(rows), policy=policy), Rule.GAPS)
    assert "5 missing bars" in message
    assert "longer than max_fill_bars" in message


def test_a_thousand_percent_spike_is_flagged_as_an_outlier(tmp_path: Path) -> None:
    options = SyntheticConfig(symbols=("AAA",), start="2019-01-02", end="2019-12-31")
    source = SyntheticSource(options, timeframe=DAILY, calendar="XNYS")
    frame = next(
        iter(source.chunks(__import__("alphagate").domain.quality_report.QualityReport("s")))
    )
    frame.loc[100, ["open", "high", "close"]] = frame.loc[100, "close"] * 11
    frame = frame.rename(columns={"ts": "ts_close"})
    frame["ts"] = frame["ts_close"].dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%d")
    path = tmp_path / "spike.csv"
    frame[["symbol", "ts", "open", "high", "low", "close", "volume"]].to_csv(path, index=False)
    report = validate_source(
        CsvSource(path, CsvConfig(), timeframe=DAILY, calendar="XNYS"), QualityConfig()
    )
    flagged = [v for v in report.violations if v.rule is Rule.OUTLIERS]
    assert [v.row for v in flagged] == [101, 102]  # the jump up and the fall back
    assert all(v.action is Action.WARNED for v in flagged)
    assert report.error_count == 0


def test_new_york_wall_clock_times_map_to_utc_across_daylight_saving(tmp_path: Path) -> None:
    text = (
        "ts,open,high,low,close,volume\n"
        "2020-03-06 09:30:00,1,1,1,1,1\n"  # winter: EST, UTC-5
        "2020-03-09 09:30:00,1,1,1,1,1\n"  # after the second Sunday of March: EDT, UTC-4
    )
    path = write_csv(tmp_path, "dst.csv", text)
    options = CsvConfig(timezone="America/New_York", label="start")
    store = BarStore(tmp_path / "store")
    policy = QualityConfig(gaps="warn")
    source = CsvSource(
        path, options, timeframe=Timeframe.parse("1m"), calendar="XNYS", symbol="AAA"
    )
    ingest(source, store, policy)
    closes = store.read(["AAA"], "1m").index.get_level_values("ts")
    assert list(closes) == [
        pd.Timestamp("2020-03-06 14:31", tz="UTC"),
        pd.Timestamp("2020-03-09 13:31", tz="UTC"),
    ]


def test_an_ambiguous_wall_clock_time_is_rejected(tmp_path: Path, store: BarStore) -> None:
    # 01:30 happens twice in New York on 2020-11-01.
    text = "ts,open,high,low,close,volume\n2020-11-01 01:30:00,1,1,1,1,1\n"
    error = rejected(
        tmp_path,
        store,
        text,
        options=CsvConfig(timezone="America/New_York"),
        timeframe=Timeframe.parse("1m"),
        calendar=None,
        symbol="AAA",
    )
    assert "daylight-saving" in only_error(error, Rule.TIMEZONE)


def test_epoch_numbers_need_an_explicit_unit(tmp_path: Path, store: BarStore) -> None:
    text = "ts,open,high,low,close,volume\n1577975460000,1,1,1,1,1\n"
    kwargs = {"timeframe": Timeframe.parse("1m"), "calendar": None, "symbol": "AAA"}
    message = only_error(rejected(tmp_path, store, text, **kwargs), Rule.TIMESTAMP)  # type: ignore[arg-type]
    assert "timestamp_unit" in message
    path = write_csv(tmp_path, "epoch.csv", text)
    source = CsvSource(path, CsvConfig(timestamp_unit="ms", label="end"), **kwargs)  # type: ignore[arg-type]
    ingest(source, store, QualityConfig())
    assert store.read(["AAA"], "1m").index.get_level_values("ts")[0] == pd.Timestamp(
        "2020-01-02 14:31", tz="UTC"
    )
