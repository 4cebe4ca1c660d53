"""``alphagate paper`` as a user runs it: a session started, stopped, resumed, and its status.

A small logistic run on synthetic bars in the store; the session runs one
bar (``--once``), then resumes for a few more, then to the end; ``paper
status`` reads its books without starting anything, and ``make paper``'s
``--run latest`` names the same run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from alphagate.cli import cli


def test_a_paper_session_starts_resumes_finishes_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    config = tmp_path / "c.yaml"
    settings = {
        "data": {
            "dir": str(tmp_path / "data"),
            "synthetic": {"symbols": ["AAA"], "start": "2016-01-04", "end": "2018-12-31"},
        },
        "storage": {
            "database_url": f"sqlite:///{tmp_path / 'state.db'}",
            "trading_database_url": f"sqlite:///{tmp_path / 'trading.db'}",
        },
        "risk": {"kill_switch_state": str(tmp_path / "kill_switch.json")},
    }
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    runner = CliRunner()
    base = ["--config", str(config)]
    for args in (
        ["data", "ingest", "--source", "synthetic"],
        ["train", "--model", "logreg", "--horizons", "1,5", "--run-id", "r1"],
    ):
        done = runner.invoke(cli, [*base, *args])
        assert done.exit_code == 0, done.output

    once = runner.invoke(cli, [*base, "paper", "--run", "latest", "--once"])
    assert once.exit_code == 0, once.output
    assert "paper r1: 1 bars (cycle limit)" in once.output

    more = runner.invoke(cli, [*base, "paper", "--run", "r1", "--max-cycles", "5"])
    assert more.exit_code == 0, more.output
    assert (
        "resumed session" in more.output and "0 orders sent that had never arrived" in more.output
    )

    rest = runner.invoke(cli, [*base, "paper", "--run", "r1"])
    assert rest.exit_code == 0, rest.output
    assert "(end of feed)" in rest.output and "shadow backtest:" in rest.output

    status = runner.invoke(cli, [*base, "paper", "status", "--run", "latest", "--json"])
    assert status.exit_code == 0, status.output
    books = json.loads(status.output)
    assert books["run_id"] == "r1"
    assert books["cycles"] > 6 and books["kill_switch"]["tripped"] is False
    assert books["degradation"] == "normal"
