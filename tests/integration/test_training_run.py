"""``run_training`` end to end on synthetic bars: files, manifest, MLflow, registry, determinism."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from alphagate.app.train import TrainingRunResult, data_hash, run_training
from alphagate.config import Settings, config_hash
from alphagate.engine.staleness import trained_ns_from_manifest
from alphagate.errors import AlphagateError
from alphagate.runs import read_feature_profiles

HORIZONS = (1, 5)
HORIZON_FILES = (
    "model/model.json",
    "calibrator.json",
    "evaluation.json",
    "oof.parquet",
    "holdout_predictions.parquet",
    "reliability.png",
    "feature_importances.csv",
    "feature_profiles.json",
)
MANIFEST_KEYS = {
    "run_id",
    "config_hash",
    "data_hash",
    "code_version",
    "seed",
    "family",
    "horizons",
    "trials",
    "wall_seconds",
    "peak_memory_mb",
    "per_horizon",
    "train_end",
    "mlflow",
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("training-run")


@pytest.fixture(scope="module")
def settings(workspace: Path) -> Settings:
    return Settings.model_validate({"features": {"cache_dir": workspace / "features"}})


@pytest.fixture(scope="module")
def runs(
    workspace: Path, settings: Settings, two_symbol_bars: pd.DataFrame
) -> dict[str, TrainingRunResult]:
    """Three runs into one runs directory, so MLflow's database is created once."""
    messages: list[str] = []
    common = {"family": "logreg", "horizons": HORIZONS, "seed": 3, "runs_dir": workspace / "runs"}
    return {
        "first": run_training(
            settings, two_symbol_bars, run_id="first", progress=messages.append, **common
        ),
        "again": run_training(settings, two_symbol_bars, run_id="again", **common),
        "searched": run_training(settings, two_symbol_bars, run_id="searched", trials=2, **common),
    }


def test_every_horizon_writes_every_file_and_no_temporary_directory_is_left(
    runs: dict[str, TrainingRunResult], workspace: Path
) -> None:
    for name, result in runs.items():
        assert result.directory == workspace / "runs" / name / "train"
        assert (result.directory / "manifest.json").is_file()
        assert (result.directory / "report.html").is_file()
        for h in HORIZONS:
            for file in HORIZON_FILES:
                assert (result.directory / f"h{h}" / file).is_file(), (name, h, file)
        assert [p.name for p in result.directory.parent.iterdir()] == ["train"]


