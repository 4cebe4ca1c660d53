"""The validation gate: every check a candidate must pass, each with its evidence.

A report that hides a failure is worse than none, so the rules are strict:

* Every check states its value, threshold and comparison, and ``passed`` is
  ``True``, ``False`` or ``"missing"``.
* **Missing is never a pass.** A check whose input does not exist yet (the
  backtest metrics before a backtest stage ran) is ``"missing"``; the verdict
  is then at best ``"incomplete"``, never ``"pass"``.
* **Undefined is a failure.** A value that exists but cannot be judged (a
  Sharpe ratio of ``nan``, a win rate without trades) fails: "cannot judge"
  must not let a candidate through.
* Comparisons are strict, as the thresholds are stated ("Sharpe > 0.5").

Checks: backtest Sharpe, maximum drawdown and win rate; out-of-sample
accuracy and calibration error of every horizon; the deflated Sharpe ratio of
the backtest returns given the number of trials; and a look-ahead check of
the final feature set (``features.pit.assert_point_in_time``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphagate.config import ValidationConfig
from alphagate.features.pit import PointInTimeError, assert_point_in_time
from alphagate.gates.deflated_sharpe import deflated_sharpe_ratio, return_moments

Comparison = Literal[">", "<", "=="]
Passed = bool | Literal["missing"]
Verdict = Literal["pass", "fail", "incomplete"]
MISSING: Literal["missing"] = "missing"


@dataclass(frozen=True)
class Check:
    """One validation check and its evidence.

    Attributes
    ----------
    name
        Stable identifier (``sharpe``, ``accuracy_h5``, ``deflated_sharpe`` …).
    value
        What was measured, ``None`` when missing or undefined.
    threshold, comparison
        The rule: ``value <comparison> threshold`` passes.
    passed
        ``True``, ``False``, or ``"missing"`` when the input is absent.
    detail
        Where the value came from, or why it is missing or failed.
    """

    name: str
    value: float | None
    threshold: float
    comparison: Comparison
    passed: Passed
    detail: str = ""


def compare(
    name: str,
    value: float | None,
    threshold: float,
    comparison: Comparison,
    detail: str = "",
) -> Check:
    """Judge ``value <comparison> threshold``; ``None`` or non-finite values fail."""
    if value is None or not math.isfinite(value):
        why = "value is undefined, so it cannot pass"
        return Check(
            name, None, threshold, comparison, False, f"{detail}; {why}" if detail else why
        )
    holds = {">": value > threshold, "<": value < threshold, "==": value == threshold}[comparison]
    return Check(name, float(value), threshold, comparison, bool(holds), detail)


def missing(name: str, threshold: float, comparison: Comparison, why: str) -> Check:
    """A check whose input does not exist: reported, never passed."""
    return Check(name, None, threshold, comparison, MISSING, why)


def backtest_checks(metrics: Mapping[str, Any] | None, limits: ValidationConfig) -> list[Check]:
    """Sharpe, maximum drawdown and win rate from a backtest's ``metrics.json``.

    ``max_drawdown`` is stored as a negative fraction (-0.3 for a 30 % loss);
    the check compares its size, ``|max_drawdown| < limit``.
    """
    rules: list[tuple[str, str, float, Comparison]] = [
        ("sharpe", "sharpe", limits.min_sharpe, ">"),
        ("max_drawdown", "max_drawdown", limits.max_drawdown, "<"),
        ("win_rate", "win_rate", limits.min_win_rate, ">"),
    ]
    if metrics is None:
        why = "no backtest metrics (backtest/metrics.json) in this run"
        return [missing(name, threshold, op, why) for name, _, threshold, op in rules]
    checks = []
    for name, key, threshold, op in rules:
        raw = metrics.get(key)
        value = abs(float(raw)) if name == "max_drawdown" and raw is not None else raw
        detail = f"backtest metrics.json[{key!r}]"
        if name == "win_rate":
            detail += f" over {metrics.get('trades', '?')} trade(s)"
        checks.append(compare(name, None if value is None else float(value), threshold, op, detail))
    return checks


def model_checks(
    evaluations: Mapping[int, Mapping[str, Any]], limits: ValidationConfig, source: str
) -> list[Check]:
    """Out-of-sample accuracy, its edge over the base rate, and ECE of every horizon.

    ``evaluations`` maps each horizon to its holdout evaluation (keys
    ``accuracy`` and ``ece_uniform``, and ``base_rate``, the majority class's
    share of the holdout, when known); an empty mapping gives missing checks.
    """
    if not evaluations:
        why = f"no holdout evaluation found ({source})"
        return [
            missing("accuracy", limits.min_accuracy, ">", why),
            missing("ece", limits.max_ece, "<", why),
        ]
    checks = []
    for horizon in sorted(evaluations):
        scores = evaluations[horizon]
        where = f"{source}, horizon {horizon}, holdout"
        checks.append(
            compare(f"accuracy_h{horizon}", scores.get("accuracy"), limits.min_accuracy, ">", where)
        )
        if "base_rate" in scores:
            accuracy, base = scores.get("accuracy"), scores["base_rate"]
            edge = None if accuracy is None or base is None else accuracy - base
            checks.append(
                compare(
                    f"accuracy_edge_h{horizon}",
                    edge,
                    limits.min_accuracy_edge,
                    ">",
                    f"{where}: accuracy less the majority class's share ({_share(base)})",
                )
            )
        checks.append(
            compare(f"ece_h{horizon}", scores.get("ece_uniform"), limits.max_ece, "<", where)
        )
    return checks


def _share(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.3f}"


def deflated_sharpe_check(
    returns: Sequence[float] | npt.NDArray[np.float64] | None,
    n_trials: int | None,
    limits: ValidationConfig,
) -> Check:
    """The DSR of the backtest's per-period returns given ``n_trials`` trials."""
    name, threshold = "deflated_sharpe", limits.min_deflated_sharpe
    if returns is None:
        return missing(
            name, threshold, ">", "no backtest returns (backtest/equity.csv) in this run"
        )
    if n_trials is None:
        return missing(name, threshold, ">", "the number of trials is unknown")
    try:
        moments = return_moments(returns)
    except ValueError as error:
        return compare(name, None, threshold, ">", f"backtest returns: {error}")
    value = deflated_sharpe_ratio(moments, n_trials)
    detail = (
        f"{moments.n_obs} returns, per-period Sharpe {moments.sharpe:.4f}, skewness "
        f"{moments.skewness:.2f}, kurtosis {moments.kurtosis:.2f}, {n_trials} trial(s)"
    )
    return compare(name, value, threshold, ">", detail)


