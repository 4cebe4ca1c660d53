"""The shortcuts on the file-reading path give what the general code they skip would give.

A million-bar file is read through faster routes where the data allows
(sorted timestamps, one symbol, text symbols, typed timestamps, columns
handed over instead of copied); each is checked here against
the plain pandas expression or general rule it replaces, on inputs that take
the shortcut and inputs that must not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.config import CsvConfig, QualityConfig
from alphagate.data.ingest import _by_symbol, _checked_series, read_source
from alphagate.data.sources.parquet import ParquetSource, _frame, _numbered_symbols, _own_floats
from alphagate.data.sources.tabular import (
    TabularSpec,
    _symbols,
    _TimestampParser,
    _typed_intraday_closes,
)
from alphagate.domain.bars import BAR_COLUMNS, bars_from_flat, bars_of_symbol, symbols_of
from alphagate.domain.quality_report import QualityReport
from alphagate.domain.timeframe import Timeframe

MINUTE = Timeframe.parse("1m")


def stamps(*minutes: float | None) -> pd.Series:
    base = pd.Timestamp("2024-01-02 00:00", tz="UTC")
    return pd.Series(
        [pd.NaT if m is None else base + pd.Timedelta(minutes=m) for m in minutes],
        dtype="datetime64[ns, UTC]",
    )


STAMPS = {
    "sorted, unique": stamps(0, 1, 2, 3, 5),
    "sorted, repeated": stamps(0, 1, 1, 1, 2, 4, 4),
    "unsorted, repeated": stamps(3, 1, 3, 0, 1),
    "missing one": stamps(0, None, 1, 1, None),
    "one": stamps(7),
}


def flat_frame(ts: pd.Series) -> pd.DataFrame:
    values = np.arange(len(ts), dtype=np.float64) + 1.0
    return pd.DataFrame({"row": np.arange(len(ts)), "ts": ts, **dict.fromkeys(BAR_COLUMNS, values)})


@pytest.mark.parametrize("name", [n for n in STAMPS if n != "missing one"])
def test_one_symbols_bars_are_the_general_constructions(name: str) -> None:
    flat = flat_frame(STAMPS[name])
    ours = bars_of_symbol("AAA", flat)
    general = bars_from_flat(flat.assign(symbol="AAA").loc[:, ["symbol", "ts", *BAR_COLUMNS]])
    pd.testing.assert_frame_equal(ours, general, check_exact=True)
    assert ours.index.equals(general.index)
    assert [list(level) for level in ours.index.levels] == [
        list(level) for level in general.index.levels
    ]
    assert [c.dtype for c in ours.index.codes] == [c.dtype for c in general.index.codes]
    ours.loc[ours.index[0], "close"] = -1.0  # its own, writable memory
    assert flat["close"].iloc[0] == 1.0


def test_handed_over_columns_are_kept_where_writable_and_not_shared() -> None:
    ts = STAMPS["sorted, unique"]
    own = {c: np.arange(len(ts), dtype=np.float64) + i for i, c in enumerate(BAR_COLUMNS)}
    own["volume"] = own["open"]  # two columns, one memory
    own["low"].flags.writeable = False
    flat = pd.DataFrame({"row": np.arange(len(ts)), "ts": ts, **own}, copy=False)
    general = bars_from_flat(flat.assign(symbol="AAA").loc[:, ["symbol", "ts", *BAR_COLUMNS]])
    general = general.copy()  # its own memory: flat's is handed over below
    bars = bars_of_symbol("AAA", flat, handed_over=True)
    pd.testing.assert_frame_equal(bars, general, check_exact=True)
    taken = {c: np.shares_memory(np.asarray(bars[c].array), own[c]) for c in BAR_COLUMNS}
    assert taken == {"open": True, "high": True, "low": False, "close": True, "volume": False}
    bars.loc[bars.index[0], "low"] = -1.0  # copied, so writable
    bars.loc[bars.index[0], "open"] = -2.0
    assert bars["volume"].iloc[0] == general["volume"].iloc[0]  # its own copy
    assert not np.shares_memory(np.asarray(bars_of_symbol("AAA", flat)["open"].array), own["open"])


SYMBOL_TEXT = st.sampled_from(["AAA", " AAA", "AAA ", "BBB", "", "  ", None])


def symbol_column(names: list[str | None], form: str) -> pd.Series:
    """The same symbols as CSV text, as a Parquet dictionary column, or as mixed objects."""
    if form == "text":
        return pd.Series(pd.array(names, dtype="str"))
    if form == "categorical":
        # Categories in no particular order, one of them unused, as a file's dictionary may be.
        present = [n for n in dict.fromkeys(names) if n is not None]
        categories = pd.Index([*reversed(present), "UNUSED"], dtype="str")
        return pd.Series(pd.Categorical(names, categories=categories))
    return pd.Series(names, dtype=object)


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(SYMBOL_TEXT, max_size=12),
    form=st.sampled_from(["text", "categorical", "objects"]),
)
def test_symbols_are_stripped_once_per_distinct_value_with_the_same_result(
    names: list[str | None], form: str
) -> None:
    raw = symbol_column(names, form)
    symbols, empty = _symbols(raw)
    text = raw.astype("string").str.strip()
    ours = pd.Series(symbols, dtype=object)
    assert list(ours.isna()) == list(text.isna())
    assert list(ours[ours.notna()]) == list(text[text.notna()])
    assert np.array_equal(empty, (text.isna() | text.eq("")).to_numpy(dtype=bool))
    if form != "objects":  # text is numbered, so grouping by symbol reads codes
        assert isinstance(symbols, pd.Categorical)
        assert symbols.categories.is_unique


@settings(max_examples=200, deadline=None)
@given(names=st.lists(SYMBOL_TEXT, max_size=12))
def test_rows_are_grouped_by_symbol_codes_as_by_symbol_text(names: list[str | None]) -> None:
    symbols, _ = _symbols(symbol_column(names, "categorical"))
    numbered = pd.DataFrame({"symbol": symbols, "row": np.arange(len(names))})
    text = numbered.assign(symbol=pd.Series(symbols, dtype=object).astype("str"))
    ours, general = list(_by_symbol(numbered)), list(_by_symbol(text))
    assert [s for s, _ in ours] == [s for s, _ in general]
    for (_, a), (_, b) in zip(ours, general, strict=True):
        pd.testing.assert_frame_equal(a.drop(columns="symbol"), b.drop(columns="symbol"))
    if len(ours) == 1 and len(ours[0][1]) == len(names):
        assert ours[0][1] is numbered  # one symbol: the chunk goes on whole


def bar_file(path: Path, symbols: list[str], *, row_group_size: int | None = None) -> pd.DataFrame:
    size = len(symbols)
    close = np.linspace(100.0, 101.0, size)
    frame = pd.DataFrame(
        {
            "symbol": symbols,
            "ts": pd.date_range("2024-01-02 00:01", periods=size, freq="min", tz="UTC"),
            "open": close,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.arange(size, dtype=np.float64),
        }
    )
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group_size
    )
    return frame


def read_chunks(path: Path) -> tuple[list[pd.DataFrame], QualityReport]:
    report = QualityReport(source="x")
    source = ParquetSource(path, CsvConfig(label="end"), timeframe=MINUTE, calendar=None)
    return list(source.chunks(report)), report


def test_symbols_read_dictionary_encoded_give_the_chunks_a_plain_read_gives(tmp_path: Path) -> None:
    symbols = ["AAA", " AAA", "BBB ", "", "BBB"] * 40
    one_group, many_groups = tmp_path / "one.parquet", tmp_path / "many.parquet"
    bar_file(one_group, symbols)
    bar_file(many_groups, symbols, row_group_size=30)  # batches would split at every group
    parquet = pq.ParquetFile(one_group)
    assert _numbered_symbols(parquet, "symbol", ["ts", "symbol"]) == ["symbol"]
    assert _numbered_symbols(parquet, "symbol", ["ts"]) == []  # a fixed --symbol
    assert _numbered_symbols(pq.ParquetFile(many_groups), "symbol", ["ts", "symbol"]) == []
    (numbered,), numbered_report = read_chunks(one_group)
    (plain,), plain_report = read_chunks(many_groups)
    assert isinstance(numbered["symbol"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(
        numbered.astype({"symbol": object}), plain.astype({"symbol": object}), check_exact=True
    )
    assert [str(v).replace("one.", "many.") for v in numbered_report.violations] == [
        str(v) for v in plain_report.violations
    ]
    assert numbered_report.error_count == 40  # the empty symbols, by row


def test_a_dictionary_pandas_cannot_take_as_categories_is_read_as_text() -> None:
    repeated = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, 2, None], type=pa.int32()), pa.array(["AAA", "AAA", "BBB"])
    )
    with_null = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, 0], type=pa.int32()), pa.array(["AAA", None])
    )
    for column in (repeated, with_null):
        batch = pa.record_batch([column, pa.array(np.arange(len(column), dtype=float))], ["s", "x"])
        frame = _frame(batch, ["s"])
        expected = column.dictionary_decode().to_pandas()
        pd.testing.assert_series_equal(frame["s"], expected, check_names=False)


def test_float_columns_are_the_batchs_own_memory_viewed_writable() -> None:
    values = np.linspace(1.0, 2.0, 50)
    batch = pa.record_batch(
        [pa.array(values), pa.array([1.0, None] * 25), pa.array(values.astype(np.float32))],
        ["a", "nulls", "single"],
    )
    frame = _frame(batch, [])
    general = batch.to_pandas(split_blocks=True)
    pd.testing.assert_frame_equal(frame, general, check_exact=True)
    memory = np.asarray(frame["a"].array)
    assert memory.flags.writeable
    assert memory.ctypes.data == batch.column(0).buffers()[1].address
    assert _own_floats(batch.column(1)) is None  # nulls: Arrow's NaN-filled copy is used
    assert _own_floats(batch.column(2)) is None
    assert _own_floats(batch.column(0).slice(10)) is not None
    assert np.array_equal(_own_floats(batch.column(0).slice(10)), values[10:])  # type: ignore[arg-type]


ZONES = st.sampled_from(["UTC", "America/New_York"])


@settings(max_examples=100, deadline=None)
@given(
    minutes=st.lists(st.integers(-5, 10_000), max_size=8),
    zone=ZONES,
    unit=st.sampled_from(["ns", "us", "s"]),
    label=st.sampled_from(["start", "end"]),
    timeframe=st.sampled_from(["1m", "5m", "1h", "1d"]),
)
def test_typed_intraday_timestamps_become_the_closes_the_general_parser_gives(
    minutes: list[int], zone: str, unit: str, label: str, timeframe: str
) -> None:
    base = pd.Timestamp("2024-03-10 05:00", tz="UTC")
    stamps = pd.DatetimeIndex([base + pd.Timedelta(minutes=m) for m in minutes], tz="UTC")
    column = pd.Series(stamps.tz_convert(zone).as_unit(unit), name="when")
    spec = TabularSpec(
        source="x",
        columns={"ts": "when"},
        timeframe=Timeframe.parse(timeframe),
        calendar=None,
        label=label,  # type: ignore[arg-type]
    )
    ours = _typed_intraday_closes(column, spec)
    if not spec.timeframe.is_intraday:
        assert ours is None
        return
    assert ours is not None
    report = QualityReport(source="x")
    parser = _TimestampParser(column, np.arange(1, len(column) + 1), spec, report)
    parser.from_datetimes()
    pd.testing.assert_index_equal(ours, parser.bar_closes(), exact=True)
    assert not parser.bad.any() and not report.violations


def test_a_missing_typed_timestamp_takes_the_general_parser() -> None:
    column = pd.Series(pd.DatetimeIndex(["2024-01-02 00:01", None], tz="UTC"))
    spec = TabularSpec(source="x", columns={"ts": "ts"}, timeframe=MINUTE, calendar=None)
    assert _typed_intraday_closes(column, spec) is None
    naive = pd.Series(pd.DatetimeIndex(["2024-01-02 00:01"]))
    assert _typed_intraday_closes(naive, spec) is None  # needs the configured zone


def test_reading_in_memory_hands_the_read_columns_over_writable(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    frame = bar_file(path, ["AAA"] * 50)
    bars = read_source(
        ParquetSource(path, CsvConfig(label="end"), timeframe=MINUTE, calendar=None),
        QualityConfig(),
    )
    pd.testing.assert_frame_equal(bars, bars_from_flat(frame), check_exact=True)
    bars.loc[bars.index[0], "close"] = -1.0
    assert bars["open"].iloc[0] == frame["open"].iloc[0]
    assert bars["close"].iloc[1] == frame["close"].iloc[1]


def test_reading_in_memory_checks_and_builds_what_staging_on_disk_does(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    size = 3_000
    ts = pd.date_range("2024-01-02 00:01", periods=size, freq="min", tz="UTC")
    close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, size)))
    frame = pd.DataFrame(
        {
            "symbol": np.where(np.arange(size) % 3 == 0, "AAA", "BBB"),
            "ts": ts,
            "open": close,
            "high": close * 1.001,
            "low": close * 0.999,
            "close": close,
            "volume": rng.integers(0, 1000, size).astype(np.float64),
        }
    ).drop(index=[10, 11, 400])  # gaps, reported the same either way
    path = tmp_path / "bars.parquet"
    frame.to_parquet(path, index=False)
    policy = QualityConfig(gaps="warn")

    def source() -> ParquetSource:
        return ParquetSource(path, CsvConfig(label="end"), timeframe=MINUTE, calendar=None)

    reports = [QualityReport(source="x"), QualityReport(source="x")]
    on_disk = list(_checked_series(source(), policy, reports[0], spill=True))
    in_memory = list(_checked_series(source(), policy, reports[1], spill=False))
    assert [s for s, _ in on_disk] == [s for s, _ in in_memory] == ["AAA", "BBB"]
    for (_, a), (_, b) in zip(on_disk, in_memory, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert [str(v) for v in reports[0].violations] == [str(v) for v in reports[1].violations]
    bars = read_source(source(), policy)
    expected = bars_from_flat(frame)
    pd.testing.assert_frame_equal(bars, expected, check_exact=True)


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(st.sampled_from(["b", "a", "c", None]), max_size=12),
    keep=st.lists(st.booleans(), min_size=12, max_size=12),
    sort=st.booleans(),
)
def test_symbols_of_lists_what_the_symbol_level_holds_in_order(
    names: list[str | None], keep: list[bool], sort: bool
) -> None:
    """Codes read directly give the level's values in order of appearance, also after a cut
    (which leaves unused values in the level) and with a missing symbol."""
    index = pd.MultiIndex.from_arrays(
        [pd.Index(names, dtype="object"), pd.date_range("2024", periods=len(names), tz="UTC")],
        names=["symbol", "ts"],
    )
    frame = pd.DataFrame({"close": np.arange(len(names), dtype=float)}, index=index)
    if sort:
        frame = frame.sort_index()
    frame = frame[np.array(keep[: len(frame)], dtype=bool)]
    expected = [str(s) for s in frame.index.get_level_values("symbol").unique()]
    assert symbols_of(frame) == expected
