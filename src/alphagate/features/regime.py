"""A volatility-regime feature from a Gaussian hidden Markov model, point in time by construction.

Markets alternate between calm and turbulent spells, and many signals work in
one and fail in the other. A two-state Gaussian HMM on ``[log return,
realised volatility]`` gives a soft answer to "which spell are we in?": the
probability of the high-volatility state.

The usual way of getting that probability leaks. ``GaussianHMM.fit`` on the
whole series learns parameters from the future, and ``predict`` (Viterbi) or
``predict_proba`` (forward-backward) *smooth*: the state at ``t`` is inferred
from observations after ``t`` too, so a regime switch shows up in the
probabilities before it happens. This module avoids both:

* **Expanding-window fits.** The model used at bar ``t`` was fitted on the
  symbol's bars up to the last refit position ``p <= t``, never later ones.
  Refit positions are ``min_history - 1 + k * refit_every``, counted from the
  symbol's first bar, so cutting the series after ``t`` leaves every fit that
  bar ``t`` relies on unchanged.
* **Filtering, not smoothing.** The probabilities at ``t`` come from the
  forward algorithm alone, run from the first observation to ``t``
  (``forward_filter``). They are ``P(state_t | x_1..x_t)``, what a live system
  knows at ``t``. The forward pass is written here, on the fitted ``startprob_``,
  ``transmat_``, ``means_`` and ``covars_``, so no hmmlearn inference routine
  that might smooth is ever called.

State labels from EM are arbitrary and could swap between refits, turning
"high volatility" into "low volatility" overnight. Every fitted model is
therefore reordered so state 0 has the lowest mean volatility and the last
state the highest. EM also starts from a deterministic, already ordered
guess (volatility-quantile means, sticky transitions), so no random draw or
k-means run enters a fit and two builds give identical numbers.

Observations are standardised with the mean and standard deviation of the
fit's own training window (point in time, like everything else here): raw
daily returns and volatilities are of order 1e-2, below hmmlearn's
covariance floor ``min_covar = 1e-3``, which would otherwise swamp them.

Cost
----
Each refit re-runs the filter from the first bar, so the work grows with
``n ** 2 / refit_every`` bars for ``n`` bars of history; with EM fits on up
to ``n`` observations on top. That is fine for daily bars (ten years, 2,516 bars,
take about 0.7 s per symbol) and the wrong tool for millions of minute bars.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from hmmlearn.hmm import GaussianHMM

from alphagate.features.registry import FeatureSpec

FloatArray = npt.NDArray[np.float64]

VOLATILITY_WINDOW = 20
"""Bars in the realised volatility observation, the same as ``realised_volatility(20)``."""

EM_ITERATIONS = 50
"""Most EM iterations per fit: regimes are coarse, and fits are the feature's main cost."""

EM_TOLERANCE = 1e-3
"""EM stops once an iteration gains less log-likelihood than this."""

RANDOM_STATE = 0
"""Seed handed to hmmlearn; with the deterministic start below no draw is made, but fixed anyway."""

STAY_PROBABILITY = 0.95
"""Initial chance of staying in a state: regimes last weeks, so EM starts from sticky states."""

OBSERVATIONS_PER_STATE = 10
"""Fewest training observations per state the first fit may have."""

P_HIGH_VOL = "regime_p_high_vol"
STATE = "regime_state"


@dataclass(frozen=True)
class RegimeModel:
    """A fitted HMM in canonical state order, with the standardisation it was fitted under.

    Attributes
    ----------
    startprob, transmat
        Initial and transition probabilities, states sorted by mean volatility.
    means, variances
        Per-state means and diagonal variances of the *standardised* observations,
        shape ``(n_states, 2)``.
    centre, scale
        Mean and standard deviation of the raw training observations; an
        observation ``x`` is standardised as ``(x - centre) / scale``.
    """

    startprob: FloatArray
    transmat: FloatArray
    means: FloatArray
    variances: FloatArray
    centre: FloatArray
    scale: FloatArray

    def log_likelihood(self, observations: FloatArray) -> FloatArray:
        """Per-state log densities of raw observations, shape ``(rows, n_states)``."""
        standardised = (observations - self.centre) / self.scale
        return diagonal_gaussian_log_likelihood(standardised, self.means, self.variances)


