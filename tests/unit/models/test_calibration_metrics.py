"""Tests for ``alphagate.models.calibration_metrics``.

sklearn is the oracle: ``calibration_curve`` for the binning (both strategies),
``brier_score_loss`` and ``log_loss`` for the scores. The oracle cases include
ties, predictions exactly on bin edges and at 0 and 1, and quantile edges that
repeat, since those are where two binning rules would disagree.
"""

from __future__ import annotations

import json
import math
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sk_log_loss

from alphagate.models.calibration_metrics import (
    CalibrationReport,
    brier_score,
    calibration_report,
    expected_calibration_error,
    log_loss,
    max_calibration_error,
    plot_reliability_diagram,
    reliability_bins,
    validate_binary,
)

STRATEGIES: tuple[Literal["uniform", "quantile"], ...] = ("uniform", "quantile")


def random_case(
    seed: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], int]:
    """Predictions of varied shape (smooth, discrete with ties, with 0/1 and edge values)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    n_bins = int(rng.integers(1, 16))
    shape = seed % 4
    if shape == 0:
        p = rng.random(n)
    elif shape == 1:
        p = rng.beta(0.5, 0.5, n)
    elif shape == 2:  # few distinct values: quantile edges repeat, many rows sit on edges
        p = rng.choice(np.linspace(0.0, 1.0, n_bins + 1), size=n)
    else:  # crowded near the base rate, as market classifiers are
        p = np.clip(0.5 + 0.03 * rng.normal(size=n), 0.0, 1.0)
    y = (rng.random(n) < p).astype(np.float64)
    y[0], y[-1] = 0.0, 1.0  # sklearn's calibration_curve needs to see both labels
    return p, y, n_bins


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_non_empty_bins_equal_sklearn_calibration_curve_on_300_random_cases(
    strategy: Literal["uniform", "quantile"],
) -> None:
    for seed in range(300):
        p, y, n_bins = random_case(seed)
        prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
        bins = reliability_bins(p, y, n_bins, strategy)
        filled = bins.loc[bins["count"] > 0]
        np.testing.assert_allclose(
            filled["observed_frequency"], prob_true, rtol=0, atol=1e-12, err_msg=f"seed {seed}"
        )
        np.testing.assert_allclose(
            filled["mean_predicted"], prob_pred, rtol=0, atol=1e-12, err_msg=f"seed {seed}"
        )
        counts = filled["count"].to_numpy()
        oracle_ece = float(np.sum(counts / len(p) * np.abs(prob_true - prob_pred)))
        oracle_mce = float(np.max(np.abs(prob_true - prob_pred)))
        assert expected_calibration_error(p, y, n_bins, strategy) == pytest.approx(
            oracle_ece, abs=1e-12
        )
        assert max_calibration_error(p, y, n_bins, strategy) == pytest.approx(oracle_mce, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(
    p=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=60),
    n_bins=st.integers(1, 12),
    strategy=st.sampled_from(STRATEGIES),
    data=st.data(),
)
def test_binning_matches_sklearn_for_any_predictions(
    p: list[float], n_bins: int, strategy: Literal["uniform", "quantile"], data: st.DataObject
) -> None:
    y = data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=len(p), max_size=len(p)))
    y[0], y[1] = 0.0, 1.0
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    bins = reliability_bins(p, y, n_bins, strategy)
    filled = bins.loc[bins["count"] > 0]
    np.testing.assert_allclose(filled["observed_frequency"], prob_true, rtol=0, atol=1e-12)
    np.testing.assert_allclose(filled["mean_predicted"], prob_pred, rtol=0, atol=1e-12)
    assert int(bins["count"].sum()) == len(p)


def test_the_table_has_every_bin_with_edges_and_nan_means_where_empty() -> None:
    p = np.array([0.05, 0.15, 0.15, 0.95])
    y = np.array([0.0, 1.0, 0.0, 1.0])
    bins = reliability_bins(p, y, n_bins=10, strategy="uniform")
    assert list(bins.columns) == [
        "lower",
        "upper",
        "count",
        "mean_predicted",
        "observed_frequency",
    ]
    assert len(bins) == 10
    np.testing.assert_allclose(bins["lower"], np.linspace(0, 0.9, 10), atol=1e-15)
    np.testing.assert_allclose(bins["upper"], np.linspace(0.1, 1.0, 10), atol=1e-15)
    assert bins["count"].tolist() == [1, 2, 0, 0, 0, 0, 0, 0, 0, 1]
    assert bins.loc[1, "observed_frequency"] == 0.5
    assert bins.loc[1, "mean_predicted"] == pytest.approx(0.15)
    assert bins.loc[2:8, "mean_predicted"].isna().all()


def test_a_value_on_an_inner_edge_falls_in_the_lower_bin_and_zero_in_the_first() -> None:
    bins = reliability_bins([0.0, 0.5, 0.5000001, 1.0], [0, 0, 1, 1], n_bins=2)
    assert bins["count"].tolist() == [2, 2]
    assert bins.loc[0, "mean_predicted"] == 0.25


def test_ece_and_mce_by_hand() -> None:
    # Bin [0, 0.5]: predictions 0.2, 0.4 (mean 0.3), one positive of two -> gap 0.2.
    # Bin (0.5, 1]: predictions 0.9 x 3, two positives of three -> gap |2/3 - 0.9|.
    p = [0.2, 0.4, 0.9, 0.9, 0.9]
    y = [0, 1, 1, 1, 0]
    upper_gap = abs(2 / 3 - 0.9)
    assert expected_calibration_error(p, y, n_bins=2) == pytest.approx(
        2 / 5 * 0.2 + 3 / 5 * upper_gap
    )
    assert max_calibration_error(p, y, n_bins=2) == pytest.approx(upper_gap)


def test_predicting_each_bins_frequency_gives_zero_ece_and_mce() -> None:
    p = [0.25] * 4 + [0.75] * 4
    y = [1, 0, 0, 0, 1, 1, 1, 0]
    for strategy in STRATEGIES:
        assert expected_calibration_error(p, y, 4, strategy) == 0.0
        assert max_calibration_error(p, y, 4, strategy) == 0.0


def test_brier_score_and_log_loss_equal_sklearn_on_random_data() -> None:
    rng = np.random.default_rng(7)
    for _ in range(100):
        n = int(rng.integers(2, 500))
        p = rng.uniform(1e-4, 1 - 1e-4, n)
        y = (rng.random(n) < rng.random()).astype(np.float64)
        y[0], y[-1] = 0.0, 1.0
        assert brier_score(p, y) == pytest.approx(brier_score_loss(y, p), rel=1e-12, abs=1e-15)
        assert log_loss(p, y) == pytest.approx(sk_log_loss(y, y_proba=p), rel=1e-12)


def test_log_loss_clips_so_a_certain_miss_costs_a_finite_amount() -> None:
    assert log_loss([0.0], [1]) == pytest.approx(-math.log(1e-15), rel=1e-12)
    # 1 - 1e-15 rounds to a float about 1.1e-15 below 1, hence the looser tolerance.
    assert log_loss([1.0], [0]) == pytest.approx(-math.log(1e-15), rel=1e-3)
    assert log_loss([0.0, 1.0], [0, 1]) == pytest.approx(0.0, abs=1e-14)


@pytest.mark.parametrize(
    ("p", "y", "message"),
    [
        ([0.2, np.nan], [0, 1], "NaN or infinite"),
        ([0.2, 1.2], [0, 1], r"\[0, 1\]"),
        ([0.2, 0.6], [-1, 1], "0 or 1"),
        ([0.2, 0.6], [0, 1, 1], "same length"),
        ([], [], "no predictions"),
        ([[0.2, 0.6]], [[0, 1]], "one-dimensional"),
    ],
)
def test_invalid_predictions_or_labels_are_refused_with_the_reason(
    p: list[float], y: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        validate_binary(p, y)
    with pytest.raises(ValueError, match=message):
        expected_calibration_error(p, y)


def test_unknown_strategy_and_zero_bins_are_refused() -> None:
    with pytest.raises(ValueError, match="strategy"):
        reliability_bins([0.1, 0.9], [0, 1], strategy="kmeans")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_bins"):
        reliability_bins([0.1, 0.9], [0, 1], n_bins=0)


def test_report_holds_every_metric_and_serialises_to_json() -> None:
    rng = np.random.default_rng(3)
    p = rng.random(1000)
    y = (rng.random(1000) < p**2).astype(np.float64)
    report = calibration_report(p, y, n_bins=10)
    assert report.ece_uniform == expected_calibration_error(p, y, 10, "uniform")
    assert report.ece_quantile == expected_calibration_error(p, y, 10, "quantile")
    assert report.mce_uniform == max_calibration_error(p, y, 10, "uniform")
    assert report.mce_quantile == max_calibration_error(p, y, 10, "quantile")
    assert report.brier == brier_score(p, y)
    assert report.log_loss == log_loss(p, y)
    assert report.n == 1000
    assert report.mce_uniform >= report.ece_uniform > 0.05
    payload = json.loads(json.dumps(report.to_json_dict()))
    assert CalibrationReport(**payload) == report
    assert isinstance(payload["n"], int)
    with pytest.raises(FrozenInstanceError):
        report.n = 3  # type: ignore[misc]


def test_reliability_diagram_is_a_real_png_and_leaves_pyplot_untouched(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(1)
    p = rng.random(2000)
    y = (rng.random(2000) < p).astype(np.float64)
    figures_before = plt.get_fignums()
    single = plot_reliability_diagram(p, y, tmp_path / "single.png")
    both = plot_reliability_diagram(p**3, y, tmp_path / "nested" / "both.png", p_after=p, n_bins=15)
    assert plt.get_fignums() == figures_before
    for path in (single, both):
        content = path.read_bytes()
        assert content.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(content) > 10_000
    assert both.parent.name == "nested"


def test_reliability_diagram_refuses_after_predictions_of_another_length(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="same length"):
        plot_reliability_diagram([0.1, 0.9], [0, 1], tmp_path / "x.png", p_after=[0.5])
    assert not (tmp_path / "x.png").exists()