def leakage_check(
    build: Callable[[pd.DataFrame], pd.DataFrame], bars: pd.DataFrame, cuts: int
) -> Check:
    """Rebuild the features on bars cut at ``cuts`` instants and compare with the full build.

    The value is the number of leaking features found: 0 passes. The checker
    stops at the first mismatch, so a failure names one feature and the
    detail says which, where and by how much.
    """
    name = "leakage"
    try:
        assert_point_in_time(build, bars, cuts=cuts)
    except PointInTimeError as error:
        return Check(name, 1.0, 0.0, "==", False, str(error))
    except ValueError as error:
        return compare(name, None, 0.0, "==", f"the point-in-time check could not run: {error}")
    return Check(name, 0.0, 0.0, "==", True, f"features identical at {cuts} cut(s)")


@dataclass(frozen=True)
class ValidationReport:
    """All checks and the verdict they add up to."""

    checks: tuple[Check, ...]

    @property
    def verdict(self) -> Verdict:
        """``fail`` if any check failed, else ``incomplete`` if any is missing, else ``pass``."""
        states = [c.passed for c in self.checks]
        if any(state is False for state in states):
            return "fail"
        if any(state == MISSING for state in states) or not states:
            return "incomplete"
        return "pass"

    def counts(self) -> dict[str, int]:
        """How many checks passed, failed and are missing."""
        states = [c.passed for c in self.checks]
        return {
            "passed": sum(state is True for state in states),
            "failed": sum(state is False for state in states),
            "missing": sum(state == MISSING for state in states),
        }

    def to_json_dict(self) -> dict[str, Any]:
        """The report as written to ``validation_report.json``."""
        return {
            "verdict": self.verdict,
            "counts": self.counts(),
            "checks": [asdict(check) for check in self.checks],
        }