def regime(n_states: int = 2, refit_every: int = 63, min_history: int = 252) -> FeatureSpec:
    """HMM volatility regime: filtered probability of the highest-volatility state, and argmax.

    Parameters
    ----------
    n_states
        Hidden states; state 0 is the calmest, ``n_states - 1`` the most volatile.
    refit_every
        Bars between refits on the expanding history (63: about a quarter of
        daily bars). Refitting more often adapts faster and costs more.
    min_history
        Bars of a symbol's history before the first fit; earlier rows are NaN.
        The first ``VOLATILITY_WINDOW`` bars give no observation, so at least
        ``OBSERVATIONS_PER_STATE * n_states`` more are required.

    Returns
    -------
    FeatureSpec
        Named ``regime_<n_states>_<refit_every>_<min_history>`` (the
        parameters are in the name so the feature cache tells configurations
        apart), computing ``regime_p_high_vol`` and ``regime_state`` (the most
        probable state as a float, NaN where undefined), with
        ``warmup = min_history - 1``.

    Examples
    --------
    >>> from alphagate.features import PROFILES, default_registry
    >>> registry = default_registry()
    >>> spec = registry.register(regime())
    >>> profile = PROFILES["medium"].with_features(spec.name)
    """
    _check_integer("regime n_states", n_states, 2)
    _check_integer("regime refit_every", refit_every, 1)
    smallest = VOLATILITY_WINDOW + OBSERVATIONS_PER_STATE * n_states
    _check_integer("regime min_history", min_history, smallest)

    def compute(bars: pd.DataFrame) -> pd.DataFrame:
        close = np.ascontiguousarray(bars["close"].to_numpy(dtype=np.float64))
        probabilities = regime_probabilities(close, n_states, refit_every, min_history)
        defined = ~np.isnan(probabilities).any(axis=1)
        state = np.full(len(close), np.nan)
        state[defined] = probabilities[defined].argmax(axis=1)
        return pd.DataFrame(
            {P_HIGH_VOL: probabilities[:, -1], STATE: state}, index=bars.index, dtype="float64"
        )

    return FeatureSpec(
        f"regime_{n_states}_{refit_every}_{min_history}",
        compute,
        warmup=min_history - 1,
        description="HMM volatility regime (filtered, expanding refits)",
    )