def test_manifest_records_hashes_choices_resources_and_per_horizon_holdout_metrics(
    runs: dict[str, TrainingRunResult], settings: Settings, two_symbol_bars: pd.DataFrame
) -> None:
    result = runs["first"]
    manifest = json.loads((result.directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == result.manifest
    assert set(manifest) >= MANIFEST_KEYS
    assert manifest["config_hash"] == config_hash(settings)
    assert manifest["data_hash"] == data_hash(two_symbol_bars)
    assert (manifest["family"], manifest["seed"], manifest["horizons"]) == ("logreg", 3, [1, 5])
    assert manifest["wall_seconds"] > 0
    assert manifest["peak_memory_mb"] > 10
    for h in HORIZONS:
        entry = manifest["per_horizon"][str(h)]
        assert entry["n_train"] + entry["n_holdout"] <= entry["n_samples"]
        assert 0.0 <= entry["holdout"]["roc_auc"] <= 1.0
        assert manifest["mlflow"]["models"][str(h)]["name"] == f"alphagate-logreg-h{h}"


def test_evaluation_json_holds_finite_accuracy_auc_and_ece_before_and_after_calibration(
    runs: dict[str, TrainingRunResult],
) -> None:
    for h in HORIZONS:
        path = runs["first"].directory / f"h{h}" / "evaluation.json"
        evaluation = json.loads(path.read_text(encoding="utf-8"))
        assert set(evaluation) == {"calibrated", "raw"}
        for scores in evaluation.values():
            for key in ("accuracy", "roc_auc", "ece_uniform", "ece_quantile", "log_loss"):
                assert math.isfinite(scores[key]), (h, key)
            assert 0.0 <= scores["accuracy"] <= 1.0


def test_holdout_predictions_hold_probabilities_and_outcomes_for_each_symbol(
    runs: dict[str, TrainingRunResult],
) -> None:
    frame = pd.read_parquet(runs["first"].directory / "h5" / "holdout_predictions.parquet")
    assert list(frame.columns) == ["symbol", "ts", "p_raw", "p_calibrated", "y", "forward_return"]
    assert set(frame["symbol"]) == {"AAA", "BBB"}
    assert frame[["p_raw", "p_calibrated"]].stack().between(0.0, 1.0).all()
    assert set(frame["y"]) == {0, 1}


def test_each_horizon_keeps_its_training_end_and_the_profile_of_every_feature_it_learnt(
    runs: dict[str, TrainingRunResult],
) -> None:
    result = runs["first"]
    ends = []
    for h in HORIZONS:
        folder = result.directory / f"h{h}"
        end = pd.Timestamp(result.manifest["per_horizon"][str(h)]["train_end"])
        holdout = pd.read_parquet(folder / "holdout_predictions.parquet")
        assert end < holdout["ts"].min()  # purged: no training label reaches the holdout
        assert end > holdout["ts"].min() - pd.Timedelta(days=3 * h + 10)
        assert trained_ns_from_manifest(result.manifest, h) == end.value
        ends.append(end)

        profiles = read_feature_profiles(folder)
        assert profiles is not None
        learnt = pd.read_csv(folder / "feature_importances.csv")["feature"]
        assert set(profiles) == set(learnt)
        for profile in profiles.values():
            assert profile.shares.sum() == pytest.approx(1.0)
    assert pd.Timestamp(result.manifest["train_end"]) == max(ends)


def test_mlflow_holds_the_run_its_metrics_and_a_new_model_version_per_run(
    runs: dict[str, TrainingRunResult], workspace: Path
) -> None:
    uri = f"sqlite:///{workspace / 'runs' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run = client.get_run(runs["first"].mlflow_run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "first"
    assert {"h1.roc_auc", "h5.ece_uniform", "h1.raw.accuracy"} <= set(run.data.metrics)
    assert run.data.params["family"] == "logreg"
    for h in HORIZONS:
        versions = [runs[name].model_versions[h] for name in ("first", "again", "searched")]
        assert versions == [(f"alphagate-logreg-h{h}", v) for v in (1, 2, 3)]
        registered = client.get_model_version(f"alphagate-logreg-h{h}", "1")
        assert registered.run_id == runs["first"].mlflow_run_id
    searched = client.get_run(runs["searched"].mlflow_run_id)
    assert "h1.C" in searched.data.params


def test_the_search_ran_its_trials_and_its_best_parameters_were_trained(
    runs: dict[str, TrainingRunResult], workspace: Path
) -> None:
    entry = runs["searched"].manifest["per_horizon"]["1"]
    assert entry["search"]["n_trials"] == 2
    assert entry["params"] == entry["search"]["best_params"]
    assert set(entry["params"]) == {"C"}
    assert (workspace / "runs" / "optuna.db").is_file()
    assert runs["first"].manifest["per_horizon"]["1"]["search"] is None


def test_the_same_seed_and_config_give_identical_holdout_predictions(
    runs: dict[str, TrainingRunResult],
) -> None:
    for h in HORIZONS:
        first = pd.read_parquet(runs["first"].directory / f"h{h}" / "holdout_predictions.parquet")
        again = pd.read_parquet(runs["again"].directory / f"h{h}" / "holdout_predictions.parquet")
        pd.testing.assert_frame_equal(first, again, check_exact=True)


def test_an_existing_stage_is_never_overwritten(
    runs: dict[str, TrainingRunResult],
    settings: Settings,
    two_symbol_bars: pd.DataFrame,
    workspace: Path,
) -> None:
    before = (runs["first"].directory / "manifest.json").read_bytes()
    with pytest.raises(AlphagateError, match="already exists"):
        run_training(
            settings, two_symbol_bars, family="logreg", runs_dir=workspace / "runs", run_id="first"
        )
    assert (runs["first"].directory / "manifest.json").read_bytes() == before


def test_a_failing_run_leaves_no_stage_and_no_temporary_directory(
    settings: Settings, two_symbol_bars: pd.DataFrame, workspace: Path
) -> None:
    with pytest.raises(ValueError, match="no sample left"):
        run_training(
            settings,
            two_symbol_bars.iloc[:40],
            family="logreg",
            horizons=(1,),
            runs_dir=workspace / "runs",
            run_id="broken",
        )
    assert list((workspace / "runs" / "broken").iterdir()) == []
