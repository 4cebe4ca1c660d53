"""What ``alphagate stress scenarios show|plot`` print and draw for one scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from alphagate.domain.bars import symbols_of
from alphagate.stress.families import REGISTRY
from alphagate.stress.families.base import Scenario, ScenarioSpec


def describe(spec: ScenarioSpec) -> dict[str, Any]:
    """A JSON-able description of ``spec``: identity, parameters, and what the family reads."""
    family = REGISTRY.get(spec.family)
    return {
        "name": spec.name,
        "family": spec.family,
        "seed": spec.seed,
        "params": dict(spec.params),
        "reads": family.reads if family else "unknown family",
    }


def plot(scenario: Scenario, path: Path, *, original: pd.DataFrame | None = None) -> Path:
    """Write a PNG of each symbol's close (one panel a symbol), the ``original`` dashed.

    Uses matplotlib's object API with the Agg canvas, so it needs no display
    and leaves pyplot's global state alone (worker processes may call it).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # slow import
    from matplotlib.figure import Figure

    symbols = symbols_of(scenario.bars)
    figure = Figure(figsize=(9, 2.6 * max(1, len(symbols))), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(max(1, len(symbols)), 1, squeeze=False)[:, 0]
    for ax, symbol in zip(axes, symbols, strict=False):
        close = scenario.bars.xs(symbol, level="symbol")["close"]
        ax.plot(close.index, close.to_numpy(), linewidth=1.0, label=scenario.spec.name)
        if original is not None and symbol in symbols_of(original):
            before = original.xs(symbol, level="symbol")["close"]
            ax.plot(before.index, before.to_numpy(), "--", linewidth=0.8, label="history")
        ax.set_title(f"{symbol}: {scenario.spec.name} ({scenario.spec.family})", fontsize=9)
        ax.legend(fontsize=8, loc="best")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    return path
