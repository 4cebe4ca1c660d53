"""GARCH: a GARCH(1,1) with Student-t innovations per symbol, fitted on training bars, simulated.

Each symbol's model is fitted with ``arch`` on its training returns only.
Symbols stay correlated: the simulation's standardized shocks are drawn
through a Gaussian copula with the correlation of the training residuals,
then mapped onto each symbol's own fitted Student-t, so every marginal is
exactly the fitted one. Reads: training bars only, then the history's
timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from alphagate.stress.families.base import FloatArray, ParamValue, Scenario, ScenarioSpec
from alphagate.stress.families.fitted import (
    correlated_uniforms,
    correlation_factor,
    dressed,
    longest,
    restamped,
    training_set,
)

MINIMUM_BARS = 100
SCALE = 100.0
"""Returns are fitted in percent: ``arch``'s optimiser is happiest with values near 1."""


@dataclass(frozen=True)
class GarchFit:
    """A fitted GARCH(1,1)-t in percent returns: ``sigma2 = omega + alpha e^2 + beta sigma2``."""

    mu: float
    omega: float
    alpha: float
    beta: float
    nu: float

    @property
    def persistence(self) -> float:
        """``alpha + beta``: how slowly a volatility shock fades."""
        return self.alpha + self.beta

    def long_run_variance(self, fallback: float) -> float:
        """The unconditional variance, or ``fallback`` when the fit is (nearly) integrated."""
        if self.persistence < 0.999:
            return self.omega / (1.0 - self.persistence)
        return fallback


def draw(rng: np.random.Generator) -> dict[str, ParamValue]:
    """Parameters of one GARCH scenario: none beyond the seed; the model is fitted."""
    del rng
    return {"model": "garch11-t"}


def fit(returns: FloatArray) -> tuple[GarchFit, FloatArray]:
    """Fit GARCH(1,1)-t to log ``returns``; return the fit and its standardized residuals."""
    from arch import arch_model  # arch is slow to import; only this family needs it

    model = arch_model(
        SCALE * returns, mean="Constant", vol="GARCH", p=1, q=1, dist="t", rescale=False
    )
    result = model.fit(disp="off", show_warning=False)
    params = result.params
    residuals = np.nan_to_num(np.asarray(result.std_resid, dtype=np.float64))
    return (
        GarchFit(
            mu=float(params["mu"]),
            omega=float(params["omega"]),
            alpha=float(params["alpha[1]"]),
            beta=float(params["beta[1]"]),
            nu=float(params["nu"]),
        ),
        residuals,
    )


def simulate(
    fit: GarchFit, uniforms: FloatArray, start_variance: float
) -> tuple[FloatArray, FloatArray]:
    """Log returns and conditional volatilities (both as fractions) driven by ``uniforms``.

    ``uniforms`` become standardized Student-t shocks (unit variance) through
    the t quantile function, which is how the copula's correlation reaches
    the shocks without changing their distribution.
    """
    nu = max(fit.nu, 2.05)
    shocks = stats.t.ppf(np.clip(uniforms, 1e-12, 1 - 1e-12), nu) * np.sqrt((nu - 2.0) / nu)
    n = len(uniforms)
    returns = np.empty(n)
    sigma = np.empty(n)
    variance = start_variance
    for t in range(n):
        sigma[t] = np.sqrt(variance)
        error = sigma[t] * shocks[t]
        returns[t] = fit.mu + error
        variance = fit.omega + fit.alpha * error * error + fit.beta * variance
    return returns / SCALE, sigma / SCALE


def build(
    spec: ScenarioSpec, history: pd.DataFrame, train_end: pd.Timestamp, rng: np.random.Generator
) -> Scenario:
    """Fit per symbol on training bars, simulate jointly as long as the history."""
    training = training_set(history, train_end, minimum=MINIMUM_BARS)
    fits: dict[str, GarchFit] = {}
    residuals: dict[str, FloatArray] = {}
    for symbol, shapes in training.shapes.items():
        fits[symbol], residuals[symbol] = fit(shapes.returns[1:])
    # Residual i is the return at training position i + 1 (the first bar was dropped).
    joint = np.column_stack(
        [residuals[r.symbol][training.shared[r.symbol] - 1] for r in training.rows]
    )
    length = longest(history)
    uniforms = correlated_uniforms(rng, length, correlation_factor(joint))
    paths = {}
    for column, rows in enumerate(training.rows):
        symbol = rows.symbol
        train_returns = training.shapes[symbol].returns[1:]
        sample_variance = float(np.var(SCALE * train_returns))
        returns, sigma = simulate(
            fits[symbol], uniforms[:, column], fits[symbol].long_run_variance(sample_variance)
        )
        scale = sigma / max(float(np.std(train_returns)), 1e-12)
        paths[symbol] = dressed(rng, training.shapes[symbol], returns, scale)
    return Scenario(spec, restamped(history, paths, training.floors))
