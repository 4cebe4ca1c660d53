"""Sources produce canonical flat bars: bundled real data, CSV options, Parquet, synthetic."""

from __future__ import annotations

from pathlib import Path

import exchange_calendars
import numpy as np
import pandas as pd
import pytest

from alphagate.config import CsvConfig, QualityConfig, SyntheticConfig
from alphagate.data.ingest import ingest, validate_source
from alphagate.data.sources.bundled import BundledSource, bundled_file
from alphagate.data.sources.csv import CsvSource
from alphagate.data.sources.parquet import ParquetSource
from alphagate.data.sources.synthetic import SyntheticSource
from alphagate.data.store import BarStore
from alphagate.domain.quality_report import QualityReport
from alphagate.domain.timeframe import Timeframe
from alphagate.errors import DataError

DAILY = Timeframe.parse("1d")
MINUTE = Timeframe.parse("1m")


def read_all(source: CsvSource | ParquetSource | SyntheticSource | BundledSource) -> pd.DataFrame:
    report = QualityReport(source=source.name)
    frames = list(source.chunks(report))
    assert report.error_count == 0, [str(v) for v in report.errors()]
    return pd.concat(frames, ignore_index=True)


def test_bundled_series_are_the_real_index_files_stamped_at_the_nyse_close() -> None:
    raw = pd.read_csv(bundled_file("^GSPC"), parse_dates=["Date"])
    flat = read_all(BundledSource(["^GSPC"]))
    assert len(flat) == len(raw) == 5031
    assert np.array_equal(flat["close"].to_numpy(), raw["Close"].to_numpy(dtype="float64"))
    calendar = exchange_calendars.get_calendar("XNYS", start="1999-01-01")
    expected = calendar.schedule.loc[raw["Date"], "close"]
    assert list(flat["ts"]) == list(pd.DatetimeIndex(expected).tz_convert("UTC"))
    # 2008-11-28, the day after Thanksgiving, closed early at 13:00 New York time.
    early = flat.loc[flat["ts"].dt.date == pd.Timestamp("2008-11-28").date(), "ts"]
    assert early.iloc[0] == pd.Timestamp("2008-11-28 18:00", tz="UTC")


def test_bundled_data_passes_every_quality_rule() -> None:
    report = validate_source(BundledSource(), QualityConfig())
    assert report.error_count == 0
    assert report.rows_in == report.rows_out == 2 * 5031


def test_an_unknown_bundled_symbol_names_the_available_ones() -> None:
    with pytest.raises(DataError, match=r"\^GSPC, \^IXIC"):
        BundledSource(["SPY"])


def test_csv_column_mapping_format_and_timezone_are_applied(tmp_path: Path) -> None:
    path = tmp_path / "vendor.csv"
    path.write_text(
        "Time;O;H;L;C;V\n02/01/2020 09:30;10;11;9;10.5;100\n02/01/2020 09:31;10.5;11;10;10.8;100\n",
        encoding="utf-8",
    )
    options = CsvConfig(
        ts_column="Time",
        open_column="O",
        high_column="H",
        low_column="L",
        close_column="C",
        volume_column="V",
        delimiter=";",
        timestamp_format="%d/%m/%Y %H:%M",
        timezone="America/New_York",
        label="start",
    )
    flat = read_all(CsvSource(path, options, timeframe=MINUTE, calendar="XNYS", symbol="ABC"))
    assert list(flat["symbol"]) == ["ABC", "ABC"]
    # 09:30 New York in January is 14:30 UTC; a bar starting then closes a minute later.
    assert list(flat["ts"]) == [
        pd.Timestamp("2020-01-02 14:31", tz="UTC"),
        pd.Timestamp("2020-01-02 14:32", tz="UTC"),
    ]
    assert list(flat["close"]) == [10.5, 10.8]


def test_a_csv_read_in_many_small_chunks_equals_one_read_in_a_single_chunk(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    size = 20_000
    ts = pd.date_range("2021-03-01", periods=size, freq="1min", tz="UTC")
    close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, size)))
    frame = pd.DataFrame(
        {
            "symbol": np.where(np.arange(size) % 2 == 0, "AAA", "BBB"),
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "open": close,
            "high": close * 1.001,
            "low": close * 0.999,
            "close": close,
            "volume": rng.integers(0, 1000, size),
        }
    )
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    small = CsvSource(path, CsvConfig(block_bytes=64 * 1024), timeframe=MINUTE, calendar=None)
    large = CsvSource(path, CsvConfig(), timeframe=MINUTE, calendar=None)
    report = QualityReport(source="small")
    chunks = list(small.chunks(report))
    assert len(chunks) > 10
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), read_all(large))
    assert pd.concat(chunks)["row"].tolist() == list(range(1, size + 1))


