"""`alphagate backtest` as a user runs it: outputs, report, and errors that explain themselves."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import alphagate
from alphagate.cli.root import cli, main

Refused = Callable[..., str]
"""Runs ``alphagate backtest`` into ``x/`` with more arguments, expects exit 1; returns stderr."""


@pytest.fixture
def refused(
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Refused:
    """A backtest as the installed script runs it, refused: exit status 1, stderr returned."""
    argv = ["alphagate", "--config", str(config), "backtest", "--output", str(tmp_path / "x")]

    def run(*extra: str) -> str:
        monkeypatch.setattr(sys, "argv", [*argv, *extra])
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert exit_info.value.code == 1
        return capsys.readouterr().err

    return run


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


def test_an_unknown_strategy_is_refused_with_a_suggestion(refused: Refused) -> None:
    err = refused("--strategy", "sma_crosss")
    assert "sma_cross" in err
    assert "Traceback" not in err


def test_an_unknown_symbol_names_what_is_stored(refused: Refused, tmp_path: Path) -> None:
    assert "NOPE" in refused("--symbol", "NOPE")
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
    refused: Refused,
) -> None:
    for extra in (["--strategy", "buy_and_hold"], ["--fill-model", "conservative"]):
        err = refused("--engine", "vector", *extra)
        assert "use --engine event" in err
        assert "Traceback" not in err


def run_backtest_cli(config: Path, out: Path, *extra: str) -> dict[str, Any]:
    """Run an SMA cross backtest into ``out``; return its metrics."""
    args = ["--config", str(config), "backtest", "--output", str(out), "--params", "fast=5,slow=20"]
    result = CliRunner().invoke(cli, [*args, *extra])
    assert result.exit_code == 0, result.output
    metrics: dict[str, Any] = json.loads((out / "metrics.json").read_text())
    return metrics


def manifest_of(out: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    return manifest


def test_a_set_risk_limit_refuses_the_orders_an_unguarded_run_trades(
    config: Path, tmp_path: Path
) -> None:
    guard = ("--set", "risk.guard_rule_strategies=true")
    free = run_backtest_cli(config, tmp_path / "free")
    guarded = run_backtest_cli(config, tmp_path / "guarded", *guard)
    capped = run_backtest_cli(
        config, tmp_path / "capped", *guard, "--set", "risk.max_position_weight=0.1"
    )

    assert free["trades"] > 0
    assert guarded["trades"] > 0
    # sma_cross goes all in: a 10 % position cap refuses every entry.
    assert capped["trades"] == 0
    equity = pd.read_csv(tmp_path / "capped" / "equity.csv")["equity"]
    assert (equity == 10_000).all()


def test_the_kill_switch_file_set_on_the_command_line_stops_all_trading(
    config: Path, tmp_path: Path
) -> None:
    stop = tmp_path / "STOP"
    stop.touch()

    metrics = run_backtest_cli(
        config,
        tmp_path / "halted",
        "--set",
        "risk.guard_rule_strategies=true",
        "--set",
        f"risk.kill_switch_file={stop}",
    )

    assert metrics["trades"] == 0


def test_the_manifest_names_config_data_code_and_strategy_and_its_hash_follows_set(
    config: Path, tmp_path: Path
) -> None:
    run_backtest_cli(config, tmp_path / "a")
    run_backtest_cli(config, tmp_path / "b", "--set", "execution.commission_bps=5")
    run_backtest_cli(config, tmp_path / "c", "--commission-bps", "5")
    run_backtest_cli(config, tmp_path / "d", "--start", "2016-01-01")
    a, b, c, d = (manifest_of(tmp_path / name) for name in "abcd")

    assert a["strategy"] == "sma_cross"
    assert a["params"] == {"fast": "5", "slow": "20", "engine": "event"}
    assert a["code_version"] == alphagate.code_version()
    assert re.fullmatch(r"[0-9a-f]{12}", str(a["config_hash"]))
    assert re.fullmatch(r"[0-9a-f]{64}", str(a["data_hash"]))
    assert b["config_hash"] != a["config_hash"]
    assert b["data_hash"] == a["data_hash"]
    # A flag and the --set it stands for run the same configuration.
    assert c["config_hash"] == b["config_hash"]
    assert d["data_hash"] != a["data_hash"]
    assert d["config_hash"] == a["config_hash"]


def test_set_after_the_subcommand_changes_the_fills(config: Path, tmp_path: Path) -> None:
    run_backtest_cli(config, tmp_path / "free")
    run_backtest_cli(config, tmp_path / "paid", "--set", "execution.commission_bps=10")

    free = pd.read_csv(tmp_path / "free" / "trades.csv")
    paid = pd.read_csv(tmp_path / "paid" / "trades.csv")
    assert (free["fees"] == 0).all()
    notional = paid["entry_price"] * paid["qty"]
    assert (paid["fees"] >= notional * 10 / 10_000 * (1 - 1e-9)).all()


def test_a_bad_set_key_after_the_subcommand_gets_a_suggestion(
    refused: Refused, tmp_path: Path
) -> None:
    err = refused("--set", "risk.max_postion_weight=0.1")
    assert "did you mean 'risk.max_position_weight'" in err
    assert not (tmp_path / "x").exists()


def test_set_latency_fills_each_entry_one_bar_later(config: Path, tmp_path: Path) -> None:
    run_backtest_cli(config, tmp_path / "now")
    run_backtest_cli(config, tmp_path / "late", "--set", "execution.latency_bars=1")

    equity = pd.read_csv(tmp_path / "now" / "equity.csv", parse_dates=["ts"])["ts"]
    now = pd.read_csv(tmp_path / "now" / "trades.csv", parse_dates=["entry_ts"])
    late = pd.read_csv(tmp_path / "late" / "trades.csv", parse_dates=["entry_ts"])
    first, later = now["entry_ts"].iloc[0], late["entry_ts"].iloc[0]
    assert later == equity[equity > first].iloc[0]  # the bar after the unlagged fill


USER_STRATEGIES = '''
class HalfIn:
    """Buy-and-hold written by a user: weight of equity, split equally, at the first bar."""

    def __init__(self, weight: float = 1.0) -> None:
        self.name = "half_in"
        self.weight = weight
        self.warmup = 0

    def on_bar(self, context):
        if context.positions:
            return None
        return {symbol: self.weight / len(context.history) for symbol in context.history}


class Forgetful:
    name = "forgetful"
    warmup = 0
'''


def test_a_users_strategy_file_runs_like_the_built_in_it_reimplements(
    config: Path, tmp_path: Path
) -> None:
    path = tmp_path / "mine" / "strategies.py"
    path.parent.mkdir()
    path.write_text(USER_STRATEGIES, encoding="utf-8")
    metrics = {}
    for name, strategy in (("user", f"{path}:HalfIn"), ("builtin", "buy_and_hold")):
        out = tmp_path / name
        args = ["--config", str(config), "backtest", "--output", str(out)]
        result = CliRunner().invoke(cli, [*args, "--strategy", strategy, "--params", "weight=0.5"])
        assert result.exit_code == 0, result.output
        metrics[name] = json.loads((out / "metrics.json").read_text())
    assert len(pd.read_csv(tmp_path / "user" / "trades.csv")) == 1  # bought once, still held
    assert metrics["user"]["total_return"] != 0.0
    assert metrics["user"].pop("strategy") == "half_in"  # the user's name, in every order id
    assert metrics["builtin"].pop("strategy") == "buy_and_hold"
    assert metrics["user"] == metrics["builtin"]


def test_a_users_class_without_on_bar_is_refused_before_any_output(
    refused: Refused, tmp_path: Path
) -> None:
    (tmp_path / "forgetful_h4.py").write_text(USER_STRATEGIES, encoding="utf-8")
    try:
        err = refused("--strategy", "forgetful_h4:Forgetful")
    finally:
        sys.modules.pop("forgetful_h4", None)
    assert "forgetful_h4:Forgetful is not a Strategy: it has no on_bar" in err
    assert "Traceback" not in err
    assert not (tmp_path / "x").exists()
