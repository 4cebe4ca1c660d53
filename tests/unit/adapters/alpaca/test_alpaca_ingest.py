"""``alphagate data ingest --source alpaca`` against the local server, as a user would run it."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from alphagate.cli import cli
from alphagate.data.store import BarStore
from servers.alpaca_server import KEY_ID, SECRET_KEY, AlpacaServer, _daily_bars


def test_data_ingest_from_alpaca_pages_stores_at_session_close_and_is_incremental(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("APCA_API_KEY_ID", KEY_ID)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET_KEY)
    runner = CliRunner()
    with AlpacaServer("normal") as server:
        base = [
            "data", "ingest", "--source", "alpaca", "--symbols", "AAPL,MSFT",
            "--timeframe", "1d", "--start", "2024-01-01",
            "--set", f"venues.alpaca.data_url={server.url}",
            "--set", f"data.dir={tmp_path / 'data'}",
            "--set", f"storage.database_url=sqlite:///{tmp_path / 'state.db'}",
        ]  # fmt: skip
        first = runner.invoke(cli, [*base, "--end", "2024-06-28"])
        assert first.exit_code == 0, first.output
        pages_first = len(server.bar_queries)
        again = runner.invoke(cli, base)
        assert again.exit_code == 0, again.output
    stored = BarStore(tmp_path / "data").read(["AAPL", "MSFT"], "1d")
    expected = list(_daily_bars("AAPL", server.scenario.bars_days, 0))
    aapl = stored.xs("AAPL")
    assert len(aapl) == len(expected)  # every page of the span, once, across both runs
    assert aapl["close"].tolist() == pytest.approx([b["c"] for b in expected])
    # 2024-01-02 (winter): the XNYS session closes at 21:00 UTC; 2024-07-01 (summer) at 20:00
    assert aapl.index[0] == pd.Timestamp("2024-01-02 21:00", tz="UTC")
    assert pd.Timestamp("2024-07-01 20:00", tz="UTC") in aapl.index
    # two symbols of ~124 bars at 50 a page: several pages on the first run
    assert pages_first >= 2 * (124 // 50)
    # the second run asked each symbol only from its last stored bar (2024-06-28's close) on
    later = server.bar_queries[pages_first:]
    assert later and all(q["start"] >= "2024-06-28T20:00" for q in later)
