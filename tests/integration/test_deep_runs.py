"""Deep runs end to end at tiny sizes: online equals batch, an ensemble with a net backtests.

* A tiny ``nbeats`` run on a slice of the bundled ^GSPC bars: the online
  predictor (one row per bar, the model's stream keeping the window) must give
  the batch predictions of a model backtest, to 1e-12.
* An ensemble of ``lightgbm`` and a tiny ``nbeats`` trains through
  ``alphagate train`` (``--set pipeline.deep.*`` sizes the net inside the
  ensemble), backtests through ``alphagate backtest --strategy model --run``,
  gives the same orders with the online predictor, and logs the net's epochs
  to MLflow through the run's tracker.
* The same ensemble through the pipeline (``pipeline.model: ensemble``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from alphagate.app import pipeline as pipeline_app
from alphagate.app.model_backtest import (
    ModelBacktestRequest,
    holdout_cuts,
    load_trained_run,
    online_predictor,
    out_of_sample_predictions,
    run_model_backtest,
    training_bars,
)
from alphagate.app.research import build_feature_frame, load_bars
from alphagate.app.train import run_training
from alphagate.cli.root import cli
from alphagate.config import Settings
from alphagate.domain.strategy import SymbolHistory
from alphagate.models.deep.model import DeepModel
from alphagate.models.ensemble import EnsembleModel
from alphagate.testing import bundled_bars

SYMBOL = "^GSPC"
TINY: dict[str, Any] = {
    "window": 4,
    "hidden_size": 4,
    "heads": 2,
    "blocks": 1,
    "epochs": 2,
    "batch_size": 256,
    "device": "cpu",
    "threads": 1,
}


def _tiny_overrides() -> list[str]:
    return [arg for k, v in TINY.items() for arg in ("--set", f"pipeline.deep.{k}={v}")]


@pytest.fixture(scope="module")
def deep_settings(workspace: Path) -> Settings:
    return Settings.model_validate(
        {
            "features": {"cache_dir": workspace / "features"},
            "storage": {"database_url": f"sqlite:///{workspace / 'state.db'}"},
            "pipeline": {"deep": TINY},
        }
    )


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return bundled_bars([SYMBOL], start="2012-01-01", end="2016-06-30")


def online_frame(predictor: Any, bars: pd.DataFrame) -> pd.DataFrame:
    """The predictor shown ``bars`` one close at a time, its answers on the bars' index."""
    ts = pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8
    columns = [bars[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")]
    rows = []
    for i, t in enumerate(ts):
        seen = {SYMBOL: SymbolHistory(ts[: i + 1], *(c[: i + 1] for c in columns))}
        rows.append(predictor.predict(int(t), [SYMBOL], seen)[SYMBOL])
    return pd.DataFrame(rows, index=bars.index, columns=list(predictor.columns), dtype=np.float64)


def test_online_deep_predictions_equal_the_batch_ones(
    workspace: Path, deep_settings: Settings, bars: pd.DataFrame
) -> None:
    runs = workspace / "runs"
    run_training(deep_settings, bars, family="nbeats", horizons=(5,), runs_dir=runs, run_id="nb")
    trained = load_trained_run(runs, "nb")
    assert isinstance(trained.horizons[5].model, DeepModel)
    features = build_feature_frame(deep_settings, bars, None)
    cuts = holdout_cuts(deep_settings, training_bars(bars, trained.manifest), features, trained)
    batch = out_of_sample_predictions(trained, features, cuts)
    ts = bars.index.get_level_values("ts")
    predictor = online_predictor(deep_settings, trained, cuts)
    predictor.warm_up(bars.loc[ts < cuts[5]])
    online = online_frame(predictor, bars.loc[ts >= cuts[5]])
    expected = batch.loc[online.index, "nbeats_h5"]
    made = expected.notna().to_numpy()
    assert made.sum() > 100
    assert np.ptp(expected.to_numpy()[made]) > 1e-6  # a constant net would prove nothing
    np.testing.assert_array_equal(online["nbeats_h5"].notna().to_numpy(), made)
    gap = np.abs(online["nbeats_h5"].to_numpy()[made] - expected.to_numpy()[made])
    assert gap.max() <= 1e-12


def _configuration(root: Path) -> dict[str, Any]:
    return {
        "data": {
            "dir": str(root / "data"),
            "source": "synthetic",
            "synthetic": {"symbols": ["AAA", "BBB"], "start": "2016-01-04", "end": "2018-12-31"},
        },
        "features": {"cache_dir": str(root / "features"), "profile": "short"},
        "labels": {"horizons": [5], "barriers_file": str(root / "barriers.json")},
        "storage": {"database_url": f"sqlite:///{root / 'state.db'}"},
        "pipeline": {"runs_dir": str(root / "runs")},
    }


def test_an_ensemble_with_a_net_trains_backtests_and_logs_its_epochs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    configuration = _configuration(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(configuration), encoding="utf-8")
    runner = CliRunner()
    base = ["--config", str(config)]
    result = runner.invoke(cli, [*base, "data", "ingest", "--source", "synthetic"])
    assert result.exit_code == 0, result.output
    train = ["train", "--model", "ensemble", "--members", "lightgbm,nbeats", "--horizons", "5"]
    train += ["--run-id", "ens", *_tiny_overrides()]
    result = runner.invoke(cli, [*base, *train])
    assert result.exit_code == 0, result.output + repr(result.exception)
    model_dir = tmp_path / "runs" / "ens" / "train" / "h5" / "model"
    sidecar = json.loads((model_dir / "member-1-nbeats" / "model.json").read_text())
    assert sidecar["params"]["hidden_size"] == TINY["hidden_size"]  # --set reached the member
    history = sidecar["history"]
    assert 1 <= len(history) <= TINY["epochs"]

    args = ["backtest", "--strategy", "model", "--run", "ens", "--output", "bt"]
    result = runner.invoke(cli, [*base, *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    predictions = pd.read_parquet(tmp_path / "bt" / "predictions.parquet")
    assert predictions["ensemble_h5"].notna().sum() > 50

    settings = Settings.model_validate({**configuration, "pipeline": {"deep": TINY}})
    runs = tmp_path / "runs"
    trained = load_trained_run(runs, "ens")
    assert isinstance(trained.horizons[5].model, EnsembleModel)
    bars = load_bars(settings)
    outcomes = {
        kind: run_model_backtest(
            settings,
            bars,
            ModelBacktestRequest(run_id="ens", runs_dir=runs, predictor=kind),
            tmp_path / f"out-{kind}",
            settings.data.calendar,
            trained=trained,
        )
        for kind in ("batch", "online")
    }
    assert len(outcomes["batch"].result.orders) > 0
    pd.testing.assert_frame_equal(outcomes["online"].result.orders, outcomes["batch"].result.orders)

    uri = f"sqlite:///{runs / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    run_id = json.loads((runs / "ens" / "train" / "manifest.json").read_text())["mlflow"]["run_id"]
    logged = client.get_metric_history(run_id, "h5.member-1-nbeats.val_loss")
    expected = [(r["epoch"], r["val_loss"]) for r in history]
    assert sorted((m.step, m.value) for m in logged) == expected


def test_the_pipeline_trains_and_backtests_an_ensemble_with_a_net(tmp_path: Path) -> None:
    configuration = _configuration(tmp_path)
    configuration["pipeline"] |= {"model": "ensemble", "members": ["lightgbm", "nbeats"]}
    configuration["pipeline"]["deep"] = TINY
    settings = Settings.model_validate(configuration)
    result = pipeline_app.run(settings, pipeline_app.selection_of(settings), run_id="ens")
    assert [o.status for o in result.outcomes] == ["ran"] * len(result.outcomes)
    member = result.run_dir / "train" / "h5" / "model" / "member-1-nbeats" / "model.json"
    assert json.loads(member.read_text())["params"]["window"] == TINY["window"]
    assert (result.run_dir / "backtest").is_dir()
