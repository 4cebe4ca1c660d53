"""Sizing: from a signal to a target weight, bounded, uncertainty-aware and turnover-aware.

``vol_scaled_weight``
    ``z = clip(alpha/sigma, ±z_max)``, ``w = (z/z_max)·max_weight``: the expected
    return per unit of risk, so a signal in a quiet market and the same
    signal in a wild one take the same risk, never more than ``max_weight``.
``kelly_fraction``, ``BayesianKelly``
    The growth-optimal fraction for a binary bet, computed on a probability
    that is shrunk toward the strategy's live track record and scaled down
    while that record is short.
``no_trade_band``, ``normalise_gross``
    Keep a position when the change is too small to pay its costs; scale
    the book down proportionally when its gross exceeds the limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be finite and positive, got {value}")


def _check_non_negative(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"{name} must be finite and non-negative, got {value}")


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be a probability in [0, 1], got {value}")


def vol_scaled_weight(alpha: float, sigma: float, *, z_max: float, max_weight: float) -> float:
    """Return the target weight ``w = (clip(alpha/sigma, ±z_max)/z_max)·max_weight``.

    ``alpha/sigma`` is the signal's expected return per unit of volatility (an
    information ratio of one bet); clipping at ``±z_max`` stops one extreme
    reading from taking an outsized position, and dividing by ``z_max`` maps
    the clipped range onto ``[-max_weight, max_weight]``. ``z/z_max`` is
    formed first so that rounding cannot push ``|w|`` past ``max_weight``.
    An unknown or non-positive ``sigma`` returns 0: without a risk estimate there
    is no size.
    """
    if not math.isfinite(alpha):
        raise ValueError(f"alpha must be finite, got {alpha}")
    _check_positive("z_max", z_max)
    _check_non_negative("max_weight", max_weight)
    if not sigma > 0.0:  # also NaN
        return 0.0
    z = min(z_max, max(-z_max, alpha / sigma))
    return (z / z_max) * max_weight


def kelly_fraction(p: float, payoff: float) -> float:
    """Return the Kelly fraction ``f* = p - (1 - p)/b`` of a binary bet.

    ``b = payoff`` is the payoff ratio, average win over average loss. ``f*``
    maximises ``E[log wealth] = p·log(1 + b·f) + (1 - p)·log(1 - f)``.

    The result is kept signed. A negative value says this side of the bet
    has no edge; the caller decides what that means (``BayesianKelly``
    floors it at 0). Its magnitude is the Kelly fraction of the opposite
    bet only when ``b = 1`` (then ``f* = 2p - 1``, antisymmetric in
    ``p ↔ 1 - p``).
    """
    _check_probability("p", p)
    _check_positive("payoff", payoff)
    return p - (1.0 - p) / payoff


@dataclass(frozen=True, slots=True)
class BayesianKelly:
    """A Beta posterior over the live win rate, and the Kelly fraction it allows.

    The posterior is ``Beta(alpha, beta)`` with ``alpha = prior_alpha + wins`` and
    ``beta = prior_beta + losses``; ``record_outcome`` returns a new value.

    ``fraction`` treats the model's calibrated probability ``p_model`` as
    ``model_weight`` pseudo-outcomes added to that posterior, and uses the
    mean of the result:

    ``p_eff = (n_m·p_model + alpha)/(n_m + alpha + beta)``

    It lies between ``p_model`` and the posterior mean; every win raises it
    and every loss lowers it; and as the record grows it converges to the
    realised win rate, so a model whose live hit rate contradicts its
    calibration cannot keep its sizing. (Weighting ``p_model`` by
    ``n_obs/(n_obs + n_prior)`` instead would hand a model *more* trust after
    a long run of losses.) Then

    ``f = max(0, kelly_scale · (p_eff - (1 - p_eff)/b) · (1 - s/0.5))``

    with ``s = √(alpha·beta/((alpha + beta)²(alpha + beta + 1)))`` the
    posterior standard deviation. ``s < 0.5`` for every Beta, so the factor
    lies in ``(0, 1]``: a short record (wide posterior) scales the bet down, a
    long one lets it approach ``kelly_scale`` times full Kelly. ``kelly_scale = 0.5`` (half
    Kelly) keeps three quarters of the growth rate at half the volatility.

    Parameters
    ----------
    prior_alpha, prior_beta
        Prior pseudo-counts of wins and losses, e.g. ``(1, 1)`` (uniform).
    wins, losses
        Outcomes recorded so far.
    model_weight
        How many outcomes the model's calibrated ``p`` is worth (``n_m``).
    """

    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    wins: int = 0
    losses: int = 0
    model_weight: float = 10.0

    def __post_init__(self) -> None:
        _check_positive("prior_alpha", self.prior_alpha)
        _check_positive("prior_beta", self.prior_beta)
        _check_non_negative("model_weight", self.model_weight)
        if self.wins < 0 or self.losses < 0:
            raise ValueError(f"wins and losses must be >= 0, got {self.wins}, {self.losses}")

    @property
    def alpha(self) -> float:
        """Posterior ``alpha = prior_alpha + wins``."""
        return self.prior_alpha + self.wins

    @property
    def beta(self) -> float:
        """Posterior ``beta = prior_beta + losses``."""
        return self.prior_beta + self.losses

    @property
    def mean(self) -> float:
        """Posterior mean win rate ``alpha/(alpha + beta)``."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def std(self) -> float:
        """Posterior std ``s = √(ab/((a + b)²(a + b + 1)))``, a = alpha, b = beta; below 0.5."""
        a, b = self.alpha, self.beta
        return math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))

    def record_outcome(self, won: bool) -> BayesianKelly:
        """Return the posterior after one more trade: ``alpha + 1`` on a win, else ``beta + 1``."""
        if won:
            return replace(self, wins=self.wins + 1)
        return replace(self, losses=self.losses + 1)

    def effective_probability(self, p_model: float) -> float:
        """Return ``p_eff = (n_m·p_model + alpha)/(n_m + alpha + beta)``."""
        _check_probability("p_model", p_model)
        n_m = self.model_weight
        return (n_m * p_model + self.alpha) / (n_m + self.alpha + self.beta)

    def fraction(self, p_model: float, payoff: float, kelly_scale: float = 0.5) -> float:
        """Return the long fraction ``max(0, kelly_scale·f*(p_eff, b)·(1 - s/0.5))``."""
        _check_non_negative("kelly_scale", kelly_scale)
        p_eff = self.effective_probability(p_model)
        f = kelly_scale * kelly_fraction(p_eff, payoff) * (1.0 - self.std / 0.5)
        return max(0.0, f)


