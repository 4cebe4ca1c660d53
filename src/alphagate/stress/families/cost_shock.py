"""Execution and cost shock: commissions and slippage 2-5x, and orders late by 0-3 bars.

The bars are the history's; the runner multiplies the configured commission
and slippage by ``execution``'s factors and delays fills by
``latency_bars``. Reads: nothing of the history but its bars, unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphagate.stress.families.base import ParamValue, Scenario, ScenarioSpec, number
from alphagate.stress.families.overlay import unchanged


def draw(rng: np.random.Generator) -> dict[str, ParamValue]:
    """Parameters of one cost shock: the two multipliers and the latency."""
    return {
        "commission": float(rng.uniform(2.0, 5.0)),
        "slippage": float(rng.uniform(2.0, 5.0)),
        "latency_bars": int(rng.integers(0, 4)),
    }


def build(
    spec: ScenarioSpec, history: pd.DataFrame, train_end: pd.Timestamp, rng: np.random.Generator
) -> Scenario:
    """The history as it is, with the execution changes the runner applies."""
    del rng
    execution = {
        "commission": number(spec, "commission"),
        "slippage": number(spec, "slippage"),
        "latency_bars": float(round(number(spec, "latency_bars"))),
    }
    return Scenario(spec, unchanged(history, train_end), execution=execution)
