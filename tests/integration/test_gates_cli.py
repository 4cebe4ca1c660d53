"""``alphagate gates`` as a user runs it: submit, pass after pass, approve; and the rejections.

One small logistic run on synthetic bars, databases and runs in the test's
folder. The thresholds are made lenient so the first candidate climbs to
``awaiting_approval`` (the gates' own judgement is unit-tested); a second
candidate on the same data faces a trial count so large that the deflated
Sharpe ratio rejects it; the walk-forward check, held to a tolerance no
retrained model meets, rejects a third with its evidence on disk; a crash
after gate 1 finished but before its move was stored makes the next pass run
gate 1 again and record it once.
"""

from __future__ import annotations

import json
import os
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from alphagate.cli import cli

LENIENT = {
    "min_sharpe": -100.0,
    "max_drawdown": 1.0,
    "min_win_rate": 0.0,
    "min_deflated_sharpe": 0.0,
}
EASY_SCORE = {"floor": -1000.0, "full": -999.0, "weight": 1.0}


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, list[str]]:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    settings: dict[str, Any] = {
        "data": {
            "dir": str(tmp_path / "data"),
            "synthetic": {"symbols": ["AAA"], "start": "2016-01-04", "end": "2018-12-31"},
        },
        "storage": {
            "database_url": f"sqlite:///{tmp_path / 'state.db'}",
            "trading_database_url": f"sqlite:///{tmp_path / 'trading.db'}",
        },
        "risk": {"kill_switch_state": str(tmp_path / "kill_switch.json")},
        # Every damping step off, so the small model trades and its metrics are defined.
        "decision": {
            step: {"enabled": False} for step in ("confidence", "blend", "kelly", "band", "gate")
        },
        "stress": {
            "pipeline_scenarios": 2, "workers": 1, "monte_carlo_runs": 10,
            "min_profitable": 0.0, "min_median_sharpe": -100.0, "max_catastrophic": 2,
        },
        "gates": {
            "early": LENIENT, "mid": LENIENT, "late": LENIENT, "mature": LENIENT,
            "walk_forward": {"tolerance": 1e9, "min_window_bars": 30},
            "grader": {
                "win_rate": EASY_SCORE, "sharpe": EASY_SCORE, "alpha": EASY_SCORE,
                "drawdown": {"floor": 1000.0, "full": 999.0, "weight": 1.0},
                "tracking_error": {"floor": 1000.0, "full": 999.0, "weight": 1.0},
            },
        },
    }  # fmt: skip
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    runner = CliRunner()
    base = ["--config", str(config)]
    for args in (
        ["data", "ingest", "--source", "synthetic"],
        ["train", "--model", "logreg", "--horizons", "1", "--run-id", "r1"],
    ):
        done = runner.invoke(cli, [*base, *args])
        assert done.exit_code == 0, done.output
    return runner, base


def _ok(runner: CliRunner, args: list[str]) -> str:
    done = runner.invoke(cli, args)
    assert done.exit_code == 0, done.output
    return done.output


def _status(runner: CliRunner, base: list[str]) -> dict[str, dict[str, Any]]:
    rows = json.loads(_ok(runner, [*base, "gates", "status", "--json"]))
    return {row["candidate_id"]: row for row in rows}


def test_a_candidate_climbs_every_gate_and_goes_live_on_approval(
    workspace: tuple[CliRunner, list[str]],
) -> None:
    runner, base = workspace
    _ok(runner, [*base, "gates", "submit", "--run", "r1"])
    dry = _ok(runner, [*base, "gates", "run", "--dry-run"])
    assert "r1: registered: would run the backtest gate" in dry
    assert _status(runner, base)["r1"]["state"] == "registered"

    seen = []
    for _ in range(5):
        _ok(runner, [*base, "gates", "run", "--once"])
        seen.append(_status(runner, base)["r1"]["state"])
    assert seen == [
        "backtest_passed", "stress_passed", "paper", "awaiting_approval", "awaiting_approval",
    ], seen  # fmt: skip
    row = _status(runner, base)["r1"]
    assert row["evidence"]["grade"]["grade"] == "A"
    # Daily bars on the XNYS calendar: a trading day per bar.
    assert row["evidence"]["days"] == row["evidence"]["bars"] >= 7

    refused = runner.invoke(cli, [*base, "gates", "approve", "r1", "--reason", " "])
    assert refused.exit_code != 0
    _ok(runner, [*base, "gates", "approve", "r1", "--reason", "looks good"])
    row = _status(runner, base)["r1"]
    assert (row["state"], row["actor"], row["reason"], row["moves"]) == (
        "live", "operator", "looks good", 6,
    )  # fmt: skip
    again = runner.invoke(cli, [*base, "gates", "submit", "--run", "r1"])
    assert again.exit_code != 0 and "a candidate already" in str(again.exception)


