"""The Beta head: every prediction is a Beta distribution over P(up), not a point.

A net ending in a sigmoid says "0.56" and nothing about how sure it is. A Beta
head outputs two shape parameters ``alpha, beta > 0`` instead: the
distribution's mean ``alpha / (alpha + beta)`` is P(up), the number the rest
of the platform reads, and its concentration ``alpha + beta`` says how much
evidence the net thinks stands behind that mean (a Beta(2, 2) and a
Beta(200, 200) both say 0.5; only the second is confident).

Why each choice:

* **softplus plus a floor, on clamped pre-activations.** ``softplus`` keeps the
  parameters positive with a gradient everywhere (``exp`` overflows, ``relu``
  dies); the floor keeps them away from 0, where ``lgamma`` and the density
  blow up; and clamping the pre-activations to ``±PRE_ACTIVATION_LIMIT``
  keeps both parameters finite whatever the input (1e6, -1e6, NaN-free
  saturation), so a wild feature value can never produce an infinite
  concentration that the decision path would read as certainty.
* **A label-smoothed target.** The outcome is 0 or 1, but the Beta density at
  exactly 0 or 1 is 0 or infinite (``log y`` is ``-inf``), so the likelihood of
  a hard label is degenerate: the optimum would push one parameter to its
  floor and the other to infinity. The target ``y * (1 - 2 e) + e`` moves
  the outcome just inside ``(0, 1)`` (``e = label_smoothing``), where the
  log-likelihood is finite and its maximiser is a proper distribution.
* **A calibration regulariser.** The Beta likelihood of smoothed labels is
  maximised by a mean that is monotone in, but not equal to, the frequency of
  ups; the Brier score of the mean (weighted by ``calibration_weight``) pulls
  the mean towards the frequency itself, so the raw P(up) is already close to
  calibrated before the out-of-fold calibrator sees it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional

PARAMETER_FLOOR = 1e-3
"""Smallest alpha or beta the head returns: keeps ``lgamma`` and the density finite."""

PRE_ACTIVATION_LIMIT = 20.0
"""Pre-activations are clamped to this magnitude, so alpha and beta stay below ~20."""


class BetaHead(nn.Module):
    """A linear layer to two pre-activations, mapped to ``alpha, beta > 0``.

    Parameters
    ----------
    in_features
        Width of the representation the head reads.
    """

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, 2)

    def forward(self, hidden: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(alpha, beta)``, each of shape ``hidden.shape[:-1]``, finite and > 0."""
        raw = torch.nan_to_num(self.linear(hidden), nan=0.0)
        raw = raw.clamp(-PRE_ACTIVATION_LIMIT, PRE_ACTIVATION_LIMIT)
        parameters = functional.softplus(raw) + PARAMETER_FLOOR
        return parameters[..., 0], parameters[..., 1]


def beta_mean(alpha: Tensor, beta: Tensor) -> Tensor:
    """P(up): the mean ``alpha / (alpha + beta)`` of the Beta distribution."""
    return alpha / (alpha + beta)


def beta_concentration(alpha: Tensor, beta: Tensor) -> Tensor:
    """The confidence: ``alpha + beta`` (larger means a narrower distribution)."""
    return alpha + beta


def smooth_target(target: Tensor, label_smoothing: float) -> Tensor:
    """Move 0/1 outcomes to ``e`` / ``1 - e`` so the Beta density is finite there.

    Raises
    ------
    ValueError
        ``label_smoothing`` outside ``(0, 0.5)``: 0 leaves the density
        degenerate, 0.5 erases the label.
    """
    if not 0.0 < label_smoothing < 0.5:
        raise ValueError(f"label_smoothing must be in (0, 0.5), got {label_smoothing}")
    return target * (1.0 - 2.0 * label_smoothing) + label_smoothing


def beta_negative_log_likelihood(
    alpha: Tensor, beta: Tensor, target: Tensor, label_smoothing: float = 0.05
) -> Tensor:
    """Per-sample ``-log Beta(y_s; alpha, beta)`` of the smoothed 0/1 ``target``.

    ``log Beta(y; a, b) = lgamma(a + b) - lgamma(a) - lgamma(b) + (a - 1) log y
    + (b - 1) log(1 - y)``, written out rather than taken from
    ``torch.distributions`` so that no argument validation runs in the
    training loop (the tests compare it with ``torch.distributions.Beta``).
    """
    y = smooth_target(target.to(alpha.dtype), label_smoothing)
    log_density = (
        torch.lgamma(alpha + beta)
        - torch.lgamma(alpha)
        - torch.lgamma(beta)
        + (alpha - 1.0) * torch.log(y)
        + (beta - 1.0) * torch.log1p(-y)
    )
    return -log_density


def beta_loss(
    alpha: Tensor,
    beta: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    label_smoothing: float = 0.05,
    calibration_weight: float = 1.0,
) -> Tensor:
    """The training loss: weighted mean Beta NLL plus ``calibration_weight`` x Brier of the mean.

    Parameters
    ----------
    alpha, beta
        The head's outputs, shape ``(n,)``.
    target
        0/1 outcomes, shape ``(n,)``.
    weight
        Sample weights (the uniqueness weights of overlapping labels), or
        ``None`` for equal weights; the mean is weighted by them.
    label_smoothing, calibration_weight
        See the module docstring.
    """
    nll = beta_negative_log_likelihood(alpha, beta, target, label_smoothing)
    brier = (beta_mean(alpha, beta) - target.to(alpha.dtype)) ** 2
    per_sample = nll + calibration_weight * brier
    if weight is None:
        return per_sample.mean()
    weight = weight.to(per_sample.dtype)
    return (per_sample * weight).sum() / weight.sum().clamp_min(1e-12)
