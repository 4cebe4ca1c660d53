"""Flash crash: within one bar the price falls 5-20 % and claws part of it back; the rest follows.

On the crash bar the low reaches ``drop`` below the open and the close keeps
only ``1 - recovery`` of the fall; the following ``recovery_bars`` bars win
back what is left, so the path ends where history would have it. Volume on
the crash bar is five times its stored value. Reads: the whole history;
edits bars after the training end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphagate.stress.families.base import BarShapes, ParamValue, Scenario, ScenarioSpec, number
from alphagate.stress.families.overlay import overlaid, overlay_window

CRASH_VOLUME = 5.0


def draw(rng: np.random.Generator) -> dict[str, ParamValue]:
    """Parameters of one flash crash: the intrabar drop, how much comes back at once, and when."""
    return {
        "drop": float(rng.uniform(0.05, 0.20)),
        "recovery": float(rng.uniform(0.5, 1.0)),
        "recovery_bars": int(rng.integers(1, 6)),
        "start_fraction": float(rng.uniform(0.05, 0.9)),
    }


def build(
    spec: ScenarioSpec, history: pd.DataFrame, train_end: pd.Timestamp, rng: np.random.Generator
) -> Scenario:
    """Crash every symbol within one bar, then recover over the next few."""
    del rng
    drop = number(spec, "drop")
    recovery = number(spec, "recovery")
    recovery_bars = max(1, round(number(spec, "recovery_bars")))
    window = overlay_window(
        spec,
        history,
        train_end,
        start_fraction=number(spec, "start_fraction"),
        length=1 + recovery_bars,
    )
    kept = np.log1p(-drop * (1.0 - recovery))  # the bar's close stays this far down
    bottom = np.log1p(-drop)

    def edit(symbol: str, shapes: BarShapes, positions: np.ndarray) -> None:
        del symbol
        bar, after = positions[0], positions[1:]
        shapes.body[bar] += kept
        # The low is the open plus the bottom; measured from the lower of open and close.
        below_body = min(0.0, float(shapes.body[bar])) - bottom
        shapes.lower[bar] = max(float(shapes.lower[bar]), below_body)
        shapes.volume[bar] *= CRASH_VOLUME
        shapes.body[after] -= kept / len(after)

    return Scenario(spec, overlaid(history, window, edit, train_end))
