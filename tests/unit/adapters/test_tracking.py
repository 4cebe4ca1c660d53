"""The MLflow adapter on a local SQLite store: what is logged is what MLflow reads back."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from alphagate.adapters.tracking import MlflowTracker


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tracking")


@pytest.fixture(scope="module")
def tracker(root: Path) -> MlflowTracker:
    # One database per module: MLflow's schema migrations take seconds on a new file.
    return MlflowTracker(f"sqlite:///{root / 'db' / 'mlflow.db'}", root / "artifacts", "tests")


def reader(tracker: MlflowTracker) -> MlflowClient:
    """A client of its own, so reads do not go through the tracker under test."""
    return MlflowClient(tracking_uri=tracker.tracking_uri, registry_uri=tracker.tracking_uri)


def test_params_and_finite_metrics_round_trip_and_nan_or_none_are_not_stored(
    tracker: MlflowTracker,
) -> None:
    with tracker.start_run("round-trip", {"purpose": "test"}) as run_id:
        tracker.log_params({"family": "logreg", "C": 0.5, "horizons": [1, 5]})
        tracker.log_metrics({"auc": 0.61, "ece": math.nan, "sharpe": None, "inf": math.inf})
        tracker.log_metrics({"loss": 0.69}, step=3)
    run = reader(tracker).get_run(run_id)
    assert run.data.params == {"family": "logreg", "C": "0.5", "horizons": "[1, 5]"}
    assert run.data.metrics == {"auc": 0.61, "loss": 0.69}
    assert run.data.tags["purpose"] == "test"
    assert run.info.status == "FINISHED"
    history = reader(tracker).get_metric_history(run_id, "loss")
    assert [m.step for m in history] == [3]


def test_a_file_and_a_directory_are_logged_under_the_experiments_artifact_root(
    tracker: MlflowTracker, root: Path, tmp_path: Path
) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.json").write_text("{}", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with tracker.start_run("artifacts") as run_id:
        tracker.log_artifact(tmp_path / "notes.txt")
        uri = tracker.log_model_dir(tmp_path / "model", "h1/model")
    assert uri == f"runs:/{run_id}/h1/model"
    client = reader(tracker)
    assert sorted(a.path for a in client.list_artifacts(run_id)) == ["h1", "notes.txt"]
    assert [a.path for a in client.list_artifacts(run_id, "h1/model")] == ["h1/model/model.json"]
    stored = root / "artifacts" / run_id / "artifacts" / "notes.txt"
    assert stored.read_text(encoding="utf-8") == "hello"


def test_registering_twice_gives_versions_one_and_two_pointing_at_the_logged_directory(
    tracker: MlflowTracker, tmp_path: Path
) -> None:
    (tmp_path / "model.json").write_text("{}", encoding="utf-8")
    with tracker.start_run("register") as run_id:
        tracker.log_model_dir(tmp_path, "model")
    first = tracker.register_model(run_id, "model", "alphagate-test")
    second = tracker.register_model(run_id, "model", "alphagate-test")
    assert (first, second) == (1, 2)
    version = reader(tracker).get_model_version("alphagate-test", "2")
    assert version.run_id == run_id
    assert version.source.endswith(f"{run_id}/artifacts/model")


def test_a_run_that_raises_ends_failed_and_logging_outside_a_run_is_refused(
    tracker: MlflowTracker,
) -> None:
    with pytest.raises(ZeroDivisionError), tracker.start_run("broken") as run_id:
        _ = 1 / 0
    assert reader(tracker).get_run(run_id).info.status == "FAILED"
    with pytest.raises(RuntimeError, match="no active MLflow run"):
        tracker.log_metrics({"auc": 0.5})


def test_a_second_tracker_on_the_same_store_reuses_the_experiment(
    tracker: MlflowTracker, root: Path
) -> None:
    again = MlflowTracker(tracker.tracking_uri, root / "elsewhere", "tests")
    assert again.experiment_id == tracker.experiment_id
    assert not (root / "elsewhere").exists()
