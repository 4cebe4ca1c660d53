"""``alphagate paper --feed alpaca``: the paper engine on Alpaca's live bars, never its orders.

Against the local Alpaca server, releasing a bar every 0.2 s as a market
does: the session runs 12 closes on the polled bars with the paper venue
(its ledger, its books in the trading database) and the server counts not
one order POST, cancel or order query; the run ends with its shadow
backtest, whose daily tracking error is stored and 0. (This model sends no
order in 12 bars yet; a test that it fills is still to come.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from alphagate.adapters.trading_db.store import TradingStore
from alphagate.app.paper_live import book_id, live_paper_dir
from alphagate.cli import cli
from servers.alpaca_server import KEY_ID, SECRET_KEY, AlpacaServer, Scenario


@pytest.fixture
def server() -> Iterator[AlpacaServer]:
    scenario = Scenario(name="paper_live", bars_released=30, release_every_s=0.2)
    with AlpacaServer(scenario) as running:
        yield running


def test_paper_on_alpaca_live_bars_fills_on_the_paper_venue_and_sends_no_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: AlpacaServer
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("ALPHAGATE", "APCA_")):
            monkeypatch.delenv(name)
    trading_db = tmp_path / "trading.db"
    config = tmp_path / "c.yaml"
    settings = {
        "data": {
            "dir": str(tmp_path / "data"),
            "synthetic": {"symbols": ["AAA"], "start": "2019-01-02", "end": "2023-12-29"},
        },
        "storage": {
            "database_url": f"sqlite:///{tmp_path / 'state.db'}",
            "trading_database_url": f"sqlite:///{trading_db}",
        },
        "risk": {"kill_switch_state": str(tmp_path / "kill_switch.json")},
        # the steps that wait for tens of bars of online history off, so 12 bars trade
        "decision": {
            step: {"enabled": False} for step in ("standardise", "confidence", "gate", "kelly")
        },
    }
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    runner = CliRunner()
    base = ["--config", str(config)]
    for args in (
        ["data", "ingest", "--source", "synthetic"],
        ["train", "--model", "logreg", "--horizons", "1", "--run-id", "r1"],
    ):
        done = runner.invoke(cli, [*base, *args])
        assert done.exit_code == 0, done.output
    urls = [
        "--set", f"venues.alpaca.base_url={server.url}",
        "--set", f"venues.alpaca.data_url={server.url}",
        "--set", f"venues.alpaca.trade_stream_url={server.stream_url}",
    ]  # fmt: skip
    keys = {"APCA_API_KEY_ID": KEY_ID, "APCA_API_SECRET_KEY": SECRET_KEY}
    paper = [*base, "paper", "--run", "r1", "--feed", "alpaca", *urls, "--poll", "0.05"]

    done = runner.invoke(cli, [*paper, "--max-cycles", "12"], env=keys)

    assert done.exit_code == 0, done.output + repr(done.exception)
    assert "12 bars (cycle" in " ".join(done.output.split())
    assert server.counts["GET /v2/stocks/bars"] > 0  # the feed polled the venue's bars
    touched = {k for k, v in server.counts.items() if v and "orders" in k}
    assert touched == set()  # not one order POST, cancel or query reached the broker
    assert (live_paper_dir(Path("runs"), "r1", "alpaca") / "venue.db").exists()
    store = TradingStore.open(f"sqlite:///{trading_db}")
    try:
        books = book_id("r1", "alpaca")
        equity = store.equity(books)
        assert len(equity) == 12
        assert store.equity("r1") == []  # apart from the replay session's books
        # the shadow backtest ran on the traded bars: a tracking error for every day traded,
        # and none at all, since the paper venue and the backtest are the same engine
        days = store.daily_performance(books)
        traded_days = {pd.Timestamp(p.ts, tz="UTC").normalize().value for p in equity}
        assert [d.day_ts for d in days] == sorted(traded_days)
        assert all(d.tracking_error == 0.0 for d in days)
        (shadow,) = store.system_events("shadow_backtest")
        assert shadow.detail["days"] == len(days)
        assert shadow.detail["order_differences"] == []
        assert shadow.detail["fill_differences"] == []
    finally:
        store.close()
