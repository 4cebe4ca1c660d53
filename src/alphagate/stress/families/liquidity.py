"""Liquidity drought: spreads 3-10x wider and volume a fifth, over 20-60 bars.

Prices are the history's; what changes is what trading them costs. Lower
volume makes the participation cap and the impact model bite, and the
spread series (full spread in basis points, per bar) replaces the configured
one. Reads: the whole history; edits bars after the training end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphagate.stress.families.base import BarShapes, ParamValue, Scenario, ScenarioSpec, number
from alphagate.stress.families.overlay import overlaid, overlay_window

BASE_SPREAD_BPS = 10.0
"""The spread outside the drought: ``execution.conservative.spread_bps``'s default."""
VOLUME_DIVISOR = 5.0


def draw(rng: np.random.Generator) -> dict[str, ParamValue]:
    """Parameters of one drought: spread multiplier, volume divisor, length and place."""
    return {
        "spread_multiplier": float(rng.uniform(3.0, 10.0)),
        "volume_divisor": VOLUME_DIVISOR,
        "bars": int(rng.integers(20, 61)),
        "base_spread_bps": BASE_SPREAD_BPS,
        "start_fraction": float(rng.uniform(0.05, 0.7)),
    }


def build(
    spec: ScenarioSpec, history: pd.DataFrame, train_end: pd.Timestamp, rng: np.random.Generator
) -> Scenario:
    """Thin every symbol's volume and widen its spread over the drought window."""
    del rng
    multiplier = number(spec, "spread_multiplier")
    divisor = number(spec, "volume_divisor")
    base = number(spec, "base_spread_bps")
    window = overlay_window(
        spec,
        history,
        train_end,
        start_fraction=number(spec, "start_fraction"),
        length=max(1, round(number(spec, "bars"))),
    )

    def edit(symbol: str, shapes: BarShapes, positions: np.ndarray) -> None:
        del symbol
        shapes.volume[positions] /= divisor

    bars = overlaid(history, window, edit, train_end)
    ts = history.index.get_level_values("ts")
    spread = np.where(ts.isin(window), base * multiplier, base)
    return Scenario(
        spec, bars, spread_bps=pd.Series(spread, index=history.index, name="spread_bps")
    )
