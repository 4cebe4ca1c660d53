"""Tests for the holdout evaluation: scikit-learn and SciPy as oracles, the strategy by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn import metrics as skm

from alphagate.metrics import performance as metrics
from alphagate.training.evaluation import evaluate, strategy_returns, to_json_dict

DAYS = pd.date_range("2024-01-01 21:00", periods=12, freq="D", tz="UTC")


def _random(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.01, 0.99, n)
    y = rng.integers(0, 2, n)
    ret = rng.normal(0.0, 0.02, n)
    t0 = pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC")
    return p, y, ret, t0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classification_and_scoring_numbers_equal_scikit_learn(seed: int) -> None:
    p, y, ret, t0 = _random(seed)
    result = evaluate(p, y, ret, t0)
    predicted = (p > 0.5).astype(int)
    assert result["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted))
    assert result["precision"] == pytest.approx(skm.precision_score(y, predicted))
    assert result["recall"] == pytest.approx(skm.recall_score(y, predicted))
    assert result["f1"] == pytest.approx(skm.f1_score(y, predicted))
    assert result["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert result["log_loss"] == pytest.approx(skm.log_loss(y, p))
    assert result["brier"] == pytest.approx(skm.brier_score_loss(y, p))
    assert result["n"] == 300.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_information_coefficient_equals_scipy_spearman(seed: int) -> None:
    p, y, ret, t0 = _random(seed)
    expected = spearmanr(p, ret).statistic
    assert evaluate(p, y, ret, t0)["ic"] == pytest.approx(expected, abs=1e-12)


def test_strategy_trades_only_every_horizon_th_timestamp_with_costs_on_changes() -> None:
    # One symbol, 7 days, horizon 3: trades on days 0, 3 and 6 only.
    p = np.array([0.9, 0.1, 0.1, 0.2, 0.9, 0.9, 0.5])
    ret = np.log(np.array([1.10, 9.0, 9.0, 0.95, 9.0, 9.0, 1.30]))  # days 1,2,4,5 must not count
    returns = strategy_returns(p, ret, DAYS[:7], ["A"] * 7, horizon=3, cost_bps=10.0)
    assert list(returns.index) == [DAYS[0], DAYS[3], DAYS[6]]
    # day 0: open long (cost 1 unit); day 3: flip to short (2 units); day 6: p = 0.5, go flat (1).
    expected = [0.10 - 0.001, -(0.95 - 1.0) - 0.002, 0.0 - 0.001]
    assert returns.to_numpy() == pytest.approx(expected)


def test_strategy_averages_symbols_at_each_traded_timestamp() -> None:
    p = np.array([0.8, 0.3, 0.8, 0.3])
    ret = np.log(np.array([1.02, 1.04, 1.01, 0.97]))
    t0 = [DAYS[0], DAYS[0], DAYS[1], DAYS[1]]
    returns = strategy_returns(p, ret, t0, ["A", "B", "A", "B"], horizon=1, cost_bps=0.0)
    assert returns.to_numpy() == pytest.approx([(0.02 - 0.04) / 2, (0.01 + 0.03) / 2])


def test_strategy_figures_use_alphagate_metrics_annualised_per_horizon() -> None:
    p, y, ret, t0 = _random(3, n=60)
    result = evaluate(p, y, ret, t0, horizon=5, cost_bps=5.0, periods_per_year=252)
    daily = strategy_returns(p, ret, t0, np.zeros(60), horizon=5, cost_bps=5.0)
    assert result["strategy_periods"] == 12.0
    assert result["strategy_sharpe"] == pytest.approx(metrics.sharpe(daily, 252 / 5))
    assert result["strategy_total_return"] == pytest.approx(metrics.total_return(daily))
    assert result["strategy_max_drawdown"] == pytest.approx(metrics.max_drawdown(daily))


def test_undefined_numbers_are_nan_and_become_none_in_json() -> None:
    p = np.array([0.7, 0.6, 0.8])
    y = np.array([1, 1, 1])  # one class: AUC undefined
    result = evaluate(p, y, np.zeros(3), DAYS[:3])
    assert math.isnan(result["roc_auc"])
    assert math.isnan(result["ic"])  # constant returns
    safe = to_json_dict(result)
    assert safe["roc_auc"] is None
    assert safe["accuracy"] == 1.0
    json.dumps(safe, allow_nan=False)
