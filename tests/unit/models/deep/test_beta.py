"""The Beta head and loss, checked against torch.distributions and scipy as oracles."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from alphagate.models.deep.beta import (
    PARAMETER_FLOOR,
    BetaHead,
    beta_loss,
    beta_mean,
    beta_negative_log_likelihood,
    smooth_target,
)


def test_negative_log_likelihood_matches_torch_and_scipy_beta_densities() -> None:
    alpha = torch.tensor([0.5, 2.0, 7.5, 30.0], dtype=torch.float64)
    beta = torch.tensor([0.8, 3.0, 1.2, 29.0], dtype=torch.float64)
    target = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    nll = beta_negative_log_likelihood(alpha, beta, target, label_smoothing=0.05)
    smoothed = torch.tensor([0.95, 0.05, 0.95, 0.05], dtype=torch.float64)
    expected = -torch.distributions.Beta(alpha, beta).log_prob(smoothed)
    torch.testing.assert_close(nll, expected, rtol=1e-10, atol=1e-10)
    scipy_expected = -stats.beta.logpdf(smoothed.numpy(), alpha.numpy(), beta.numpy())
    np.testing.assert_allclose(nll.numpy(), scipy_expected, rtol=1e-10)


def test_smoothing_moves_hard_labels_inside_the_unit_interval() -> None:
    smoothed = smooth_target(torch.tensor([0.0, 1.0]), 0.1)
    torch.testing.assert_close(smoothed, torch.tensor([0.1, 0.9]))
    with pytest.raises(ValueError, match="label_smoothing"):
        smooth_target(torch.tensor([0.0]), 0.0)


@pytest.mark.parametrize("value", [1e6, -1e6, 0.0, float("inf"), float("-inf")])
def test_head_parameters_stay_finite_and_positive_under_extreme_inputs(value: float) -> None:
    torch.manual_seed(0)
    head = BetaHead(4)
    alpha, beta = head(torch.full((3, 4), value))
    for parameter in (alpha, beta):
        assert torch.isfinite(parameter).all()
        assert (parameter >= PARAMETER_FLOOR).all()
    loss = beta_loss(alpha, beta, torch.tensor([0.0, 1.0, 1.0]))
    assert torch.isfinite(loss)


def test_loss_is_the_weighted_mean_of_nll_plus_brier_of_the_mean() -> None:
    alpha = torch.tensor([2.0, 1.0], dtype=torch.float64)
    beta = torch.tensor([1.0, 3.0], dtype=torch.float64)
    target = torch.tensor([1.0, 1.0], dtype=torch.float64)
    weight = torch.tensor([3.0, 1.0], dtype=torch.float64)
    smoothed = torch.tensor([0.95, 0.95], dtype=torch.float64)
    nll = -torch.distributions.Beta(alpha, beta).log_prob(smoothed)
    brier = (torch.tensor([2 / 3, 1 / 4], dtype=torch.float64) - 1.0) ** 2
    expected = ((nll + 0.5 * brier) * weight).sum() / weight.sum()
    got = beta_loss(alpha, beta, target, weight, calibration_weight=0.5)
    torch.testing.assert_close(got, expected)
    means = torch.tensor([2 / 3, 1 / 4], dtype=torch.float64)
    torch.testing.assert_close(beta_mean(alpha, beta), means)
