"""Bootstrap: the candidate's training bars, resampled in blocks (``arch``'s stationary bootstrap).

Whole bars are resampled, the same moments for every symbol, so each bar
keeps its shape and the symbols keep their cross-correlation; only the order
of market regimes changes, which is the "regime order" test. Block lengths
vary across the library (short blocks scramble volatility clusters, long
ones keep them). Reads: training bars only, then the history's timestamps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from arch.bootstrap import StationaryBootstrap

from alphagate.stress.families.base import ParamValue, Scenario, ScenarioSpec, number
from alphagate.stress.families.fitted import longest, restamped, training_set

BLOCK_LENGTHS: tuple[int, ...] = (5, 10, 20, 40)
"""Mean block lengths in bars drawn across the library."""

MINIMUM_BARS = 30


def draw(rng: np.random.Generator) -> dict[str, ParamValue]:
    """Parameters of one bootstrap scenario: a mean block length."""
    return {"block_length": int(rng.choice(BLOCK_LENGTHS))}


def resampled_positions(
    rng: np.random.Generator, available: int, length: int, block_length: int
) -> np.ndarray:
    """``length`` positions in ``range(available)``, drawn by stationary bootstrap.

    One bootstrap draw is as long as the sample; a longer path chains draws.
    """
    bootstrap = StationaryBootstrap(block_length, np.arange(available), seed=rng)
    parts: list[np.ndarray] = []
    drawn = 0
    while drawn < length:
        part = np.asarray(bootstrap.update_indices(), dtype=np.int64)
        parts.append(part)
        drawn += len(part)
    return np.concatenate(parts)[:length]


def build(
    spec: ScenarioSpec, history: pd.DataFrame, train_end: pd.Timestamp, rng: np.random.Generator
) -> Scenario:
    """Resample the training bars into a path as long as the history."""
    block_length = max(1, round(number(spec, "block_length")))
    training = training_set(history, train_end, minimum=MINIMUM_BARS)
    shared_count = len(next(iter(training.shared.values())))
    positions = resampled_positions(rng, shared_count, longest(history), block_length)
    paths = {
        symbol: shapes.take(training.shared[symbol][positions])
        for symbol, shapes in training.shapes.items()
    }
    return Scenario(spec, restamped(history, paths, training.floors))
