"""The concrete pipeline in process on synthetic bars: every stage's files, the backtest hook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from alphagate.app import pipeline as pipeline_app
from alphagate.config import Settings
from alphagate.pipeline import PipelineResult
from alphagate.training import review as training_review

STAGES = ["data", "features", "labels", "train", "calibrate", "backtest", "validate", "report"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pipeline-run")


@pytest.fixture(scope="module")
def settings(workspace: Path) -> Settings:
    return Settings.model_validate(
        {
            "data": {
                "dir": workspace / "data",
                "source": "synthetic",
                "synthetic": {
                    "symbols": ["AAA", "BBB"],
                    "start": "2016-01-01",
                    "end": "2019-06-30",
                },
            },
            "features": {"cache_dir": workspace / "features", "profile": "short"},
            "labels": {"horizons": [1, 5], "barriers_file": workspace / "global-barriers.json"},
            "storage": {"database_url": f"sqlite:///{workspace / 'state.db'}"},
            "pipeline": {"runs_dir": workspace / "runs", "model": "logreg"},
        }
    )


@pytest.fixture(scope="module")
def first(settings: Settings) -> PipelineResult:
    return pipeline_app.run(settings, pipeline_app.selection_of(settings), run_id="syn")


def report(result: PipelineResult) -> dict[str, Any]:
    path = result.run_dir / "validate" / "validation_report.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_every_stage_ran_and_wrote_its_files(first: PipelineResult) -> None:
    assert [(o.name, o.status) for o in first.outcomes] == [(name, "ran") for name in STAGES]
    run = first.run_dir
    for path in (
        "data/bars.parquet",
        "data/coverage.json",
        "features/features.parquet",
        "labels/labels.parquet",
        "labels/barriers.json",
        "train/training.json",
        "train/h1/model/model.json",
        "train/h5/oof.parquet",
        "calibrate/choice.json",
        "calibrate/h1/calibrator.json",
        "calibrate/h5/evaluation.json",
        "backtest/metrics.json",
        "backtest/equity.csv",
        "backtest/benchmark_equity.csv",
        "backtest/decisions.parquet",
        "validate/validation_report.json",
        "report/report.html",
    ):
        assert (run / path).is_file(), path
    assert sorted(p.name for p in run.iterdir()) == sorted([*STAGES, ".lock", "run.json"])


def test_the_data_stage_records_coverage_of_the_snapshot(first: PipelineResult) -> None:
    coverage = json.loads((first.run_dir / "data" / "coverage.json").read_text())
    snapshot = pd.read_parquet(first.run_dir / "data" / "bars.parquet")

    assert sorted(coverage) == ["AAA", "BBB"]
    assert sum(item["rows"] for item in coverage.values()) == len(snapshot)
    assert coverage["AAA"]["first"].startswith("2016-01-04")
    assert coverage["AAA"]["last"].startswith("2019-06-28")


def test_labels_hold_fixed_and_triple_barrier_columns_and_leave_the_global_file_alone(
    first: PipelineResult, settings: Settings
) -> None:
    labels = pd.read_parquet(first.run_dir / "labels" / "labels.parquet")
    manifest = json.loads((first.run_dir / "labels" / "manifest.json").read_text())

    assert {"sign_1", "t1_1", "sign_5", "tb_label", "tb_t1"} <= set(labels.columns)
    assert pd.Timestamp(manifest["outputs"]["training_end"]) < pd.Timestamp("2019-01-01", tz="UTC")
    assert not settings.labels.barriers_file.exists()


def test_the_train_stage_is_a_training_run_that_evaluate_and_calibrate_can_read(
    first: PipelineResult, settings: Settings
) -> None:
    directory = training_review.stage_directory(settings.pipeline.runs_dir, "syn")
    evaluations = training_review.run_evaluations(directory)
    manifest = json.loads((directory / "manifest.json").read_text())

    assert sorted(evaluations) == [1, 5]
    assert manifest["outputs"]["n_trials"] == 2  # no search: one model per horizon
    assert manifest["outputs"]["family"] == "logreg"
    # The calibrate stage wrote its calibrators into its own folder, never into train/.
    assert not list(directory.glob("h*/calibrator-*.json"))


def test_the_calibrate_stage_records_its_choice_per_horizon(first: PipelineResult) -> None:
    choice = json.loads((first.run_dir / "calibrate" / "choice.json").read_text())

    assert sorted(choice) == ["h1", "h5"]
    for entry in choice.values():
        scores = entry["oof_cv_log_loss"]
        assert entry["method"] == min(scores, key=lambda k: scores[k])
        assert 0.0 <= entry["holdout"]["accuracy"] <= 1.0


def test_validation_judges_the_backtest_stage_and_hides_nothing(first: PipelineResult) -> None:
    checks = {c["name"]: c for c in report(first)["checks"]}
    metrics = json.loads((first.run_dir / "backtest" / "metrics.json").read_text())

    assert report(first)["verdict"] in ("pass", "fail")
    assert report(first)["counts"]["missing"] == 0
    assert checks["sharpe"]["value"] == metrics["sharpe"]
    assert checks["max_drawdown"]["value"] == pytest.approx(-metrics["max_drawdown"])
    assert checks["leakage"]["passed"] is True
    assert {"accuracy_h1", "accuracy_edge_h1", "ece_h1", "accuracy_h5", "ece_h5"} <= set(checks)
    assert all(c["passed"] in (True, False) for c in checks.values())
    assert report(first)["n_trials"] == 2


def test_the_backtest_is_out_of_sample_and_reported_against_buy_and_hold(
    first: PipelineResult,
) -> None:
    backtest = first.run_dir / "backtest"
    summary = json.loads((backtest / "model_backtest.json").read_text())
    decisions = pd.read_parquet(backtest / "decisions.parquet")
    earliest_cut = min(pd.Timestamp(c) for c in summary["cuts"].values())
    assert (pd.to_datetime(decisions["ts"], utc=True) >= earliest_cut).all()
    equity = pd.read_csv(backtest / "equity.csv")
    benchmark = pd.read_csv(backtest / "benchmark_equity.csv")
    assert list(equity["ts"]) == list(benchmark["ts"])
    page = (first.run_dir / "report" / "report.html").read_text(encoding="utf-8")
    assert "verdict" in page and "buy-and-hold" in page
    assert "http://" not in page and "https://" not in page


def test_a_changed_backtest_setting_reruns_only_the_stages_after_it(
    first: PipelineResult, settings: Settings
) -> None:
    again = pipeline_app.run(settings, pipeline_app.selection_of(settings), run_id="syn")
    assert [o.status for o in again.outcomes] == ["cached"] * len(STAGES)

    costly = settings.model_copy(
        update={
            "pipeline": settings.pipeline.model_copy(
                update={
                    "backtest": settings.pipeline.backtest.model_copy(
                        update={"commission_bps": 25.0}
                    )
                }
            )
        }
    )
    rerun = pipeline_app.run(costly, pipeline_app.selection_of(costly), run_id="syn")
    assert [o.status for o in rerun.outcomes] == ["cached"] * 5 + ["ran"] * 3
