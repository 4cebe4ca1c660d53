"""The deflated Sharpe ratio against the paper's worked example, hand values and its properties.

Hand values use ``statistics.NormalDist`` (the standard library), not SciPy,
so the module's own dependency is not checked against itself.
"""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import numpy as np
import pytest
from scipy.stats import kurtosis, skew

from alphagate.gates.deflated_sharpe import (
    EULER_MASCHERONI,
    ReturnMoments,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    return_moments,
)

N01 = NormalDist()


def test_the_papers_numerical_example_gives_sr0_0_1132_and_dsr_0_9004() -> None:
    # Bailey & Lopez de Prado (2014), section "A numerical example": 5 years of
    # daily returns (250 a year), annual SR 2.5, skewness -3, kurtosis 10,
    # 100 trials whose Sharpe ratios have an annualised variance of 0.5.
    variance = 0.5 / 250
    sharpe = 2.5 / math.sqrt(250)

    threshold = expected_max_sharpe(100, variance)
    dsr = deflated_sharpe_ratio(ReturnMoments(sharpe, 1250, -3.0, 10.0), 100, variance)

    assert threshold == pytest.approx(0.1132, abs=5e-5)
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_the_probabilistic_sharpe_ratio_matches_the_formula_by_hand() -> None:
    # SR 0.1 over 101 normal returns against 0: z = 0.1 * 10 / sqrt(1 + 2/4 * 0.01).
    z = 0.1 * math.sqrt(100) / math.sqrt(1 + 0.5 * 0.01)

    assert probabilistic_sharpe_ratio(0.1, 0.0, 101, 0.0, 3.0) == pytest.approx(N01.cdf(z), 1e-12)
    # A benchmark equal to the estimate is a coin flip.
    assert probabilistic_sharpe_ratio(0.2, 0.2, 500, -1.0, 6.0) == pytest.approx(0.5)


def test_expected_max_sharpe_matches_the_formula_by_hand_for_ten_trials() -> None:
    gamma = 0.5772156649015329
    by_hand = math.sqrt(0.04) * (
        (1 - gamma) * N01.inv_cdf(1 - 1 / 10) + gamma * N01.inv_cdf(1 - 1 / (10 * math.e))
    )

    assert expected_max_sharpe(10, 0.04) == pytest.approx(by_hand, rel=1e-9)
    assert gamma == pytest.approx(EULER_MASCHERONI)


@pytest.mark.parametrize(("n", "exact"), [(2, 1 / math.sqrt(math.pi)), (1000, 3.2414)])
def test_expected_max_sharpe_approximates_the_expected_maximum_of_normals(
    n: int, exact: float
) -> None:
    # E[max of n standard normals]: 1/sqrt(pi) for two, about 3.2414 for a thousand.
    assert expected_max_sharpe(n, 1.0) == pytest.approx(exact, abs=0.05)


def test_with_one_trial_the_dsr_is_the_probabilistic_sharpe_ratio_against_zero() -> None:
    moments = ReturnMoments(sharpe=0.05, n_obs=750, skewness=-0.7, kurtosis=7.5)

    assert expected_max_sharpe(1, 0.3) == 0.0
    assert deflated_sharpe_ratio(moments, 1) == pytest.approx(
        probabilistic_sharpe_ratio(0.05, 0.0, 750, -0.7, 7.5), rel=1e-15
    )


def test_the_dsr_falls_strictly_as_the_number_of_trials_grows() -> None:
    moments = ReturnMoments(sharpe=0.08, n_obs=1000, skewness=-0.5, kurtosis=5.0)

    values = [deflated_sharpe_ratio(moments, n) for n in (1, 2, 3, 5, 10, 50, 100, 1000, 10_000)]

    assert all(a > b for a, b in itertools.pairwise(values))
    assert values[0] > 0.99
    assert values[-1] < 0.5


def test_the_dsr_rewards_more_observations_and_punishes_negative_skew_and_fat_tails() -> None:
    def dsr(n_obs: int = 500, skewness: float = 0.0, kurt: float = 3.0) -> float:
        return deflated_sharpe_ratio(ReturnMoments(0.1, n_obs, skewness, kurt), 20, 0.0005)

    assert dsr(n_obs=2000) > dsr(n_obs=500)
    assert dsr(skewness=-2.0) < dsr()
    assert dsr(kurt=12.0) < dsr()


def test_return_moments_are_the_plain_sample_moments() -> None:
    returns = np.random.default_rng(3).standard_t(5, size=400) * 0.01 + 0.0004

    moments = return_moments(returns)

    assert moments.n_obs == 400
    assert moments.sharpe == pytest.approx(returns.mean() / returns.std(ddof=1))
    assert moments.skewness == pytest.approx(float(skew(returns)))
    assert moments.kurtosis == pytest.approx(float(kurtosis(returns, fisher=False)))


@pytest.mark.parametrize(
    ("returns", "message"),
    [
        ([0.01, 0.02], "at least 3"),
        ([0.01, 0.01, 0.01], "constant"),
        ([0.1, math.nan, 0], "finite"),
    ],
)
def test_return_moments_refuse_series_without_a_sharpe_ratio(
    returns: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        return_moments(returns)


def test_invalid_trial_counts_and_variances_are_refused() -> None:
    with pytest.raises(ValueError, match="positive integer"):
        expected_max_sharpe(0, 1.0)
    with pytest.raises(ValueError, match="non-negative"):
        expected_max_sharpe(5, -1.0)
    with pytest.raises(ValueError, match="at least 2"):
        probabilistic_sharpe_ratio(0.1, 0.0, 1, 0.0, 3.0)
