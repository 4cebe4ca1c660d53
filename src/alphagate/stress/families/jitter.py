"""Parameter jitter: each of a rule strategy's parameters moved by 10-20 %, up or down.

A generator does not know the strategy, so the multipliers are a function of
the spec and the parameter's *name*: :func:`jitter_multipliers` gives a
parameter the same multiplier whatever other parameters the strategy has.
``build`` fills ``strategy_params`` for the names it is given (none: an
empty mapping, and the runner asks :func:`jitter_multipliers` itself).
Reads: nothing of the history but its bars, unchanged.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np
import pandas as pd

from alphagate.stress.families.base import ParamValue, Scenario, ScenarioSpec, number
from alphagate.stress.families.overlay import unchanged


def draw(rng: np.random.Generator) -> dict[str, ParamValue]:
    """Parameters of one jitter: the smallest and largest relative change."""
    low = float(rng.uniform(0.10, 0.15))
    return {"min_change": low, "max_change": float(rng.uniform(low, 0.20))}


def jitter_multipliers(spec: ScenarioSpec, names: Iterable[str]) -> dict[str, float]:
    """A multiplier in ``1 ± [min_change, max_change]`` for each parameter name.

    Each name gets its own generator, seeded by the spec's seed and a
    checksum of the name (stable across processes, unlike ``hash``).
    """
    low = number(spec, "min_change")
    high = number(spec, "max_change")
    multipliers: dict[str, float] = {}
    for name in names:
        rng = np.random.default_rng([spec.seed, zlib.crc32(name.encode())])
        change = float(rng.uniform(low, high))
        multipliers[name] = 1.0 - change if rng.random() < 0.5 else 1.0 + change
    return multipliers


def build(
    spec: ScenarioSpec,
    history: pd.DataFrame,
    train_end: pd.Timestamp,
    rng: np.random.Generator,
    parameters: Iterable[str] = (),
) -> Scenario:
    """The history as it is, with multipliers for ``parameters``."""
    del rng
    return Scenario(
        spec, unchanged(history, train_end), strategy_params=jitter_multipliers(spec, parameters)
    )
