"""``alphagate live --venue binance`` as a user runs it, against the local Binance server.

The same commands a user runs against Binance; only the URL
(``--set venues.ccxt.urls.all``) and the keys (environment) differ. The
model is trained on candles ingested from the same server (``data ingest
--source ccxt``, hourly, no calendar: crypto trades around the clock).
SE-04: every refused start leaves the server with zero requests. Then a
confirmed start trades the run's model on the candles the server releases,
stops, resumes from its journal, and ``--status`` reads its books without
starting anything.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from alphagate.cli import cli
from servers.binance_server import BinanceServer, BinanceState

SYMBOL = "BTC/USDT"


def said(result: Result) -> str:
    """What a user reads: the output, or the refusal the entry point prints."""
    return result.output + ("" if result.exception is None else str(result.exception))


@pytest.fixture
def server() -> Iterator[BinanceServer]:
    state = BinanceState(
        balances={"USDT": 100_000.0, "BTC": 0.0, "ETH": 0.0},
        klines_count=1500, klines_released=1200, release_every_s=0.2,
    )  # fmt: skip
    with BinanceServer(state) as running:
        yield running


def test_live_binance_refuses_without_confirmation_then_trades_resumes_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: BinanceServer
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("ALPHAGATE", "APCA_")):
            monkeypatch.delenv(name)
    config = tmp_path / "c.yaml"
    settings = {
        "data": {"dir": str(tmp_path / "data"), "calendar": None, "timeframe": "1h"},
        "storage": {"database_url": f"sqlite:///{tmp_path / 'state.db'}"},
        "risk": {"kill_switch_state": str(tmp_path / "kill_switch.json")},
        "venues": {"ccxt": {"exchange": "binance", "sandbox": False,
                            "urls": {"all": server.url}}},
    }  # fmt: skip
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    runner = CliRunner()
    base = ["--config", str(config)]
    ingest = ["data", "ingest", "--source", "ccxt", "--symbols", SYMBOL, "--timeframe", "1h"]
    for args in (
        [*ingest, "--start", "2024-01-01"],
        ["train", "--model", "logreg", "--horizons", "1", "--run-id", "r1"],
    ):
        done = runner.invoke(cli, [*base, *args])
        assert done.exit_code == 0, said(done)
    state = server.state
    state.requests.clear()

    live = [*base, "live", "--venue", "binance", "--run", "r1", "--poll", "0.1"]
    keys = {"ALPHAGATE_BINANCE_API_KEY": state.api_key, "ALPHAGATE_BINANCE_SECRET": state.secret}

    refused = runner.invoke(cli, live, env=keys)  # no --confirm
    assert refused.exit_code != 0 and "--confirm" in said(refused)
    no_phrase = runner.invoke(cli, [*live, "--confirm"], env=keys)
    assert no_phrase.exit_code != 0 and "ALPHAGATE_LIVE_CONFIRM" in said(no_phrase)
    no_keys = runner.invoke(
        cli, [*live, "--confirm"], env={"ALPHAGATE_LIVE_CONFIRM": "YES I AM SURE"}
    )
    assert no_keys.exit_code != 0 and "ALPHAGATE_BINANCE_SECRET" in said(no_keys)
    assert sum(state.requests.values()) == 0  # SE-04: not one request reached the venue

    confirmed = {**keys, "ALPHAGATE_LIVE_CONFIRM": "YES I AM SURE"}
    first = runner.invoke(cli, [*live, "--confirm", "--max-cycles", "3"], env=confirmed)
    assert first.exit_code == 0, said(first)
    assert "live binance r1: 3 bars (cycle limit)" in first.output
    assert state.count("GET", "/api/v3/klines") > 0 and state.count("GET", "/api/v3/account") > 0

    again = runner.invoke(cli, [*live, "--confirm", "--max-cycles", "2"], env=confirmed)
    assert again.exit_code == 0, said(again)
    assert "2 bars (cycle limit); resumed 3 journaled bars" in again.output

    status = runner.invoke(cli, [*live, "--status"])
    assert status.exit_code == 0, status.output
    books = json.loads(status.output)
    assert books["venue"] == "binance" and books["cycles"] == 5
    assert Path(books["session"]) == Path("runs", "r1", "live-binance")
    # the engine's positions are the exchange's (checked at every start and reconcile)
    held = {SYMBOL: state.balances["BTC"]} if state.balances["BTC"] else {}
    assert {k: v for k, v in books["positions"].items() if v} == held
    assert not state.banned and state.violations == 0