def no_trade_band(current_weight: float, target_weight: float, band: float) -> float:
    """Return ``current_weight`` when ``|target - current| < band``, else ``target_weight``.

    A small rebalance costs a spread and a commission for an expected gain
    of the same small size; inside the band the trade is not worth it.
    """
    _check_non_negative("band", band)
    if abs(target_weight - current_weight) < band:
        return current_weight
    return target_weight


def normalise_gross(weights: Mapping[str, float], max_gross: float) -> dict[str, float]:
    """Scale every weight by ``max_gross/Σ|w|`` when ``Σ|w| > max_gross``; else return them as is.

    Proportional scaling keeps the book's direction and relative bets; it
    only shrinks. The gross is summed with ``math.fsum`` (exactly rounded,
    independent of order), and if rounding of the products still leaves it a
    hair above ``max_gross`` the scale steps down one ulp at a time, so the
    returned gross is ``<= max_gross`` exactly, not approximately.
    """
    _check_non_negative("max_gross", max_gross)
    for name, w in weights.items():
        if not math.isfinite(w):
            raise ValueError(f"weight of {name!r} must be finite, got {w}")
    gross = math.fsum(abs(w) for w in weights.values())
    if gross <= max_gross:
        return dict(weights)
    scale = max_gross / gross
    scaled = {name: w * scale for name, w in weights.items()}
    while math.fsum(abs(w) for w in scaled.values()) > max_gross:
        scale = math.nextafter(scale, 0.0)
        scaled = {name: w * scale for name, w in weights.items()}
    return scaled
