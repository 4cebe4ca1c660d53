"""The study watcher makes one candidate of a best trial, even across a crash; the MLflow
mirror never blocks a gate and catches up on the next pass."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from alphagate.app import gates, gates_watch
from alphagate.app.data import load_settings
from alphagate.cli import cli
from alphagate.config import Settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    raw: dict[str, Any] = {
        "data": {
            "dir": str(tmp_path / "data"),
            "synthetic": {"symbols": ["AAA"], "start": "2016-01-04", "end": "2018-12-31"},
        },
        "storage": {
            "database_url": f"sqlite:///{tmp_path / 'state.db'}",
            "trading_database_url": f"sqlite:///{tmp_path / 'trading.db'}",
        },
        "gates": {"stop_file": str(tmp_path / "gates.stop")},
    }
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    runner = CliRunner()
    for args in (
        ["data", "ingest", "--source", "synthetic"],
        ["train", "--model", "logreg", "--horizons", "1", "--trials", "3", "--run-id", "s"],
    ):
        done = runner.invoke(cli, ["--config", str(config), *args])
        assert done.exit_code == 0, done.output
    return load_settings([config])


def _bars(settings: Settings) -> Any:
    from alphagate.app import research

    return lambda: research.load_bars(settings)


def test_a_crash_between_training_and_submitting_leaves_one_trained_run_and_one_candidate(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = Path("runs")
    trained: list[str] = []
    real_train = gates_watch._train

    def counted(*args: Any) -> bool:
        done = real_train(*args)
        trained.append("trained" if done else "found")
        return done

    monkeypatch.setattr(gates_watch, "_train", counted)
    dry = gates_watch.watch(settings, runs, _bars(settings), dry_run=True)
    assert [s.action.startswith("would train best trial") for s in dry] == [True]
    assert trained == [] and not (runs / dry[0].candidate_id).exists()

    def killed(*_: Any) -> Any:
        raise RuntimeError("killed after training")

    with monkeypatch.context() as patch:
        patch.setattr(gates_watch, "submit", killed)
        with pytest.raises(RuntimeError):
            gates_watch.watch(settings, runs, _bars(settings))
    assert gates.status(settings) == []

    (step,) = gates_watch.watch(settings, runs, _bars(settings))
    assert trained == ["trained", "found"]  # trained once; the second pass submitted it
    assert step.candidate_id == dry[0].candidate_id and step.transition is not None
    assert gates_watch.watch(settings, runs, _bars(settings)) == []
    (row,) = gates.status(settings)
    assert row["evidence"]["source"] == "optuna" and row["evidence"]["study_trials"] == 3


def test_a_failed_mirror_moves_the_candidate_anyway_and_the_next_pass_writes_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alphagate.adapters import tracking

    gates.submit(settings, Path("runs"), "s")
    manifest = json.loads(Path("runs/s/train/manifest.json").read_text(encoding="utf-8"))
    model = manifest["mlflow"]["models"]["1"]
    client = MlflowClient(tracking_uri=manifest["mlflow"]["tracking_uri"])

    def state_tag() -> str | None:
        version = client.get_model_version(model["name"], str(model["version"]))
        return version.tags.get("alphagate.gate_state")

    def down(*_: Any) -> None:
        raise OSError("mlflow.db is locked")

    with monkeypatch.context() as patch:
        patch.setattr(tracking.ModelRegistry, "tag_version", down)
        steps = gates.run_once(settings, Path("runs"), _bars(settings), only=("s",))
    moved = steps[0].transition
    assert moved is not None and moved.source == "registered"
    assert state_tag() is None  # MLflow never heard of it ...
    gates.run_once(settings, Path("runs"), _bars(settings), dry_run=True)
    assert state_tag() is None  # ... a dry run writes nothing ...
    gates.run_once(settings, Path("runs"), _bars(settings), only=("none",))
    assert state_tag() is None  # ... nor a pass over other candidates ...
    gates.run_once(settings, Path("runs"), _bars(settings), only=("s",))
    (row,) = gates.status(settings)
    assert state_tag() == row["state"] != "registered"  # ... the next pass of it does
