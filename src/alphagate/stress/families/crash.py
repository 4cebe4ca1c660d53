"""Crash: a fall of 10-35 % over 1-20 bars, with volatility 2-4x, shaped after three crashes.

The shapes borrow the *form* of historical crashes, not their data:

- ``1987``: a few uneasy bars, then most of the fall in one bar;
- ``2008``: a grinding staircase down, broken by relief rallies;
- ``2020``: a waterfall that accelerates to its end.

Over the crash window each bar's return is the shape's share of the fall
plus the historical return's deviation from the window mean, times the
volatility multiplier; the deviations sum to zero, so the window ends
exactly ``depth`` below where it started. After it, volatility decays back
to normal over three times the crash's length. Reads: the whole history;
edits bars after the training end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphagate.stress.families.base import (
    BarShapes,
    ParamValue,
    Scenario,
    ScenarioSpec,
    number,
    text,
)
from alphagate.stress.families.overlay import overlaid, overlay_window

SHAPES: tuple[str, ...] = ("1987", "2008", "2020")


def draw(rng: np.random.Generator) -> dict[str, ParamValue]:
    """Parameters of one crash: depth, length, volatility multiplier, shape and place."""
    return {
        "depth": float(rng.uniform(0.10, 0.35)),
        "days": int(rng.integers(1, 21)),
        "vol_multiplier": float(rng.uniform(2.0, 4.0)),
        "shape": str(rng.choice(SHAPES)),
        "start_fraction": float(rng.uniform(0.05, 0.6)),
    }


def fall_weights(shape: str, days: int) -> np.ndarray:
    """Each bar's share of the total fall (they sum to one; a negative share is a rally)."""
    if days == 1:
        return np.ones(1)
    steps = np.arange(days, dtype=np.float64)
    if shape == "1987":
        weights = np.full(days, 0.25 / (days - 1))
        weights[-1] = 0.75
        return weights
    if shape == "2008":
        raw = 1.0 + 1.5 * np.sin(2 * np.pi * steps / max(days / 3.0, 2.0))
    else:
        raw = (steps + 1.0) ** 2
    return np.asarray(raw / raw.sum(), dtype=np.float64)


def aftermath_length(days: int) -> int:
    """Bars over which volatility decays back to normal after the crash."""
    return max(5, 3 * days)


def build(
    spec: ScenarioSpec, history: pd.DataFrame, train_end: pd.Timestamp, rng: np.random.Generator
) -> Scenario:
    """Write the crash and its aftermath onto every symbol at the same moment."""
    del rng  # every choice is in the spec's parameters
    depth = number(spec, "depth")
    days = max(1, round(number(spec, "days")))
    multiplier = number(spec, "vol_multiplier")
    weights = fall_weights(text(spec, "shape", SHAPES), days)
    after = aftermath_length(days)
    window = overlay_window(
        spec,
        history,
        train_end,
        start_fraction=number(spec, "start_fraction"),
        length=days + after,
    )
    fall = np.log1p(-depth)
    decay = np.linspace(multiplier, 1.0, after + 1)[1:]

    def edit(symbol: str, shapes: BarShapes, positions: np.ndarray) -> None:
        del symbol
        crash, aftermath = positions[:days], positions[days:]
        history_returns = shapes.returns[crash]
        returns = weights * fall + multiplier * (history_returns - history_returns.mean())
        scale_bars(shapes, crash, np.full(days, multiplier), returns)
        scale_bars(shapes, aftermath, decay, shapes.returns[aftermath] * decay)

    return Scenario(spec, overlaid(history, window, edit, train_end))


def scale_bars(
    shapes: BarShapes, positions: np.ndarray, factor: np.ndarray, returns: np.ndarray
) -> None:
    """Give bars at ``positions`` new ``returns``; scale gaps, wicks and volume by ``factor``."""
    shapes.gap[positions] *= factor
    shapes.body[positions] = returns - shapes.gap[positions]
    shapes.upper[positions] *= factor
    shapes.lower[positions] *= factor
    shapes.volume[positions] *= factor