def test_progress_reports_every_byte_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    lines = ["symbol,ts,open,high,low,close,volume"]
    lines += [f"X,2021-03-01T00:{m:02d}:00Z,1,1,1,1,1" for m in range(60)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen: list[tuple[int, int]] = []
    source = CsvSource(
        path,
        CsvConfig(label="end"),
        timeframe=MINUTE,
        calendar=None,
        progress=lambda done, total: seen.append((done, total)),
    )
    read_all(source)
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)


def test_parquet_with_typed_timestamps_reads_like_the_same_csv(tmp_path: Path) -> None:
    ts = pd.date_range("2020-01-02 14:30", periods=5, freq="1min", tz="UTC")
    frame = pd.DataFrame(
        {
            "symbol": "AAA",
            "ts": ts,
            "open": [1.0, 2, 3, 4, 5],
            "high": [2.0, 3, 4, 5, 6],
            "low": [0.5, 1, 2, 3, 4],
            "close": [1.5, 2.5, 3.5, 4.5, 5.5],
            "volume": [10, 20, 30, 40, 50],
        }
    )
    parquet_path = tmp_path / "bars.parquet"
    frame.to_parquet(parquet_path)
    csv_path = tmp_path / "bars.csv"
    frame.assign(ts=ts.strftime("%Y-%m-%dT%H:%M:%S+00:00")).to_csv(csv_path, index=False)
    from_parquet = read_all(
        ParquetSource(parquet_path, CsvConfig(), timeframe=MINUTE, calendar=None)
    )
    from_csv = read_all(CsvSource(csv_path, CsvConfig(), timeframe=MINUTE, calendar=None))
    pd.testing.assert_frame_equal(from_parquet, from_csv)
    assert from_parquet["ts"].iloc[0] == pd.Timestamp("2020-01-02 14:31", tz="UTC")


def test_a_corrupt_parquet_file_is_rejected_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not a parquet footer")
    source = ParquetSource(path, CsvConfig(), timeframe=DAILY, calendar="XNYS")
    with pytest.raises(DataError, match=r"broken\.parquet"):
        read_all(source)


def test_synthetic_bars_are_consistent_seeded_and_correlated() -> None:
    options = SyntheticConfig(
        symbols=("A", "B", "C"), start="2010-01-01", end="2019-12-31", correlation=0.6, seed=5
    )
    source = SyntheticSource(options, timeframe=DAILY, calendar="XNYS")
    flat = read_all(source)
    again = read_all(SyntheticSource(options, timeframe=DAILY, calendar="XNYS"))
    pd.testing.assert_frame_equal(flat, again)
    other = read_all(
        SyntheticSource(options.model_copy(update={"seed": 6}), timeframe=DAILY, calendar="XNYS")
    )
    assert not np.allclose(flat["close"], other["close"])
    assert (flat["low"] <= flat[["open", "close"]].min(axis=1)).all()
    assert (flat["high"] >= flat[["open", "close"]].max(axis=1)).all()
    assert (flat["volume"] >= 0).all()
    closes = flat.pivot(index="ts", columns="symbol", values="close")
    returns = np.log(closes).diff().dropna()
    sessions = exchange_calendars.get_calendar("XNYS").sessions_in_range("2010-01-01", "2019-12-31")
    assert len(closes) == len(sessions)
    correlations = returns.corr().to_numpy()[np.triu_indices(3, 1)]
    assert np.all(np.abs(correlations - 0.6) < 0.05)
    annual_volatility = returns.std().mean() * np.sqrt(252)
    assert abs(annual_volatility - 0.2) < 0.02


def test_synthetic_intraday_bars_for_a_24_7_market_are_evenly_spaced(tmp_path: Path) -> None:
    options = SyntheticConfig(symbols=("BTC",), start="2021-01-01", end="2021-01-02")
    source = SyntheticSource(options, timeframe=Timeframe.parse("1h"), calendar=None)
    store = BarStore(tmp_path / "store")
    ingest(source, store, QualityConfig())
    ts = store.read(["BTC"], "1h").index.get_level_values("ts")
    assert len(ts) == 48
    assert (np.diff(ts.asi8) == 3_600 * 10**9).all()
