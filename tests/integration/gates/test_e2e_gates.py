"""Issue 19's acceptance: an Optuna study's best trial climbs the gates by itself.

On synthetic data and on the bundled S&P 500 (its last five years, 2014-2018,
ingested as a CSV cut from the bundled file: the whole twenty years would make
the paper replay of the holdout alone take minutes), as a user runs it:

1. ``alphagate train --trials`` leaves an Optuna study in ``runs/optuna.db``;
2. ``alphagate gates run --once`` (the study watcher) trains the study's best
   trial into a run and submits it, once;
3. the passes take it through gate 1 (backtest) and gate 2 (stress);
4. then paper trading in replay mode, graded, to ``awaiting_approval``;
   every state is mirrored onto the run's MLflow model version.

Then a second study of many trials on the same data gives a candidate
whose trial count puts it in a strict phase, where the deflated Sharpe
ratio rejects it and the reason says so. The thresholds are lenient except
the deflated Sharpe's in the late and mature phases, so a decent candidate
passes and the overfit one fails on that check alone. The expectations are
taken from Optuna and MLflow directly, not from the gates' own records.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from alphagate.cli import cli

LENIENT = {"min_sharpe": -100.0, "max_drawdown": 1.0, "min_win_rate": 0.0}
EASY = {"floor": -1000.0, "full": -999.0, "weight": 1.0}
EASY_LOW = {"floor": 1000.0, "full": 999.0, "weight": 1.0}

DATA: dict[str, dict[str, Any]] = {
    "synthetic": {
        "source": "synthetic",
        "synthetic": {"symbols": ["AAA"], "start": "2015-01-01", "end": "2018-12-31"},
    },
    "bundled": {"source": "csv"},
}


@pytest.fixture(params=sorted(DATA))
def workspace(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[CliRunner, list[str]]:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    settings: dict[str, Any] = {
        "data": {"dir": str(tmp_path / "data"), **DATA[request.param]},
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
            "late_from_trials": 20,  # "many" trials sooner, so the search stays short
            "early": {**LENIENT, "min_deflated_sharpe": 1e-6},
            "mid": {**LENIENT, "min_deflated_sharpe": 1e-6},
            "late": {**LENIENT, "min_deflated_sharpe": 0.9},
            "mature": {**LENIENT, "min_deflated_sharpe": 0.95},
            "paper_min_days": 5,
            # Gate 1 retrains window by window; two windows keep it short, and the
            # tolerance is wide: this test is about the climb, not the recipe's stability.
            "walk_forward": {"windows": 2, "min_window_bars": 30, "tolerance": 1e9},
            "grader": {
                "win_rate": EASY, "sharpe": EASY, "alpha": EASY,
                "drawdown": EASY_LOW, "tracking_error": EASY_LOW,
            },
        },
    }  # fmt: skip
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    runner = CliRunner()
    base = ["--config", str(config)]
    if request.param == "bundled":
        ingest = ["--source", "csv", "--path", str(_bundled_cut(tmp_path)), "--calendar", "XNYS"]
    else:
        ingest = ["--source", "synthetic"]
    _ok(runner, [*base, "data", "ingest", *ingest])
    return runner, base


def _bundled_cut(folder: Path) -> Path:
    """The bundled ^GSPC from 2014 on, as a CSV the csv source reads (dates of NYSE sessions)."""
    from alphagate.data.sources.bundled import bundled_file

    raw = pd.read_csv(bundled_file("^GSPC"), parse_dates=["Date"])
    cut = raw[raw["Date"] >= "2014-01-01"]
    columns = {c.lower(): cut[c] for c in ("Open", "High", "Low", "Close", "Volume")}
    path = folder / "gspc.csv"
    pd.DataFrame({"ts": cut["Date"].dt.strftime("%Y-%m-%d"), "symbol": "^GSPC", **columns}).to_csv(
        path, index=False
    )
    return path


def _ok(runner: CliRunner, args: list[str]) -> str:
    done = runner.invoke(cli, args)
    assert done.exit_code == 0, (done.output, done.exception)
    return done.output


def _status(runner: CliRunner, base: list[str]) -> dict[str, dict[str, Any]]:
    rows = json.loads(_ok(runner, [*base, "gates", "status", "--json"]))
    return {row["candidate_id"]: row for row in rows}


def _best(study_prefix: str) -> optuna.trial.FrozenTrial:
    storage = f"sqlite:///{Path.cwd() / 'runs' / 'optuna.db'}"
    names = [n for n in optuna.get_all_study_names(storage) if n.startswith(study_prefix)]
    assert len(names) == 1, names
    return optuna.load_study(study_name=names[0], storage=storage).best_trial


def _trials_in_store() -> int:
    storage = f"sqlite:///{Path.cwd() / 'runs' / 'optuna.db'}"
    return sum(
        len(optuna.load_study(study_name=n, storage=storage).trials)
        for n in optuna.get_all_study_names(storage)
    )


def _mlflow_version(row: dict[str, Any]) -> Any:
    manifest = json.loads(
        (Path("runs") / row["run_id"] / "train" / "manifest.json").read_text(encoding="utf-8")
    )
    client = MlflowClient(tracking_uri=manifest["mlflow"]["tracking_uri"])
    (model,) = manifest["mlflow"]["models"].values()
    return client, model["name"], client.get_model_version(model["name"], str(model["version"]))


@pytest.mark.slow
def test_a_studys_best_trial_climbs_to_approval_and_an_overfit_one_is_rejected(
    workspace: tuple[CliRunner, list[str]],
) -> None:
    runner, base = workspace
    train = [*base, "train", "--model", "logreg"]
    _ok(runner, [*train, "--horizons", "1", "--trials", "6", "--run-id", "search-1"])
    best = _best("logreg-h1-")

    seen = []
    for _ in range(5):
        _ok(runner, [*base, "gates", "run", "--once"])
        seen.append({cid: row["state"] for cid, row in _status(runner, base).items()})
    (cid,) = seen[0]
    assert cid.startswith("optuna-logreg-h1-") and cid.endswith(f"-t{best.number}")
    assert [s[cid] for s in seen] == [
        "backtest_passed", "stress_passed", "paper", "awaiting_approval", "awaiting_approval",
    ], seen  # fmt: skip
    row = _status(runner, base)[cid]
    assert row["moves"] == 5  # registered + four gates: the watcher submitted it once

    history = _history(cid)
    origin = history[0]["evidence"]
    assert (origin["source"], origin["trial"]) == ("optuna", best.number)
    assert origin["trial_params"] == best.params
    gate1 = history[1]["evidence"]
    assert gate1["phase"] == "early" and gate1["trials"]["total"] == _trials_in_store() == 6
    training = json.loads(
        (Path("runs") / cid / "train" / "manifest.json").read_text(encoding="utf-8")
    )
    assert training["per_horizon"]["1"]["params"] == best.params  # the trial's, not a search's

    client, name, version = _mlflow_version(row)
    assert version.tags["alphagate.gate_state"] == "awaiting_approval"
    _ok(runner, [*base, "gates", "approve", cid, "--reason", "acceptance"])
    client, name, version = _mlflow_version(_status(runner, base)[cid])
    assert version.tags["alphagate.gate_state"] == "live"
    assert client.get_registered_model(name).aliases["live"] == version.version

    # Many more trials on the same data: the new best is judged against all of them.
    _ok(runner, [*train, "--horizons", "2", "--trials", "24", "--run-id", "search-2"])
    overfit = _best("logreg-h2-")
    _ok(runner, [*base, "gates", "run", "--once"])
    rows = _status(runner, base)
    (second,) = set(rows) - {cid}
    assert second.endswith(f"-t{overfit.number}")
    rejected = rows[second]
    assert rejected["state"] == "rejected_at_backtest", rejected
    total = _trials_in_store()
    assert total == 30 and f"{total} trial(s)" in rejected["reason"]
    assert "deflated_sharpe" in rejected["reason"]
    checks = rejected["evidence"]["report"]["checks"]
    assert [c["name"] for c in checks if c["passed"] is not True] == ["deflated_sharpe"]
    assert rejected["evidence"]["phase"] == "late"
    _, _, version = _mlflow_version(rejected)
    assert version.tags["alphagate.gate_state"] == "rejected_at_backtest"

    _ok(runner, [*base, "gates", "run", "--once"])  # nothing new: no candidate twice
    assert sorted(_status(runner, base)) == sorted([cid, second])


def _history(candidate_id: str) -> list[dict[str, Any]]:
    from alphagate.adapters.trading_db import TradingStore

    with TradingStore.open(f"sqlite:///{Path.cwd() / 'trading.db'}") as store:
        return [
            {"target": m.target.value, "evidence": dict(m.evidence)}
            for m in store.transitions(candidate_id)
        ]
