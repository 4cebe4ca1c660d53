r"""The deflated Sharpe ratio (Bailey & López de Prado, 2014).

A Sharpe ratio chosen as the best of ``N`` tries is biased upwards: even if
every strategy tried had a true Sharpe of zero, the best *estimate* would be
positive. The deflated Sharpe ratio (DSR) corrects for that selection and for
non-normal returns. It is the probability that the true Sharpe ratio exceeds
``SR0``, the Sharpe ratio the best of ``N`` worthless trials would be expected
to show:

.. math::

    \mathrm{PSR}(SR^*) = \Phi\left(
        \frac{(\widehat{SR} - SR^*)\sqrt{T-1}}
             {\sqrt{1 - \gamma_3 \widehat{SR} + \frac{\gamma_4 - 1}{4}\widehat{SR}^2}}
    \right)

.. math::

    SR_0 = \sqrt{V} \left( (1-\gamma)\,\Phi^{-1}\!\left(1 - \tfrac{1}{N}\right)
        + \gamma\,\Phi^{-1}\!\left(1 - \tfrac{1}{N e}\right) \right),
    \qquad \mathrm{DSR} = \mathrm{PSR}(SR_0)

where ``SR`` is the *per-period* (not annualised) Sharpe ratio of ``T``
returns, ``gamma_3`` their skewness, ``gamma_4`` their kurtosis (3 for a normal
distribution, not the excess), ``Φ`` the standard normal CDF, ``gamma`` the
Euler-Mascheroni constant, and ``V`` the variance of the Sharpe ratios across
the ``N`` trials.

Choices made here:

* **N = 1.** The expected maximum of one draw is its mean, 0, so
  ``SR0 = 0`` and the DSR is the probabilistic Sharpe ratio against 0. (The
  closed form above is an asymptotic approximation; at ``N = 1`` it would give
  ``-inf``.)
* **V when the trials' Sharpe ratios are unknown.** The training search
  scores log loss, not Sharpe, so the spread of Sharpe ratios across trials is
  not observed. Under the null every trial's Sharpe estimate varies only by
  sampling error, whose variance at ``SR = 0`` is ``1 / (T - 1)`` (the PSR's
  own denominator); that is the default. Pass the trials' variance when known.
* **Moments.** Skewness and kurtosis are the plain (biased) sample moments, as
  in the paper's worked example.

The paper's numerical example (annual SR 2.5, 1,250 daily returns, 250 per
year, skewness -3, kurtosis 10, 100 trials with annualised variance 0.5) gives
``SR0 ≈ 0.1132`` per day and ``DSR ≈ 0.9004``; the tests check both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import kurtosis, norm, skew

EULER_MASCHERONI = 0.5772156649015329


@dataclass(frozen=True)
class ReturnMoments:
    """What the DSR needs from a return series: per-period Sharpe, length, shape."""

    sharpe: float
    n_obs: int
    skewness: float
    kurtosis: float


def return_moments(returns: Sequence[float] | npt.NDArray[np.float64]) -> ReturnMoments:
    """Per-period Sharpe (mean / sample std), count, skewness and (non-excess) kurtosis.

    Raises
    ------
    ValueError
        Fewer than 3 returns, a non-finite return, or constant returns (the
        Sharpe ratio and the moments are undefined).
    """
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim != 1 or values.size < 3:
        raise ValueError(f"need at least 3 returns, got {values.size}")
    if not np.isfinite(values).all():
        raise ValueError("returns must be finite")
    spread = float(values.std(ddof=1))
    if spread == 0.0:
        raise ValueError("returns are constant: their Sharpe ratio is undefined")
    return ReturnMoments(
        sharpe=float(values.mean()) / spread,
        n_obs=int(values.size),
        skewness=float(skew(values, bias=True)),
        kurtosis=float(kurtosis(values, fisher=False, bias=True)),
    )


def probabilistic_sharpe_ratio(
    sharpe: float, benchmark: float, n_obs: int, skewness: float, kurtosis: float
) -> float:
    """P(true per-period Sharpe > ``benchmark``) given an estimate from ``n_obs`` returns.

    ``nan`` in the degenerate case where the variance term is not positive
    (only a two-point distribution reaches it).
    """
    if n_obs < 2:
        raise ValueError(f"n_obs must be at least 2, got {n_obs}")
    variance_term = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not variance_term > 0:
        return math.nan
    z = (sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(variance_term)
    return float(norm.cdf(z))


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """``SR0``: the expected best per-period Sharpe of ``n_trials`` trials with true Sharpe 0."""
    if isinstance(n_trials, bool) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    if not sharpe_variance >= 0:
        raise ValueError(f"sharpe_variance must be non-negative, got {sharpe_variance}")
    if n_trials == 1:
        return 0.0
    spread = math.sqrt(sharpe_variance)
    gamma = EULER_MASCHERONI
    return spread * (
        (1 - gamma) * float(norm.ppf(1 - 1 / n_trials))
        + gamma * float(norm.ppf(1 - 1 / (n_trials * math.e)))
    )


def deflated_sharpe_ratio(
    moments: ReturnMoments, n_trials: int, sharpe_variance: float | None = None
) -> float:
    """The DSR of a return series' moments after ``n_trials`` trials (see the module doc).

    ``sharpe_variance`` defaults to ``1 / (T - 1)``, the null sampling variance.
    """
    variance = 1.0 / (moments.n_obs - 1) if sharpe_variance is None else sharpe_variance
    threshold = expected_max_sharpe(n_trials, variance)
    return probabilistic_sharpe_ratio(
        moments.sharpe, threshold, moments.n_obs, moments.skewness, moments.kurtosis
    )
