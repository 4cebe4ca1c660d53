"""The shortcuts on the file-reading path give what the general code they skip would give.

A million-bar file is read through faster routes where the data allows
(sorted timestamps, one symbol, text symbols); each is checked here against
the plain pandas expression it replaces, on inputs that take the shortcut and
inputs that must not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.config import CsvConfig, QualityConfig
from alphagate.data.ingest import _checked_series, read_source
from alphagate.data.quality import _missing, _repeated_stamps
from alphagate.data.sources.parquet import ParquetSource
from alphagate.data.sources.tabular import _symbols
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


@pytest.mark.parametrize("name", list(STAMPS))
def test_repeated_stamps_are_those_pandas_calls_duplicated(name: str) -> None:
    ts = STAMPS[name]
    expected = ts.duplicated(keep="last").to_numpy()
    assert np.array_equal(_repeated_stamps(ts), expected)


@pytest.mark.parametrize("name", [n for n in STAMPS if n != "one"])
def test_missing_bar_ends_are_those_not_in_the_series(name: str) -> None:
    ts = pd.DatetimeIndex(STAMPS[name]).as_unit("ns")
    expected = pd.date_range("2024-01-02 00:00", periods=8, freq="min", tz="UTC").as_unit("ns")
    assert np.array_equal(_missing(expected, ts), ~expected.isin(ts))
    assert not _missing(ts.dropna().unique(), ts.dropna().unique()).any()


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
    ours.loc[ours.index[0], "close"] = -1.0  # its own, writable memory
    assert flat["close"].iloc[0] == 1.0


def test_symbols_are_stripped_once_per_distinct_value_with_the_same_result() -> None:
    raw = pd.Series(pd.array([" AAA", "AAA ", None, "", "  ", "BBB", "AAA"] * 3, dtype="str"))
    symbols, empty = _symbols(raw)
    text = raw.astype("string").str.strip()
    expected = pd.DataFrame({"symbol": text.astype(object).to_numpy()})["symbol"]
    pd.testing.assert_series_equal(pd.DataFrame({"symbol": symbols})["symbol"], expected)
    assert np.array_equal(empty, (text.isna() | text.eq("")).to_numpy(dtype=bool))


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
