"""`alphagate backtest` as a user runs it: outputs, report, and errors that explain themselves."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from alphagate.cli.root import cli, main


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    settings = {
        "data": {
            "dir": str(tmp_path / "data"),
            "synthetic": {"symbols": ["AAA"], "start": "2015-01-02", "end": "2017-12-29"},
        },
        "storage": {"database_url": f"sqlite:///{tmp_path / 'state.db'}"},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["--config", str(path), "data", "ingest", "--source", "synthetic"]
    )
    assert result.exit_code == 0, result.output
    return path


def test_a_backtest_writes_consistent_outputs_and_a_self_contained_report(
    config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bt"
    args = ["--config", str(config), "backtest", "--output", str(out), "--params", "fast=5,slow=20"]
    result = CliRunner().invoke(cli, [*args, "--commission-bps", "10"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "metrics.json",
        "equity.csv",
        "trades.csv",
        "orders.csv",
        "report.html",
        "manifest.json",
    }
    metrics = json.loads((out / "metrics.json").read_text())
    equity = pd.read_csv(out / "equity.csv")
    assert list(equity.columns) == ["ts", "equity"]
    assert metrics["total_return"] == pytest.approx(equity["equity"].iloc[-1] / 10_000 - 1)
    trades = pd.read_csv(out / "trades.csv")
    assert metrics["trades"] == trades["exit_ts"].notna().sum()  # closed round trips
    assert (trades["fees"] > 0).all()  # 10 bps on every fill
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script src=" not in html


def test_an_unknown_strategy_is_refused_with_a_suggestion(
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["alphagate", "--config", str(config), "backtest", "--output", str(tmp_path / "x")]
    monkeypatch.setattr(sys, "argv", [*argv, "--strategy", "sma_crosss"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "sma_cross" in err
    assert "Traceback" not in err


def test_an_unknown_symbol_names_what_is_stored(
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["alphagate", "--config", str(config), "backtest", "--output", str(tmp_path / "x")]
    monkeypatch.setattr(sys, "argv", [*argv, "--symbol", "NOPE"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    assert "NOPE" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_the_vector_engine_writes_what_the_event_engine_writes(
    config: Path, tmp_path: Path
) -> None:
    metrics = {}
    for engine in ("event", "vector"):
        out = tmp_path / engine
        args = ["--config", str(config), "backtest", "--output", str(out), "--symbols", "AAA"]
        result = CliRunner().invoke(cli, [*args, "--engine", engine, "--commission-bps", "10"])
        assert result.exit_code == 0, result.output
        metrics[engine] = json.loads((out / "metrics.json").read_text())
        assert (out / "report.html").exists()
    assert metrics["event"]["trades"] > 0
    numbers = {k: v for k, v in metrics["event"].items() if isinstance(v, float | int)}
    assert {k: metrics["vector"][k] for k in numbers} == pytest.approx(numbers, rel=1e-9)
    assert metrics["vector"].keys() == metrics["event"].keys()
    event_trades = pd.read_csv(tmp_path / "event" / "trades.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "vector" / "trades.csv"), event_trades)


def test_the_vector_engine_refuses_what_it_cannot_run_and_says_what_to_use(
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["alphagate", "--config", str(config), "backtest", "--output", str(tmp_path / "x")]
    for extra in (["--strategy", "buy_and_hold"], ["--fill-model", "conservative"]):
        monkeypatch.setattr(sys, "argv", [*argv, "--engine", "vector", *extra])
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert exit_info.value.code == 1
        err = capsys.readouterr().err
        assert "use --engine event" in err
        assert "Traceback" not in err
