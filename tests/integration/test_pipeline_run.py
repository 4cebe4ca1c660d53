"""The concrete pipeline in process on synthetic bars: every stage's files, the backtest hook."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from alphagate.app import pipeline as pipeline_app
from alphagate.app import review
from alphagate.cli.root import cli
from alphagate.config import Settings
from alphagate.pipeline import PipelineResult
from alphagate.pipeline.manifest import directory_hash
from alphagate.runs import find_run

STAGES = [
    "data", "features", "labels", "train", "calibrate", "backtest", "validate", "stress", "report",
    "candidate",
]  # fmt: skip


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pipeline-run")


def configuration(workspace: Path) -> dict[str, Any]:
    """The run's settings as a config file holds them, for the API and the CLI alike."""
    return {
        "data": {
            "dir": str(workspace / "data"),
            "source": "synthetic",
            "synthetic": {"symbols": ["AAA", "BBB"], "start": "2016-01-01", "end": "2019-06-30"},
        },
        "features": {"cache_dir": str(workspace / "features"), "profile": "short"},
        "labels": {"horizons": [1, 5], "barriers_file": str(workspace / "global-barriers.json")},
        "storage": {
            "database_url": f"sqlite:///{workspace / 'state.db'}",
            "trading_database_url": f"sqlite:///{workspace / 'trading.db'}",
        },
        "risk": {"kill_switch_state": str(workspace / "kill_switch.json")},
        "gates": {"stop_file": str(workspace / "gates.stop")},
        "pipeline": {"runs_dir": str(workspace / "runs"), "model": "logreg"},
    }


@pytest.fixture(scope="module")
def settings(workspace: Path) -> Settings:
    return Settings.model_validate(configuration(workspace))


def run_cli(workspace: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """``alphagate --config <the run's settings> ARGS`` in the workspace; its output."""
    monkeypatch.chdir(workspace)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    config = workspace / "config.yaml"
    config.write_text(yaml.safe_dump(configuration(workspace)), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.output


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
        "candidate/candidate.json",
        "gates/backtest/metrics.json",  # gate 1's own backtest, written by the candidate stage
    ):
        assert (run / path).is_file(), path
    expected = [*STAGES, "gates", ".lock", "run.json"]
    assert sorted(p.name for p in run.iterdir()) == sorted(expected)
    candidate = json.loads((run / "candidate" / "candidate.json").read_text(encoding="utf-8"))
    assert candidate["candidate_id"] == "syn" and candidate["reason"]


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
    directory = find_run(settings.pipeline.runs_dir, "syn").train_dir
    evaluations = review.run_evaluations(settings.pipeline.runs_dir, "syn")
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


def test_the_cli_backtests_the_pipeline_run_by_id_as_its_backtest_stage_did(
    first: PipelineResult, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = first.run_dir / "backtest"
    asked = json.loads((stage / "model_backtest.json").read_text())
    out = workspace / "cli-backtest"
    run_cli(
        workspace,
        monkeypatch,
        "backtest",
        "--strategy", "model",
        "--run", "syn",
        "--runs-dir", str(first.run_dir.parent),
        "--commission-bps", str(asked["commission_bps"]),
        "--fill-model", asked["fill_model"],
        "--output", str(out),
    )  # fmt: skip

    # The stage loaded the run from its own folders; the command found it by id. Same
    # models and chosen calibrators give the same predictions, decisions and equity.
    for name in ("predictions.parquet", "decisions.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / name), pd.read_parquet(stage / name))
    assert len(pd.read_parquet(out / "decisions.parquet")) > 0
    assert (out / "equity.csv").read_bytes() == (stage / "equity.csv").read_bytes()
    summary = json.loads((out / "model_backtest.json").read_text())
    assert summary["run_id"] == "syn" and summary["cuts"] == asked["cuts"]


def test_evaluate_and_calibrate_read_a_pipeline_run_and_leave_its_stages_untouched(
    first: PipelineResult, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = first.run_dir
    raw = json.loads((run / "train" / "h5" / "evaluation.json").read_text())["raw"]
    chosen = json.loads((run / "calibrate" / "h5" / "evaluation.json").read_text())
    runs = ("--runs-dir", str(run.parent))

    shown = run_cli(workspace, monkeypatch, "evaluate", "--run", "syn", *runs)
    # The calibrated column is the calibrator the pipeline chose, the one its backtest uses.
    assert f"{raw['accuracy']:.4f} / {chosen['accuracy']:.4f}" in shown
    run_cli(workspace, monkeypatch, "calibrate", "--run", "syn", "--method", "sigmoid", *runs)

    fitted = json.loads((run / "review" / "h5" / "evaluation-sigmoid.json").read_text())
    assert 0.0 <= fitted["ece_uniform"] <= 1.0
    assert (run / "review" / "h1" / "calibrator-sigmoid.json").is_file()
    for name in ("train", "calibrate"):
        manifest = json.loads((run / name / "manifest.json").read_text())
        assert directory_hash(run / name) == manifest["output_hash"], name


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
    assert [o.status for o in rerun.outcomes] == ["cached"] * 5 + ["ran"] * 5
