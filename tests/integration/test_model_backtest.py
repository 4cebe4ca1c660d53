"""A tiny training run backtested out of sample: decision path, risk guard, outputs, ablation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from alphagate.adapters.sql import create_db_engine, load_risk_events
from alphagate.app.model_backtest import (
    ModelBacktestRequest,
    ModelBacktestResult,
    check_out_of_sample,
    run_model_backtest,
)
from alphagate.app.train import run_training
from alphagate.cli.root import cli
from alphagate.config import Settings, load_config
from alphagate.decision.settings import STEPS
from alphagate.errors import AlphagateError
from alphagate.testing import synthetic_bars

HORIZONS = (1, 5)
OUTPUT_FILES = {
    "metrics.json", "equity.csv", "trades.csv", "orders.csv", "report.html", "decisions.parquet",
    "risk_events.csv", "predictions.parquet", "model_backtest.json", "ablation.csv",
    "ablation.json", "manifest.json",
}  # fmt: skip


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return synthetic_bars(["AAA", "BBB"], "2016-01-01", "2019-12-31")


@pytest.fixture(scope="module")
def outcome(workspace: Path, settings: Settings, bars: pd.DataFrame) -> ModelBacktestResult:
    runs = workspace / "runs"
    run_training(settings, bars, family="logreg", horizons=HORIZONS, runs_dir=runs, run_id="tiny")
    request = ModelBacktestRequest(run_id="tiny", runs_dir=runs, ablate=True)
    return run_model_backtest(settings, bars, request, workspace / "out", "XNYS")


def test_every_decision_and_prediction_is_after_its_horizons_training_cut(
    outcome: ModelBacktestResult, workspace: Path
) -> None:
    stage = workspace / "runs" / "tiny" / "train"
    for h in HORIZONS:
        holdout = pd.read_parquet(stage / f"h{h}" / "holdout_predictions.parquet")
        trained_on = pd.read_parquet(stage / f"h{h}" / "oof.parquet")
        assert outcome.cuts[h] == holdout["ts"].min()
        assert trained_on["ts"].max() < outcome.cuts[h]
    decisions = outcome.decisions
    assert len(decisions) > 0
    assert (pd.to_datetime(decisions["ts"]) >= min(outcome.cuts.values())).all()
    for h in HORIZONS:
        chosen = decisions.loc[decisions["horizon"] == h, "ts"]
        assert (pd.to_datetime(chosen) >= outcome.cuts[h]).all()
    predictions = pd.read_parquet(workspace / "out" / "predictions.parquet")
    for h in HORIZONS:
        made = predictions.loc[predictions[f"logreg_h{h}"].notna(), "ts"]
        assert len(made) > 0 and (made >= outcome.cuts[h]).all()


def test_the_run_writes_every_output_and_the_trace_and_risk_events(
    outcome: ModelBacktestResult, workspace: Path, settings: Settings
) -> None:
    out = workspace / "out"
    assert {p.name for p in out.iterdir()} >= OUTPUT_FILES
    trace = pd.read_parquet(out / "decisions.parquet")
    assert len(trace) == len(outcome.decisions)
    assert {"blocked_by", "action", "conf:h1", "expected:h5"} <= set(trace.columns)
    summary = json.loads((out / "model_backtest.json").read_text())
    assert summary["run_id"] == "tiny" and summary["fill_model"] == "conservative"
    assert set(summary["cuts"]) == {"1", "5"}
    engine = create_db_engine(settings.storage.database_url)
    stored = load_risk_events(engine, run="tiny:out")
    engine.dispose()
    assert len(stored) == len(outcome.risk_events)
    assert len(pd.read_csv(out / "risk_events.csv")) == len(outcome.risk_events)


def test_the_ablation_has_the_baseline_and_one_row_per_step(
    outcome: ModelBacktestResult, workspace: Path
) -> None:
    table = outcome.ablation
    assert table is not None
    assert list(table["step_off"]) == ["none", *STEPS]
    assert table.loc[0, "sharpe"] == pytest.approx(outcome.result.metrics.sharpe, nan_ok=True)
    assert table.loc[0, "trades"] == outcome.result.metrics.trades
    written = json.loads((workspace / "out" / "ablation.json").read_text())
    assert [row["step_off"] for row in written] == ["none", *STEPS]
    assert set(written[0]) >= {"sharpe", "max_drawdown", "turnover", "trades"}


def test_a_prediction_inside_the_training_period_is_refused() -> None:
    ts = pd.date_range("2020-01-01", periods=3, tz="UTC")
    index = pd.MultiIndex.from_product([["AAA"], ts], names=["symbol", "ts"])
    predictions = pd.DataFrame({"m_h1": [float("nan"), 0.5, 0.6]}, index=index)
    check_out_of_sample(predictions, {"m_h1": ts[1]})  # a prediction at the cut is out of sample
    with pytest.raises(
        AlphagateError, match=r"a prediction at 2020-01-02.* before the training cut"
    ):
        check_out_of_sample(predictions, {"m_h1": ts[2]})


def test_bars_other_than_the_runs_training_bars_are_refused(
    outcome: ModelBacktestResult, workspace: Path, settings: Settings, bars: pd.DataFrame
) -> None:
    changed = bars.copy()
    changed.iloc[5, changed.columns.get_loc("close")] *= 1.01
    request = ModelBacktestRequest(run_id="tiny", runs_dir=workspace / "runs")
    with pytest.raises(AlphagateError, match="differ from run tiny's training bars"):
        run_model_backtest(settings, changed, request, workspace / "other", "XNYS")


def test_the_risk_and_decision_sections_reach_the_model_run_and_its_manifest(
    outcome: ModelBacktestResult, workspace: Path, settings: Settings, bars: pd.DataFrame
) -> None:
    stop = workspace / "STOP"
    stop.touch()
    overrides = [f"risk.kill_switch_file={stop}", "decision.protect.fibonacci=true"]
    changed = load_config([], environ={}, default_file=None, overrides=overrides)
    halted_settings = settings.model_copy(
        update={"risk": changed.risk, "decision": changed.decision}
    )
    request = ModelBacktestRequest(run_id="tiny", runs_dir=workspace / "runs")

    halted = run_model_backtest(halted_settings, bars, request, workspace / "halted", "XNYS")

    assert len(outcome.result.fill_records) > 0
    assert len(halted.result.fill_records) == 0
    assert any("kill switch" in event.reason for event in halted.risk_events)
    baseline = json.loads((workspace / "out" / "manifest.json").read_text())
    manifest = json.loads((workspace / "halted" / "manifest.json").read_text())
    assert manifest["strategy"] == "model"
    assert manifest["params"]["run_id"] == "tiny"
    assert manifest["params"]["protect"]["fibonacci"] is True
    assert baseline["params"]["protect"]["fibonacci"] is False
    assert manifest["execution"]["fill_model"] == "conservative"
    assert manifest["execution"]["units"] == "fractional"
    assert manifest["config_hash"] != baseline["config_hash"]
    assert manifest["data_hash"] == baseline["data_hash"]


def test_the_cli_trains_then_backtests_the_run_out_of_sample_with_an_ablation_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data": {
                    "dir": str(tmp_path / "data"),
                    "synthetic": {"symbols": ["AAA"], "start": "2016-01-04", "end": "2018-12-31"},
                },
                "storage": {"database_url": f"sqlite:///{tmp_path / 'state.db'}"},
            }
        ),
        encoding="utf-8",
    )
    runner = CliRunner()
    base = ["--config", str(config)]
    for args in (
        ["data", "ingest", "--source", "synthetic"],
        ["train", "--model", "logreg", "--horizons", "1,5", "--run-id", "cli"],
    ):
        result = runner.invoke(cli, [*base, *args])
        assert result.exit_code == 0, result.output
    refused = runner.invoke(cli, [*base, "backtest", "--output", "x", "--strategy", "model"])
    assert refused.exit_code != 0 and "--run" in refused.output
    args = ["backtest", "--strategy", "model", "--run", "cli", "--ablate", "--output", "bt"]
    result = runner.invoke(cli, [*base, *args])
    assert result.exit_code == 0, result.output
    assert "ablation" in result.output and "protect" in result.output
    assert (tmp_path / "bt" / "ablation.csv").is_file()
