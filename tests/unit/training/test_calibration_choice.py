"""Choosing a calibrator on out-of-fold predictions by time-blocked cross-validation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alphagate.models.calibration import fit_out_of_fold
from alphagate.models.calibration_metrics import log_loss
from alphagate.training.calibration_choice import choose_calibration, cross_validated_log_loss


def predictions(n: int = 2000, seed: int = 0) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Over-confident raw probabilities: the truth is their logit shrunk by a factor 3."""
    rng = np.random.default_rng(seed)
    logit = rng.normal(0, 2.0, size=n)
    truth = 1 / (1 + np.exp(-logit / 3))
    y = (rng.random(n) < truth).astype(np.int64)
    index = pd.RangeIndex(n)
    times = pd.Series(pd.date_range("2015-01-01", periods=n, freq="D", tz="UTC"), index=index)
    return pd.Series(1 / (1 + np.exp(-logit)), index=index), pd.Series(y, index=index), times


def test_the_choice_is_the_candidate_with_the_lowest_cross_validated_loss() -> None:
    p, y, times = predictions()

    choice = choose_calibration(p, y, times, ["isotonic", "sigmoid", "temperature"])

    assert set(choice.scores) == {"isotonic", "sigmoid", "temperature"}
    assert choice.scores[choice.kind] == min(choice.scores.values())
    # A pure temperature error is what the parametric maps model exactly.
    assert choice.kind in ("sigmoid", "temperature")
    assert choice.scores["isotonic"] > choice.scores[choice.kind]
    # Every candidate beats leaving the over-confident probabilities alone.
    assert max(choice.scores.values()) < log_loss(p.to_numpy(), y.to_numpy())


def test_out_of_block_scores_are_worse_than_in_sample_ones_for_a_flexible_map() -> None:
    p, y, times = predictions(n=600, seed=2)

    in_sample = fit_out_of_fold("isotonic", p, y).transform(p.to_numpy())

    assert cross_validated_log_loss("isotonic", p, y, times, 5) > log_loss(in_sample, y.to_numpy())


def test_rows_without_an_out_of_fold_prediction_are_ignored() -> None:
    p, y, times = predictions(n=800, seed=4)
    padded_p = pd.concat([pd.Series([math.nan] * 50), p], ignore_index=True)
    padded_y = pd.concat([pd.Series([1] * 50), y], ignore_index=True)
    early = pd.Series(pd.date_range("2010-01-01", periods=50, freq="D", tz="UTC"))
    padded_times = pd.concat([early, times], ignore_index=True)

    assert cross_validated_log_loss("sigmoid", padded_p, padded_y, padded_times, 4) == (
        pytest.approx(cross_validated_log_loss("sigmoid", p, y, times, 4), rel=1e-12)
    )


def test_rows_sharing_a_timestamp_stay_in_one_block() -> None:
    p, y, times = predictions(n=400, seed=6)
    two_symbols = pd.concat([times, times], ignore_index=True)
    doubled_p = pd.concat([p, p], ignore_index=True)
    doubled_y = pd.concat([y, y], ignore_index=True)

    # Duplicating every row at its own timestamp must give the same pooled loss:
    # each block holds both copies, so no copy is scored by a map fitted on its twin.
    assert cross_validated_log_loss("isotonic", doubled_p, doubled_y, two_symbols, 5) == (
        pytest.approx(cross_validated_log_loss("isotonic", p, y, times, 5), rel=1e-9)
    )


def test_no_candidate_that_can_be_fitted_is_an_error_naming_the_rows() -> None:
    p, y, times = predictions(n=12)

    with pytest.raises(ValueError, match="could be fitted on every one of 5 folds of 12"):
        choose_calibration(p, y, times, ["isotonic", "sigmoid"])
    with pytest.raises(ValueError, match="no calibrator kinds"):
        choose_calibration(p, y, times, [])
