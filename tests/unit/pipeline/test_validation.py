"""The validation checks: pass, fail and missing for each, and the verdict they add up to."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alphagate.config import ValidationConfig
from alphagate.features.profiles import build_features
from alphagate.gates.deflated_sharpe import deflated_sharpe_ratio, return_moments
from alphagate.gates.validation import (
    MISSING,
    Check,
    ValidationReport,
    backtest_checks,
    compare,
    deflated_sharpe_check,
    leakage_check,
    model_checks,
)
from alphagate.testing import synthetic_bars

LIMITS = ValidationConfig()
GOOD_BACKTEST = {"sharpe": 1.2, "max_drawdown": -0.12, "win_rate": 0.55, "trades": 40}


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


# ------------------------------------------------------------------ compare


@pytest.mark.parametrize(
    ("value", "threshold", "comparison", "passed"),
    [
        (0.6, 0.5, ">", True),
        (0.5, 0.5, ">", False),  # thresholds are strict
        (0.4, 0.5, ">", False),
        (0.2, 0.25, "<", True),
        (0.25, 0.25, "<", False),
        (0.0, 0.0, "==", True),
        (1.0, 0.0, "==", False),
    ],
)
def test_compare_applies_the_strict_rule(
    value: float, threshold: float, comparison: str, passed: bool
) -> None:
    check = compare("x", value, threshold, comparison, "somewhere")  # type: ignore[arg-type]

    assert check.passed is passed
    assert (check.value, check.threshold, check.comparison) == (value, threshold, comparison)


@pytest.mark.parametrize("value", [None, math.nan, math.inf])
def test_an_undefined_value_fails_and_never_passes(value: float | None) -> None:
    check = compare("sharpe", value, 0.5, ">", "backtest")

    assert check.passed is False
    assert check.value is None
    assert "undefined" in check.detail


# ------------------------------------------------------------------ backtest checks


def test_backtest_checks_pass_on_good_metrics_and_report_the_drawdown_size() -> None:
    checks = by_name(backtest_checks(GOOD_BACKTEST, LIMITS))

    assert {name: c.passed for name, c in checks.items()} == {
        "sharpe": True,
        "max_drawdown": True,
        "win_rate": True,
    }
    assert checks["max_drawdown"].value == pytest.approx(0.12)
    assert "40 trade(s)" in checks["win_rate"].detail


@pytest.mark.parametrize(
    ("key", "value", "failing"),
    [
        ("sharpe", 0.3, "sharpe"),
        ("max_drawdown", -0.31, "max_drawdown"),
        ("win_rate", 0.40, "win_rate"),
        ("win_rate", None, "win_rate"),  # no trades: no win rate, cannot pass
    ],
)
def test_each_backtest_check_fails_alone_when_its_metric_misses(
    key: str, value: float | None, failing: str
) -> None:
    checks = by_name(backtest_checks({**GOOD_BACKTEST, key: value}, LIMITS))

    assert [name for name, c in checks.items() if c.passed is not True] == [failing]
    assert checks[failing].passed is False


def test_backtest_checks_are_missing_without_metrics() -> None:
    checks = backtest_checks(None, LIMITS)

    assert [c.name for c in checks] == ["sharpe", "max_drawdown", "win_rate"]
    assert all(c.passed == MISSING and c.value is None for c in checks)
    assert all("backtest/metrics.json" in c.detail for c in checks)


def test_thresholds_come_from_the_configuration() -> None:
    strict = ValidationConfig(min_sharpe=1.5, max_drawdown=0.1, min_win_rate=0.6)

    checks = by_name(backtest_checks(GOOD_BACKTEST, strict))

    assert all(c.passed is False for c in checks.values())
    assert checks["sharpe"].threshold == 1.5


# ------------------------------------------------------------------ model checks


def test_model_checks_judge_every_horizon_separately() -> None:
    evaluations = {
        5: {"accuracy": 0.55, "ece_uniform": 0.04},
        1: {"accuracy": 0.51, "ece_uniform": 0.12},
    }

    checks = model_checks(evaluations, LIMITS, "calibrate")

    assert [(c.name, c.passed) for c in checks] == [
        ("accuracy_h1", False),
        ("ece_h1", False),
        ("accuracy_h5", True),
        ("ece_h5", True),
    ]
    assert checks[0].value == 0.51
    assert "horizon 1" in checks[0].detail


def test_model_checks_fail_on_a_missing_metric_and_are_missing_without_evaluations() -> None:
    [accuracy, ece] = model_checks({1: {"accuracy": None}}, LIMITS, "calibrate")
    assert (accuracy.passed, ece.passed) == (False, False)

    absent = model_checks({}, LIMITS, "calibrate stage")
    assert [(c.name, c.passed) for c in absent] == [("accuracy", MISSING), ("ece", MISSING)]


# ------------------------------------------------------------------ deflated Sharpe


def test_the_deflated_sharpe_check_reports_the_dsr_of_the_returns() -> None:
    returns = np.random.default_rng(11).normal(0.002, 0.01, size=750)

    check = deflated_sharpe_check(returns, 4, LIMITS)

    expected = deflated_sharpe_ratio(return_moments(returns), 4)
    assert check.value == pytest.approx(expected)
    assert check.passed is (expected > 0.95)
    assert check.passed is True  # a Sharpe of ~3 a year over 3 years survives 4 trials
    assert "4 trial(s)" in check.detail


def test_the_deflated_sharpe_check_fails_a_lucky_strategy_after_many_trials() -> None:
    returns = np.random.default_rng(5).normal(0.0004, 0.01, size=250)

    one = deflated_sharpe_check(returns, 1, LIMITS)
    many = deflated_sharpe_check(returns, 1000, LIMITS)

    assert one.value is not None and many.value is not None
    assert many.value < one.value
    assert many.passed is False


def test_the_deflated_sharpe_check_is_missing_without_returns_or_trials() -> None:
    assert deflated_sharpe_check(None, 3, LIMITS).passed == MISSING
    assert deflated_sharpe_check([0.01, -0.01, 0.02], None, LIMITS).passed == MISSING


def test_the_deflated_sharpe_check_fails_on_constant_returns() -> None:
    check = deflated_sharpe_check([0.0] * 10, 3, LIMITS)

    assert check.passed is False
    assert "constant" in check.detail


# ------------------------------------------------------------------ leakage


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return synthetic_bars(["AAA", "BBB"], "2018-01-01", "2019-06-30")


def test_the_leakage_check_passes_the_point_in_time_feature_profile(bars: pd.DataFrame) -> None:
    check = leakage_check(lambda b: build_features(b, "short", calendar="XNYS"), bars, 3)

    assert (check.passed, check.value, check.threshold, check.comparison) == (True, 0.0, 0.0, "==")
    assert "3 cut(s)" in check.detail


def test_the_leakage_check_fails_a_feature_that_reads_the_next_bar(bars: pd.DataFrame) -> None:
    def leaky(frame: pd.DataFrame) -> pd.DataFrame:
        features = build_features(frame, "short", calendar="XNYS")
        features["next_close"] = frame["close"].groupby(level="symbol").shift(-1)
        return features

    check = leakage_check(leaky, bars, 3)

    assert check.passed is False
    assert check.value == 1.0
    assert "'next_close'" in check.detail


def test_the_leakage_check_fails_when_it_cannot_run(bars: pd.DataFrame) -> None:
    check = leakage_check(lambda b: b[["close"]] * 0 + math.nan, bars.iloc[:1], 3)

    assert check.passed is False
    assert "could not run" in check.detail


# ------------------------------------------------------------------ verdict


def check(name: str, passed: bool | str) -> Check:
    return Check(name, 1.0, 0.0, ">", passed)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("states", "verdict"),
    [
        ([True, True], "pass"),
        ([True, MISSING], "incomplete"),
        ([True, False], "fail"),
        ([False, MISSING, True], "fail"),
        ([MISSING, MISSING], "incomplete"),
        ([], "incomplete"),
    ],
)
def test_the_verdict_never_passes_with_a_missing_or_failed_check(
    states: list[bool | str], verdict: str
) -> None:
    report = ValidationReport(tuple(check(f"c{i}", s) for i, s in enumerate(states)))

    assert report.verdict == verdict


def test_the_report_json_holds_every_check_and_the_counts() -> None:
    report = ValidationReport((check("a", True), check("b", False), check("c", MISSING)))

    payload = report.to_json_dict()

    assert payload["verdict"] == "fail"
    assert payload["counts"] == {"passed": 1, "failed": 1, "missing": 1}
    assert [c["name"] for c in payload["checks"]] == ["a", "b", "c"]
    assert payload["checks"][2] == {
        "name": "c",
        "value": 1.0,
        "threshold": 0.0,
        "comparison": ">",
        "passed": "missing",
        "detail": "",
    }


def test_accuracy_must_beat_always_predicting_the_majority_class() -> None:
    # 60 % accuracy where 65 % of the holdout went up: no skill, whatever min_accuracy says.
    lucky = {"accuracy": 0.60, "ece_uniform": 0.01, "base_rate": 0.65}
    skilled = {"accuracy": 0.60, "ece_uniform": 0.01, "base_rate": 0.52}
    checks = {c.name: c for c in model_checks({1: lucky, 5: skilled}, LIMITS, "calibrate")}
    assert checks["accuracy_h1"].passed is True
    assert checks["accuracy_edge_h1"].passed is False
    assert checks["accuracy_edge_h1"].value == pytest.approx(-0.05)
    assert checks["accuracy_edge_h5"].passed is True
    assert "accuracy_edge_h1" not in {
        c.name for c in model_checks({1: skilled | {"base_rate": None}}, LIMITS, "x") if c.passed
    }
