"""An ensemble run end to end: ``train --model ensemble --members``, then ``backtest --run`` of it.

The online predictor must give the batch numbers for an ensemble too, whose
weights depend on earlier bars: it keeps one stream per horizon
(``EnsembleModel.stream``) fed in the order the batch path reads the rows.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from alphagate.app.model_backtest import (
    holdout_cuts,
    load_trained_run,
    online_predictor,
    out_of_sample_predictions,
    training_bars,
)
from alphagate.app.research import build_feature_frame
from alphagate.app.train import run_training
from alphagate.cli.root import cli
from alphagate.config import Settings
from alphagate.domain.strategy import SymbolHistory
from alphagate.errors import AlphagateError
from alphagate.models.ensemble import EnsembleModel
from alphagate.testing import synthetic_bars

SYMBOLS = ["AAA", "BBB"]


def test_online_ensemble_predictions_equal_the_batch_ones(
    workspace: Path, settings: Settings
) -> None:
    bars = synthetic_bars(SYMBOLS, "2016-01-01", "2018-12-31")
    runs = workspace / "runs"
    run_training(
        settings,
        bars,
        family="ensemble",
        members=["logreg", "lightgbm"],
        horizons=(1, 5),
        runs_dir=runs,
        run_id="ens",
    )
    trained = load_trained_run(runs, "ens")
    assert all(isinstance(h.model, EnsembleModel) for h in trained.horizons.values())
    features = build_feature_frame(settings, bars, None)
    cuts = holdout_cuts(settings, training_bars(bars, trained.manifest), features, trained)
    batch = out_of_sample_predictions(trained, features, cuts)
    start = min(cuts.values())
    ts_level = bars.index.get_level_values("ts")
    predictor = online_predictor(settings, trained, cuts)
    predictor.warm_up(bars.loc[ts_level < start])
    later = bars.loc[ts_level >= start]
    arrays = {
        symbol: (
            pd.DatetimeIndex(rows.index.get_level_values("ts")).as_unit("ns").asi8,
            [rows[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")],
        )
        for symbol, rows in later.groupby(level="symbol")
    }
    rows = []
    for stamp in pd.DatetimeIndex(later.index.get_level_values("ts").unique()).sort_values():
        t = stamp.as_unit("ns").value
        seen = {}
        for symbol, (ts, columns) in arrays.items():
            n = int(np.searchsorted(ts, t, side="right"))
            seen[symbol] = SymbolHistory(ts[:n], *(c[:n] for c in columns))
        for symbol, values in predictor.predict(t, SYMBOLS, seen).items():
            rows.append({"symbol": symbol, "ts": stamp, **values})
    online = pd.DataFrame(rows).set_index(["symbol", "ts"])
    expected = batch.reindex(online.index)
    assert list(expected.columns) == ["ensemble_h1", "ensemble_h5"]
    for column in expected.columns:
        made = expected[column].notna().to_numpy()
        assert made.sum() > 100
        np.testing.assert_array_equal(online[column].notna().to_numpy(), made, column)
        gap = np.abs(online[column].to_numpy()[made] - expected[column].to_numpy()[made])
        assert gap.max() <= 1e-12, column


def test_an_ensemble_refuses_a_search_and_members_go_only_with_it(
    workspace: Path, settings: Settings
) -> None:
    bars = synthetic_bars(["AAA"], "2016-01-01", "2016-12-31")
    with pytest.raises(AlphagateError, match="no search space"):
        run_training(settings, bars, family="ensemble", members=["logreg"], trials=2)
    with pytest.raises(AlphagateError, match="members are for --model ensemble"):
        run_training(settings, bars, family="logreg", members=["logreg"])


def _flat(output: str) -> str:
    """The CLI's error box as one line: frames and wrapping removed."""
    return " ".join(output.replace("│", " ").split())


def test_the_cli_trains_an_ensemble_then_backtests_its_run(
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
    train = ["train", "--model", "ensemble", "--horizons", "1,5", "--run-id", "ens"]
    result = runner.invoke(cli, [*base, "data", "ingest", "--source", "synthetic"])
    assert result.exit_code == 0, result.output
    refused = runner.invoke(cli, [*base, *train, "--members", "logreg,lightgmb"])
    assert refused.exit_code != 0 and "did you mean 'lightgbm'" in _flat(refused.output)
    itself = runner.invoke(cli, [*base, *train, "--members", "logreg,ensemble"])
    assert itself.exit_code != 0 and "its own member" in _flat(itself.output)
    result = runner.invoke(cli, [*base, *train, "--members", "logreg,lightgbm"])
    assert result.exit_code == 0, result.output
    model_dir = tmp_path / "runs" / "ens" / "train" / "h5" / "model"
    assert (model_dir / "member-0-logreg" / "model.json").is_file()
    assert (model_dir / "member-1-lightgbm" / "model.json").is_file()
    args = ["backtest", "--strategy", "model", "--run", "ens", "--output", "bt"]
    result = runner.invoke(cli, [*base, *args])
    assert result.exit_code == 0, result.output
    predictions = pd.read_parquet(tmp_path / "bt" / "predictions.parquet")
    assert {"ensemble_h1", "ensemble_h5"} <= set(predictions.columns)
    assert predictions["ensemble_h5"].notna().sum() > 50
    # The same run with predictions computed bar by bar, as paper trading computes them.
    online = runner.invoke(cli, [*base, *args[:-1], "bt-online", "--predictor", "online"])
    assert online.exit_code == 0, online.output
    online_decisions = pd.read_parquet(tmp_path / "bt-online" / "decisions.parquet")
    batch_decisions = pd.read_parquet(tmp_path / "bt" / "decisions.parquet")
    assert len(online_decisions) == len(batch_decisions) > 0
    gap = (online_decisions["p:ensemble_h5"] - batch_decisions["p:ensemble_h5"]).abs().max()
    assert gap <= 1e-12
    # Tied predictions a last bit apart rank as ties, so the orders are the same.
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "bt-online" / "orders.csv"),
        pd.read_csv(tmp_path / "bt" / "orders.csv"),
    )
    refused = runner.invoke(cli, [*base, "backtest", "--output", "x", "--predictor", "online"])
    assert refused.exit_code != 0 and "--predictor go with --strategy model" in refused.output