def observations(close: FloatArray) -> FloatArray:
    """``[log return, rolling realised volatility]`` per bar, NaN where not yet defined.

    The volatility is the sample standard deviation of the last
    ``VOLATILITY_WINDOW`` one-bar log returns, the current one included, so
    both columns at ``t`` use closes up to ``t`` only.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        log_close = np.log(np.asarray(close, dtype=np.float64))
    returns = np.full(len(log_close), np.nan)
    returns[1:] = log_close[1:] - log_close[:-1]
    window = pd.Series(returns).rolling(VOLATILITY_WINDOW, min_periods=VOLATILITY_WINDOW)
    volatility = window.std(ddof=1).to_numpy(dtype=np.float64)
    return np.column_stack([returns, volatility])


def regime_probabilities(
    close: FloatArray, n_states: int = 2, refit_every: int = 63, min_history: int = 252
) -> FloatArray:
    """Filtered state probabilities per bar, shape ``(len(close), n_states)``, NaN before a fit.

    Rows from refit position ``p`` up to the next one use the model fitted on
    bars ``0..p`` and are filtered from the first observation; see the module
    docstring for why this is point in time. Rows without an observation
    (the first ``VOLATILITY_WINDOW`` bars, or after a non-finite close) are
    NaN and skipped by the filter, as they were by the fit. A fit whose
    parameters come out non-finite leaves its rows NaN rather than guessing.
    """
    values = observations(close)
    count = len(values)
    result = np.full((count, n_states), np.nan)
    valid = np.asarray(np.isfinite(values).all(axis=1), dtype=np.bool_)
    positions = np.arange(count)
    for start in range(min_history - 1, count, refit_every):
        stop = min(start + refit_every, count)
        training = values[: start + 1][valid[: start + 1]]
        if len(training) < OBSERVATIONS_PER_STATE * n_states:
            continue
        model = fit_regime_model(training, n_states)
        if model is None:
            continue
        rows = positions[:stop][valid[:stop]]
        filtered, _ = forward_filter(
            model.log_likelihood(values[rows]), model.startprob, model.transmat
        )
        keep = rows >= start
        result[rows[keep]] = filtered[keep]
    return result


def fit_regime_model(training: FloatArray, n_states: int) -> RegimeModel | None:
    """Fit a diagonal Gaussian HMM to raw observations; ``None`` if EM gave non-finite numbers.

    EM starts from fixed values rather than hmmlearn's random Dirichlet draws
    and k-means: uniform start probabilities, ``STAY_PROBABILITY`` on the
    transition diagonal, and state means taken from equal-count slices of the
    observations sorted by volatility. The same data then always gives the
    same model, and the start already has the canonical order.
    """
    centre = training.mean(axis=0)
    scale = training.std(axis=0)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    standardised = (training - centre) / scale
    by_volatility = np.array_split(np.argsort(standardised[:, 1], kind="stable"), n_states)
    hmm = GaussianHMM(
        n_components=n_states,
        covariance_type="diag",
        n_iter=EM_ITERATIONS,
        tol=EM_TOLERANCE,
        random_state=RANDOM_STATE,
        init_params="c",
        params="stmc",
    )
    leave = (1.0 - STAY_PROBABILITY) / (n_states - 1)
    hmm.startprob_ = np.full(n_states, 1.0 / n_states)
    hmm.transmat_ = np.full((n_states, n_states), leave) + np.eye(n_states) * (
        STAY_PROBABILITY - leave
    )
    hmm.means_ = np.vstack([standardised[rows].mean(axis=0) for rows in by_volatility])
    hmm.fit(standardised)
    means = np.asarray(hmm.means_, dtype=np.float64)
    variances = np.diagonal(np.asarray(hmm.covars_, dtype=np.float64), axis1=1, axis2=2)
    startprob = np.asarray(hmm.startprob_, dtype=np.float64)
    transmat = np.asarray(hmm.transmat_, dtype=np.float64)
    parameters = (means, variances, startprob, transmat)
    if not all(np.isfinite(p).all() for p in parameters) or not (variances > 0).all():
        return None
    order = np.argsort(means[:, 1], kind="stable")
    return RegimeModel(
        startprob=startprob[order],
        transmat=transmat[np.ix_(order, order)],
        means=means[order],
        variances=np.ascontiguousarray(variances[order]),
        centre=centre,
        scale=scale,
    )


def diagonal_gaussian_log_likelihood(
    observations: FloatArray, means: FloatArray, variances: FloatArray
) -> FloatArray:
    """``log N(x_t; mean_k, diag(variance_k))`` for every row ``t`` and state ``k``.

    Written out rather than taken from hmmlearn's private
    ``_compute_log_likelihood``, whose name and behaviour may change between
    releases.
    """
    x = np.asarray(observations, dtype=np.float64)[:, None, :]
    squared = (x - means[None, :, :]) ** 2 / variances[None, :, :]
    log_norm = np.log(2.0 * np.pi * variances).sum(axis=1)
    result: FloatArray = -0.5 * (log_norm[None, :] + squared.sum(axis=2))
    return result


def forward_filter(
    log_likelihood: FloatArray, startprob: FloatArray, transmat: FloatArray
) -> tuple[FloatArray, float]:
    """The forward algorithm: ``P(state_t | x_1..x_t)`` for each row, and ``log P(x_1..x_T)``.

    Each row is predict (``alpha @ transmat``) then update (times the
    emission density, normalised), so row ``t`` depends on rows ``<= t``
    only, unlike forward-backward smoothing. The update works in logs and
    rescales by its largest term, so neither a tiny density nor a
    zero transition probability underflows to 0/0.

    Parameters
    ----------
    log_likelihood
        ``(rows, n_states)`` log emission densities.
    startprob, transmat
        The HMM's initial and transition probabilities.

    Returns
    -------
    tuple
        The ``(rows, n_states)`` filtered probabilities and the sequence's
        total log-likelihood (equal to hmmlearn's ``score``).
    """
    rows, states = log_likelihood.shape
    filtered = np.empty((rows, states))
    predicted = np.asarray(startprob, dtype=np.float64)
    total = 0.0
    with np.errstate(divide="ignore"):
        for row in range(rows):
            joint_log = np.log(predicted) + log_likelihood[row]
            top = float(joint_log.max())
            joint = np.exp(joint_log - top)
            norm = float(joint.sum())
            alpha = joint / norm
            filtered[row] = alpha
            total += top + float(np.log(norm))
            predicted = alpha @ transmat
    return filtered, total


def _check_integer(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
