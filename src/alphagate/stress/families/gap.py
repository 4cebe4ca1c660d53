"""Gap opens: one to four bars open 3-12 % away from the previous close, mostly down.

The gap moves the price level for good (the bar's body is unchanged, so the
close moves with the open), as an overnight shock does. Every symbol gaps at
the same moments. Reads: the whole history; edits bars after the training end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphagate.stress.families.base import BarShapes, ParamValue, Scenario, ScenarioSpec, number
from alphagate.stress.families.overlay import overlaid, overlay_window

MOST_GAPS = 4


def draw(rng: np.random.Generator) -> dict[str, ParamValue]:
    """Parameters of one gap scenario: how many gaps, their sizes and signs, where they start."""
    count = int(rng.integers(1, MOST_GAPS + 1))
    params: dict[str, ParamValue] = {
        "gaps": count,
        "spacing": int(rng.integers(3, 15)),
        "start_fraction": float(rng.uniform(0.05, 0.7)),
    }
    for i in range(count):
        sign = -1.0 if rng.random() < 0.75 else 1.0
        params[f"gap_{i}"] = sign * float(rng.uniform(0.03, 0.12))
    return params


def build(
    spec: ScenarioSpec, history: pd.DataFrame, train_end: pd.Timestamp, rng: np.random.Generator
) -> Scenario:
    """Open the chosen bars of every symbol ``gap_i`` away from the close before."""
    del rng
    count = max(1, round(number(spec, "gaps")))
    spacing = max(1, round(number(spec, "spacing")))
    sizes = np.log1p([number(spec, f"gap_{i}") for i in range(count)])
    window = overlay_window(
        spec,
        history,
        train_end,
        start_fraction=number(spec, "start_fraction"),
        length=(count - 1) * spacing + 1,
    )
    offsets = np.arange(count) * spacing

    def edit(symbol: str, shapes: BarShapes, positions: np.ndarray) -> None:
        del symbol
        shapes.gap[positions[offsets]] += sizes

    return Scenario(spec, overlaid(history, window, edit, train_end))
