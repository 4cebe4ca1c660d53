"""Blend several models' predictions for one horizon into one, and measure their disagreement.

Weights are ridge risk parity:

    w proportional to max(0, (Sigma + lambda*I)^-1 mu)

with mu the models' expected signal returns and Sigma the covariance of their
signals. Sigma^-1 mu is the mean-variance optimal mix: two models that say the
same thing share about the weight one of them would get alone, instead of
counting twice. Sigma is estimated from short, noisy histories, so its inverse
amplifies noise; the ridge lambda pulls (Sigma + lambda*I)^-1 mu towards
mu/lambda, i.e. weights proportional to expected return, as lambda grows.
Negative weights are set to 0: shorting a model that still expects a positive
return (a hedge the inverse can suggest for correlated models) is an overfit
bet on the covariance estimate, not a view.

The weights are then tempered, w_i <- w_i^T / sum_j w_j^T: T = 1 keeps them,
T < 1 flattens them towards equal (T = 0 gives exactly 1/k to every model),
T > 1 sharpens them towards the best model.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def ridge_risk_parity_weights(
    mu: FloatArray, sigma: FloatArray, ridge: float, temperature: float = 1.0
) -> FloatArray:
    """Return k weights >= 0 summing to 1: w ~ max(0, (Sigma + lambda*I)^-1 mu), tempered by T.

    Parameters
    ----------
    mu
        Expected return of each of the k model signals, shape ``(k,)``.
    sigma
        Their covariance, shape ``(k, k)``, symmetric.
    ridge
        lambda >= 0. When Sigma + lambda*I is singular (lambda = 0 and collinear
        signals) the pseudo-inverse solves it, giving the minimum-norm solution.
    temperature
        T >= 0, the exponent applied after normalising (see the module).

    Returns
    -------
    numpy.ndarray
        Shape ``(k,)``. When no model has a positive raw weight (every mu <= 0)
        the weights are equal: there is nothing to prefer, and the blend still
        needs weights; the confidence and cost steps decide whether to trade.
    """
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    k = mu.shape[0] if mu.ndim == 1 else 0
    if k == 0 or sigma.shape != (k, k):
        raise ValueError(f"need mu of shape (k,) and sigma (k, k), got {mu.shape}, {sigma.shape}")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ValueError("mu and sigma must be finite")
    if not ridge >= 0 or not temperature >= 0:
        raise ValueError(f"ridge and temperature must be >= 0, got {ridge}, {temperature}")
    equal = np.full(k, 1.0 / k)
    if temperature == 0:
        return equal
    shrunk = sigma + ridge * np.eye(k)
    try:
        raw = np.linalg.solve(shrunk, mu)
    except np.linalg.LinAlgError:
        raw = np.linalg.pinv(shrunk) @ mu
    positive = np.where(np.isfinite(raw) & (raw > 0), raw, 0.0)
    top = positive.max()
    if top <= 0:
        return equal
    # Dividing by the largest weight first keeps w^T from underflowing to all
    # zeros for large T; the ratio w_i^T / sum_j w_j^T is unchanged by it.
    tempered = (positive / top) ** temperature
    weights: FloatArray = tempered / tempered.sum()
    return weights


def _normalised(predictions: FloatArray, weights: FloatArray) -> tuple[FloatArray, FloatArray]:
    p = np.asarray(predictions, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if p.ndim != 1 or p.shape != w.shape or p.size == 0:
        raise ValueError(
            f"need predictions and weights of one shape (k,), got {p.shape}, {w.shape}"
        )
    total = w.sum()
    if np.any(w < 0) or not total > 0:
        raise ValueError("weights must be non-negative with a positive sum")
    return p, w / total


def blend(predictions: FloatArray, weights: FloatArray) -> float:
    """Return the weighted mean p_bar = sum_i w_i p_i (weights rescaled to sum 1)."""
    p, w = _normalised(predictions, weights)
    return float(w @ p)


def disagreement(predictions: FloatArray, weights: FloatArray) -> float:
    """Return the weighted standard deviation sqrt(sum_i w_i (p_i - p_bar)^2) of k predictions.

    The population form (no k-1 correction): the weights already say how much
    each model counts, and a single model, or models that agree, give 0.
    """
    p, w = _normalised(predictions, weights)
    centre = float(w @ p)
    return float(np.sqrt(w @ (p - centre) ** 2))


def confidence_after_disagreement(conf: float, disagreement: float, scale: float) -> float:
    """Return conf * max(0, 1 - disagreement/scale).

    Models that agree keep the confidence; as their spread approaches
    ``scale`` (in the predictions' unit, e.g. 0.1 of probability) it falls
    linearly to 0, and beyond it stays 0: when the models contradict each
    other the blend's mean is not a view worth trading.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if disagreement < 0:
        raise ValueError(f"disagreement must not be negative, got {disagreement}")
    return conf * max(0.0, 1.0 - disagreement / scale)
