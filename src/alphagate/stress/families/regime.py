"""Regime switching: a Markov chain over bull, bear, sideways and high-vol, with Merton jumps.

Drifts and volatilities are stated in units of each symbol's training
volatility, so the same spec stresses a quiet index and a volatile stock
alike. The regime path and the jumps are common to all symbols (a market
regime); the diffusive shocks carry the training correlation. Reads:
training bars only (per-symbol volatility, joint correlation), then the
history's timestamps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from alphagate.stress.families.base import ParamValue, Scenario, ScenarioSpec, number, text
from alphagate.stress.families.fitted import (
    correlated_uniforms,
    correlation_factor,
    dressed,
    longest,
    restamped,
    training_set,
)

REGIMES: tuple[str, ...] = ("bull", "bear", "sideways", "high_vol")
DRIFT = np.array([0.08, -0.10, 0.0, -0.05])
"""Drift per bar of each regime, in training standard deviations."""
VOLATILITY = np.array([0.8, 1.3, 0.6, 2.5])
"""Volatility of each regime relative to the training volatility."""
JUMP_INTENSITY_FACTOR = np.array([1.0, 2.0, 0.5, 3.0])
"""Jumps come more often in bear and high-vol regimes."""
MINIMUM_BARS = 30


def draw(rng: np.random.Generator) -> dict[str, ParamValue]:
    """Parameters of one regime scenario: regime persistence, jump law, starting regime."""
    return {
        "persistence": float(rng.uniform(0.95, 0.995)),
        "jump_intensity": float(rng.uniform(0.002, 0.02)),
        "jump_mean_sigmas": float(rng.uniform(-6.0, -2.0)),
        "jump_std_sigmas": float(rng.uniform(1.0, 3.0)),
        "start_regime": str(rng.choice(REGIMES)),
    }


def regime_path(
    rng: np.random.Generator, length: int, persistence: float, start: int
) -> np.ndarray:
    """A Markov chain of regime numbers: stay with ``persistence``, else move at random."""
    path = np.empty(length, dtype=np.int64)
    stays = rng.random(length) < persistence
    moves = rng.integers(1, len(REGIMES), size=length)
    state = start
    for t in range(length):
        if t and not stays[t]:
            state = (state + int(moves[t])) % len(REGIMES)
        path[t] = state
    return path


def build(
    spec: ScenarioSpec, history: pd.DataFrame, train_end: pd.Timestamp, rng: np.random.Generator
) -> Scenario:
    """Simulate a regime path and each symbol's returns on it, as long as the history."""
    persistence = number(spec, "persistence")
    intensity = number(spec, "jump_intensity")
    jump_mean = number(spec, "jump_mean_sigmas")
    jump_std = number(spec, "jump_std_sigmas")
    start = REGIMES.index(text(spec, "start_regime", REGIMES))
    training = training_set(history, train_end, minimum=MINIMUM_BARS)
    joint = training.joint_returns()
    length = longest(history)
    states = regime_path(rng, length, persistence, start)
    counts = rng.poisson(intensity * JUMP_INTENSITY_FACTOR[states])
    jumps = counts * jump_mean + np.sqrt(counts) * jump_std * rng.standard_normal(length)
    shocks = stats.norm.ppf(correlated_uniforms(rng, length, correlation_factor(joint)))
    paths = {}
    for column, rows in enumerate(training.rows):
        shapes = training.shapes[rows.symbol]
        sigma = max(float(np.std(shapes.returns[1:])), 1e-12)
        returns = sigma * (DRIFT[states] + VOLATILITY[states] * shocks[:, column] + jumps)
        scale = VOLATILITY[states] + np.abs(jumps)
        paths[rows.symbol] = dressed(rng, shapes, returns, scale)
    return Scenario(spec, restamped(history, paths, training.floors))
