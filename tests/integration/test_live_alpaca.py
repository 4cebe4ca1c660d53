"""``alphagate live --venue alpaca`` as a user runs it, against the local Alpaca server.

The same commands a user runs against Alpaca's paper account; only the URLs
(``--set venues.alpaca.*``) and the keys (environment) differ. SE-04: every
refused start leaves the server with zero requests. Then a confirmed start
trades the run's model on the bars the server releases, stops, resumes from
its journal, and ``--status`` reads its books without starting anything.
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
from alphagate.testing.servers import free_port
from servers.alpaca_server import KEY_ID, SECRET_KEY, AlpacaServer, Scenario


def said(result: Result) -> str:
    """What a user reads: the output, or the refusal the entry point prints."""
    return result.output + ("" if result.exception is None else str(result.exception))


@pytest.fixture
def server() -> Iterator[AlpacaServer]:
    scenario = Scenario(name="live_bars", bars_released=30, release_every_s=0.2)
    with AlpacaServer(scenario) as running:
        yield running


def test_live_refuses_without_confirmation_then_trades_resumes_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: AlpacaServer
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("ALPHAGATE", "APCA_")):
            monkeypatch.delenv(name)
    config = tmp_path / "c.yaml"
    settings = {
        "data": {
            "dir": str(tmp_path / "data"),
            "synthetic": {"symbols": ["AAA"], "start": "2019-01-02", "end": "2023-12-29"},
        },
        "storage": {"database_url": f"sqlite:///{tmp_path / 'state.db'}"},
        "risk": {"kill_switch_state": str(tmp_path / "kill_switch.json")},
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
    live = [*base, "live", "--venue", "alpaca", "--run", "r1", *urls, "--poll", "0.1"]
    keys = {"APCA_API_KEY_ID": KEY_ID, "APCA_API_SECRET_KEY": SECRET_KEY}

    refused = runner.invoke(cli, live, env=keys)  # no --confirm
    assert refused.exit_code != 0 and "--confirm" in said(refused)
    no_phrase = runner.invoke(cli, [*live, "--confirm"], env=keys)
    assert no_phrase.exit_code != 0 and "ALPHAGATE_LIVE_CONFIRM" in said(no_phrase)
    no_keys = runner.invoke(
        cli, [*live, "--confirm"], env={"ALPHAGATE_LIVE_CONFIRM": "YES I AM SURE"}
    )
    assert no_keys.exit_code != 0 and "APCA_API_SECRET_KEY" in said(no_keys)
    assert sum(server.counts.values()) == 0  # SE-04: not one request reached the venue

    confirmed = {**keys, "ALPHAGATE_LIVE_CONFIRM": "YES I AM SURE"}
    first = runner.invoke(cli, [*live, "--confirm", "--max-cycles", "3"], env=confirmed)
    assert first.exit_code == 0, said(first)
    assert "live alpaca r1: 3 bars (cycle limit)" in first.output
    assert server.counts["GET /v2/stocks/bars"] > 0 and server.counts["GET /v2/account"] > 0

    # The resumed session serves the dashboard alongside: the monitor sees every cycle of
    # an engine trading through a broker (an error in it would stop the run).
    port = free_port()
    again = runner.invoke(
        cli,
        [*live, "--confirm", "--max-cycles", "2", "--serve", "--serve-port", str(port)],
        env=confirmed,
    )
    assert again.exit_code == 0, said(again)
    assert f"serving the dashboard on http://127.0.0.1:{port}/" in again.output
    assert "2 bars (cycle limit); resumed 3 journaled bars" in again.output

    status = runner.invoke(cli, [*live, "--status"])
    assert status.exit_code == 0, status.output
    books = json.loads(status.output)
    assert books["venue"] == "alpaca" and books["cycles"] == 5
    assert Path(books["session"]) == Path("runs", "r1", "live-alpaca")
    # the engine's positions are the broker's (checked at every start and reconcile)
    held = {k: v for k, v in server.positions.items() if v}
    assert books["positions"] == held
