"""Correlation break: over 20-60 bars every pair of symbols moves together at 0.8-0.95.

Diversification fails when it is needed. Within the window the symbols'
returns are rebuilt so that their sample correlation is *exactly* the
target while each keeps its own mean and volatility over the window: the
standardized historical returns are orthonormalised (so what is left of
their own shape is uncorrelated) and then mixed by the Cholesky factor of
the target correlation matrix. The risk guard's correlation breaker must
fire here. Reads: the whole history; edits bars after the training end.
One symbol has nothing to correlate with: the history is returned as is,
with a note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphagate.stress.families.base import (
    BarShapes,
    FloatArray,
    ParamValue,
    Scenario,
    ScenarioSpec,
    number,
    symbol_rows,
)
from alphagate.stress.families.overlay import overlaid, overlay_window, unchanged


def draw(rng: np.random.Generator) -> dict[str, ParamValue]:
    """Parameters of one correlation break: target correlation, window length, place."""
    return {
        "target": float(rng.uniform(0.8, 0.95)),
        "bars": int(rng.integers(20, 61)),
        "start_fraction": float(rng.uniform(0.05, 0.7)),
    }


def correlated(returns: FloatArray, target: float) -> FloatArray:
    """Columns with each one's mean and standard deviation, and pairwise correlation ``target``.

    Needs more rows than columns. The orthonormal basis is signed so that each
    new column leans towards the old one, keeping what it can of history.
    """
    rows, columns = returns.shape
    mean = returns.mean(axis=0)
    std = returns.std(axis=0)
    centered = returns - mean
    basis, triangle = np.linalg.qr(centered)
    basis = basis * np.where(np.diag(triangle) < 0, -1.0, 1.0)
    goal = np.full((columns, columns), target)
    np.fill_diagonal(goal, 1.0)
    mixed = basis @ np.linalg.cholesky(goal).T  # unit-norm, centered columns
    return np.asarray(mean + mixed * np.sqrt(rows) * std, dtype=np.float64)


def build(
    spec: ScenarioSpec, history: pd.DataFrame, train_end: pd.Timestamp, rng: np.random.Generator
) -> Scenario:
    """Force the target correlation on every pair of symbols over the window."""
    del rng
    rows = symbol_rows(history)
    if len(rows) < 2:
        return Scenario(
            spec,
            unchanged(history, train_end),
            note="one symbol has no pair to correlate with; the history is unchanged",
        )
    target = number(spec, "target")
    length = max(len(rows) + 2, round(number(spec, "bars")))
    window = overlay_window(
        spec, history, train_end, start_fraction=number(spec, "start_fraction"), length=length
    )
    originals: dict[str, FloatArray] = {}

    def collect(symbol: str, shapes: BarShapes, positions: np.ndarray) -> None:
        originals[symbol] = shapes.returns[positions]

    overlaid(history, window, collect, train_end)
    names = [r.symbol for r in rows]
    new = correlated(np.column_stack([originals[s] for s in names]), target)
    column = {symbol: i for i, symbol in enumerate(names)}

    def edit(symbol: str, shapes: BarShapes, positions: np.ndarray) -> None:
        shapes.body[positions] = new[:, column[symbol]] - shapes.gap[positions]

    return Scenario(spec, overlaid(history, window, edit, train_end))
