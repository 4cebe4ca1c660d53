"""`alphagate features build` and `labels build | calibrate`, checked against outside oracles."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib
import yaml
from typer.testing import CliRunner

from alphagate.cli.root import cli

SYMBOLS = ("AAA", "BBB")


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)


def write_config(tmp_path: Path, name: str, *, end: str = "2016-12-30", seed: int = 3) -> Path:
    root = tmp_path / name
    settings = {
        "data": {
            "dir": str(root / "data"),
            "synthetic": {
                "symbols": list(SYMBOLS),
                "start": "2014-01-02",
                "end": end,
                "seed": seed,
            },
        },
        "features": {"cache_dir": str(root / "cache")},
        "labels": {"barriers_file": str(root / "barriers.json"), "barrier_horizon": 10},
        "storage": {"database_url": f"sqlite:///{root / 'state.db'}"},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def run(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def stored_bars(config: Path) -> pd.DataFrame:
    out = run(config, "data", "query", "SELECT * FROM bars ORDER BY symbol, ts", "--format", "json")
    frame = pd.DataFrame(json.loads(out))
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def test_features_match_ta_lib_per_symbol_and_start_with_symbol_and_ts(tmp_path: Path) -> None:
    config = write_config(tmp_path, "a")
    run(config, "data", "ingest", "--source", "synthetic")
    output = tmp_path / "features.parquet"
    run(config, "features", "build", "--output", str(output), "--profile", "medium")
    features = pd.read_parquet(output)
    assert list(features.columns[:2]) == ["symbol", "ts"]
    bars = stored_bars(config)
    assert len(features) == len(bars)
    for symbol in SYMBOLS:
        closes = bars.loc[bars["symbol"] == symbol, "close"].to_numpy(dtype="float64")
        ours = features.loc[features["symbol"] == symbol, "rsi_14"].to_numpy()
        np.testing.assert_allclose(ours, talib.RSI(closes, 14), rtol=1e-12, equal_nan=True)


def test_features_from_an_input_file_equal_features_from_the_store(tmp_path: Path) -> None:
    config = write_config(tmp_path, "b")
    run(config, "data", "ingest", "--source", "synthetic")
    bars = stored_bars(config)
    bars_file = tmp_path / "bars.csv"
    flat = bars.assign(ts=bars["ts"].dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%d"))
    flat[["symbol", "ts", "open", "high", "low", "close", "volume"]].to_csv(bars_file, index=False)
    from_store, from_file = tmp_path / "store.parquet", tmp_path / "file.parquet"
    run(config, "features", "build", "--output", str(from_store))
    run(config, "features", "build", "--output", str(from_file), "--input", str(bars_file))
    pd.testing.assert_frame_equal(pd.read_parquet(from_store), pd.read_parquet(from_file))


def test_fixed_horizon_labels_are_forward_log_returns_known_at_t1(tmp_path: Path) -> None:
    config = write_config(tmp_path, "c")
    run(config, "data", "ingest", "--source", "synthetic")
    output = tmp_path / "labels.parquet"
    run(config, "labels", "build", "--output", str(output), "--horizons", "1,5")
    labels = pd.read_parquet(output)
    bars = stored_bars(config)
    for symbol in SYMBOLS:
        close = bars.loc[bars["symbol"] == symbol, "close"].reset_index(drop=True)
        ts = bars.loc[bars["symbol"] == symbol, "ts"].reset_index(drop=True)
        mine = labels.loc[labels["symbol"] == symbol].reset_index(drop=True)
        expected = np.log(close.shift(-5) / close)
        np.testing.assert_allclose(mine["ret_5"], expected, rtol=1e-12, equal_nan=True)
        assert mine["t1_5"].iloc[0] == ts.iloc[5]
        assert pd.isna(mine["t1_5"].iloc[-1])


def test_triple_barrier_labels_need_calibrated_or_given_barriers(tmp_path: Path) -> None:
    config = write_config(tmp_path, "d")
    run(config, "data", "ingest", "--source", "synthetic")
    output = tmp_path / "tb.parquet"
    refused = CliRunner().invoke(
        cli, ["--config", str(config), "labels", "build", "--kind", "triple", "--output", "x"]
    )
    assert refused.exit_code != 0
    assert "labels calibrate" in str(refused.exception)
    run(
        config,
        "labels",
        "build",
        "--kind",
        "triple",
        "--output",
        str(output),
        "--pt",
        "1",
        "--sl",
        "1",
    )
    labels = pd.read_parquet(output)
    assert set(labels["label"].dropna().unique()) <= {-1, 0, 1}
    known = labels.dropna(subset=["t1"])
    assert (known["t1"] > known["ts"]).all()


def test_barrier_calibration_never_reads_past_the_training_end(tmp_path: Path) -> None:
    config = write_config(tmp_path, "e")
    run(config, "data", "ingest", "--source", "synthetic")
    bars = stored_bars(config)
    bars["ts"] = bars["ts"].dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%d")
    columns = ["symbol", "ts", "open", "high", "low", "close", "volume"]
    original, altered = tmp_path / "original.csv", tmp_path / "altered.csv"
    bars[columns].to_csv(original, index=False)
    # Same history up to the training end, then a wild, different future.
    later = bars["ts"] > "2015-06-30"
    prices = ["open", "high", "low", "close"]
    factor = np.exp(np.cumsum(np.random.default_rng(9).normal(0, 0.05, later.sum())))
    bars.loc[later, prices] = bars.loc[later, prices].mul(factor, axis=0)
    bars[columns].to_csv(altered, index=False)
    chosen = []
    for path in (original, altered):
        run(config, "labels", "calibrate", "--train-end", "2015-06-30", "--input", str(path))
        chosen.append(json.loads((tmp_path / "e" / "barriers.json").read_text()))
    assert chosen[0] == chosen[1]
    assert chosen[0]["horizon"] == 10
    run(config, "labels", "calibrate", "--train-end", "2016-12-30", "--input", str(altered))
    whole = json.loads((tmp_path / "e" / "barriers.json").read_text())
    assert whole["class_shares"] != chosen[0]["class_shares"]  # the check is not vacuous


def test_train_writes_a_run_and_reports_holdout_metrics(tmp_path: Path) -> None:
    config = write_config(tmp_path, "t")
    run(config, "data", "ingest", "--source", "synthetic")
    runs = tmp_path / "runs"
    out = run(
        config,
        "train",
        "--model",
        "logreg",
        "--horizons",
        "1",
        "--runs-dir",
        str(runs),
        "--run-id",
        "r1",
    )
    assert "alphagate-logreg-h1 v1" in out
    manifest = json.loads((runs / "r1" / "train" / "manifest.json").read_text())
    holdout = manifest["per_horizon"]["1"]["holdout"]
    assert 0.0 <= holdout["accuracy"] <= 1.0
    assert f"{holdout['accuracy']:.4f}" in out
    assert (runs / "r1" / "train" / "h1" / "reliability.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_and_recalibrate_a_finished_run_without_reading_holdout_labels(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, "v")
    run(config, "data", "ingest", "--source", "synthetic")
    runs = tmp_path / "runs"
    train_args = ["train", "--model", "logreg", "--horizons", "1", "--runs-dir", str(runs)]
    run(config, *train_args, "--run-id", "r2")
    stage = runs / "r2" / "train"
    saved = json.loads((stage / "h1" / "evaluation.json").read_text())
    shown = run(config, "evaluate", "--run", "r2", "--runs-dir", str(runs))
    assert f"{saved['raw']['accuracy']:.4f} / {saved['calibrated']['accuracy']:.4f}" in shown
    run(config, "calibrate", "--run", "r2", "--method", "sigmoid", "--runs-dir", str(runs))
    first = (stage / "h1" / "calibrator-sigmoid.json").read_text()
    # Scramble the holdout labels: a calibrator fitted on out-of-fold data must not move.
    holdout_file = stage / "h1" / "holdout_predictions.parquet"
    holdout = pd.read_parquet(holdout_file)
    holdout["y"] = 1 - holdout["y"]
    holdout.to_parquet(holdout_file, index=False)
    run(config, "calibrate", "--run", "r2", "--method", "sigmoid", "--runs-dir", str(runs))
    assert (stage / "h1" / "calibrator-sigmoid.json").read_text() == first
    evaluation = json.loads((stage / "h1" / "evaluation-sigmoid.json").read_text())
    assert 0.0 <= evaluation["ece_uniform"] <= 1.0