def test_many_trials_make_the_deflated_sharpe_reject_a_candidate(
    workspace: tuple[CliRunner, list[str]],
) -> None:
    runner, base = workspace
    # A deflated-Sharpe bar low enough that this model clears it after two trials.
    dsr = [f"gates.{p}.min_deflated_sharpe=1e-6" for p in ("early", "mid", "late", "mature")]
    sets = [a for s in dsr for a in ("--set", s)]
    _ok(runner, [*base, "gates", "submit", "--run", "r1"])
    _ok(runner, [*base, "train", "--model", "logreg", "--horizons", "1", "--run-id", "r2"])
    _ok(runner, [*base, "gates", "run", "--once", *sets])
    first = _status(runner, base)["r1"]
    assert first["state"] == "backtest_passed" and first["evidence"]["trials"]["total"] == 2

    # The same model again (same data, same config), now after a million more trials.
    _ok(runner, [*base, "gates", "submit", "--run", "r2"])
    many = ["--set", "gates.extra_trials=1000000", "--set", "stress.pipeline_scenarios=1"]
    _ok(runner, [*base, "gates", "run", "--once", *sets, *many])
    row = _status(runner, base)["r2"]
    assert row["state"] == "rejected_at_backtest"
    assert "deflated_sharpe" in row["reason"] and "1000002 trial(s)" in row["reason"]
    failed = [c["name"] for c in row["evidence"]["report"]["checks"] if c["passed"] is not True]
    assert failed == ["deflated_sharpe"]
    assert row["evidence"]["phase"] == "mature"
    _ok(runner, [*base, "gates", "run", "--once", *sets])
    assert _status(runner, base)["r2"]["moves"] == 2


def test_a_crash_before_the_move_is_stored_reruns_the_gate_once(
    workspace: tuple[CliRunner, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from alphagate.app import gates

    runner, base = workspace
    _ok(runner, [*base, "gates", "submit", "--run", "r1"])
    ran: list[str] = []
    real_gate = gates.GATES[gates.GateState.REGISTERED]

    def counted(ctx: Any, history: Any) -> Any:
        ran.append("backtest")
        return real_gate(ctx, history)

    def crash(store: Any, transition: Any) -> None:
        raise RuntimeError("killed between the gate and its record")

    monkeypatch.setitem(gates.GATES, gates.GateState.REGISTERED, counted)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gates, "record_transition", crash)
        crashed = runner.invoke(cli, [*base, "gates", "run", "--once"])
    assert isinstance(crashed.exception, RuntimeError)
    assert _status(runner, base)["r1"]["state"] == "registered"

    _ok(runner, [*base, "gates", "run", "--once"])
    row = _status(runner, base)["r1"]
    assert ran == ["backtest", "backtest"]
    assert (row["state"], row["moves"]) == ("backtest_passed", 2)
    from alphagate.adapters.trading_db import TradingStore

    with TradingStore.open(f"sqlite:///{Path.cwd() / 'trading.db'}") as store:
        started = [e.detail or {} for e in reversed(store.system_events("gate_started"))]
    assert [(d["gate"], d["rerun"]) for d in started] == [("backtest", 0), ("backtest", 1)]


def test_the_walk_forward_check_retrains_window_by_window_and_rejects_beyond_tolerance(
    workspace: tuple[CliRunner, list[str]],
) -> None:
    runner, base = workspace
    _ok(runner, [*base, "gates", "submit", "--run", "r1"])
    strict = ["--set", "gates.walk_forward.tolerance=1e-9", "--set", "gates.paper_min_days=1"]
    _ok(runner, [*base, "gates", "run", "--once", *strict])
    row = _status(runner, base)["r1"]
    assert row["state"] == "rejected_at_backtest"
    assert "walk_forward_total_return" in row["reason"] and "walk_forward_sharpe" in row["reason"]
    walked = row["evidence"]["walk_forward"]
    folder = Path(walked["dir"])
    on_disk = json.loads((folder / "walk_forward.json").read_text(encoding="utf-8"))
    assert on_disk["aggregate"] == walked["aggregate"]
    windows = walked["windows"]
    assert windows >= 2 and len(walked["per_window"]) == windows
    # The windows follow each other, each trained on more rows than the one before.
    per_window = walked["per_window"]
    assert all(a["end"] < b["start"] for a, b in pairwise(per_window))
    assert all(a["h1_train_rows"] < b["h1_train_rows"] for a, b in pairwise(per_window))
    # The single model's span return compounds from its windows' bar-to-bar returns.
    curves = pd.read_csv(folder / "equity.csv", index_col="ts")
    single = curves["single"]
    assert walked["aggregate"]["single"]["total_return"] == pytest.approx(
        single.iloc[-1] / single.iloc[0] - 1
    )
    compounded = 1.0
    for part in per_window:
        compounded *= 1 + part["single_total_return"]
    assert compounded == pytest.approx(single.iloc[-1] / single.iloc[0])
