"""Historical candles through ccxt from the local Binance server: paging, gaps, the CLI."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from ccxt_helpers import SYMBOL, running, settings_for, state_for
from typer.testing import CliRunner

from alphagate.adapters.ccxt.ohlcv import CcxtBarSource
from alphagate.cli import cli
from alphagate.domain.quality_report import QualityReport
from alphagate.domain.timeframe import Timeframe
from servers.binance_server import KLINES_START_MS

START = pd.Timestamp(KLINES_START_MS, unit="ms", tz="UTC")
HOUR = pd.Timedelta(hours=1)


def read_all(source: CcxtBarSource) -> pd.DataFrame:
    return pd.concat(list(source.chunks(QualityReport(source.name))), ignore_index=True)


def test_pages_are_followed_until_the_exchange_has_no_more_candles() -> None:
    state = state_for("normal", page_cap=200, klines_count=450)
    with running(state) as server:
        config = settings_for(server.url).venues.ccxt
        source = CcxtBarSource(config, [SYMBOL], Timeframe.parse("1h"), start=START)
        bars = read_all(source)
    expected = state.klines("BTCUSDT", "1h")
    assert len(bars) == len(expected) == 450
    assert state.count("GET", "/api/v3/klines") == 4  # 200 + 200 + 50, then an empty page
    assert bars["ts"].iloc[0] == START + HOUR  # a bar is stamped at its close
    assert bars["ts"].is_monotonic_increasing and bars["ts"].is_unique
    assert bars["close"].tolist() == [float(row[4]) for row in expected]
    assert (bars["symbol"] == SYMBOL).all() and bars["row"].tolist() == list(range(450))


def test_a_gap_does_not_end_the_paging_and_the_bars_after_it_arrive() -> None:
    state = state_for("klines-gap", page_cap=100, klines_count=300)
    with running(state) as server:
        config = settings_for(server.url).venues.ccxt
        bars = read_all(CcxtBarSource(config, [SYMBOL], Timeframe.parse("1h"), start=START))
    assert len(bars) == 297
    gap = bars["ts"].diff().dt.total_seconds().div(3600).max()
    assert gap == 4  # three missing hours: 100, 101, 102
    assert bars["ts"].iloc[-1] == START + 300 * HOUR


def test_data_ingest_source_ccxt_stores_the_bars_and_reports_the_gap(tmp_path: Path) -> None:
    """The command a user runs, with only the URL in the config; gaps refused by default."""
    state = state_for("klines-gap", page_cap=500, klines_count=600)
    runner = CliRunner()
    with running(state) as server:
        config = tmp_path / "config.yaml"
        settings = {
            "data": {"dir": str(tmp_path / "data"), "calendar": None},
            "storage": {"database_url": f"sqlite:///{tmp_path / 'state.db'}"},
            "venues": {"ccxt": {"sandbox": True, "urls": {"all": server.url}}},
        }
        config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        args = ["--config", str(config), "data", "ingest", "--source", "ccxt"]
        args += ["--symbols", SYMBOL, "--timeframe", "1h", "--start", "2024-01-01"]
        refused = runner.invoke(cli, args)
        assert refused.exit_code != 0
        assert "3 missing bars" in refused.output
        repaired = [*args, "--set", "data.quality.gaps=repair"]
        done = runner.invoke(cli, repaired)
        assert done.exit_code == 0, done.output
        pages = state.count("GET", "/api/v3/klines")
        resumed = [a for a in repaired if a not in ("--start", "2024-01-01")]
        again = runner.invoke(cli, resumed)  # incremental: after the last stored bar
        assert again.exit_code == 0, again.output
        assert state.count("GET", "/api/v3/klines") == pages + 1
    assert "600" in done.output  # 597 candles and 3 filled bars
    stored = pd.read_parquet(next((tmp_path / "data").rglob("*.parquet")))
    assert len(stored) == 600 and stored["ts"].max() == START + 600 * HOUR


def test_a_ccxt_source_without_symbols_says_how_to_name_them() -> None:
    config = settings_for("http://127.0.0.1:9").venues.ccxt
    with pytest.raises(ValueError, match="--symbols BTC/USDT"):
        CcxtBarSource(config, [], Timeframe.parse("1h"))
