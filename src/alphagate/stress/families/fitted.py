"""What the fitting families (bootstrap, GARCH, regime) share: the fit window and restamping.

A fitting family learns from the candidate's training bars only (``ts <=
train_end``, checked by :func:`check_fit_window`) and writes a wholly new path
of the history's length onto the history's timestamps. No value of a bar
after the training end reaches the output: the history contributes only its
timestamps and each symbol's first open, the price the path starts from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from alphagate.stress.families.base import (
    BarShapes,
    FloatArray,
    ScenarioError,
    SymbolRows,
    bars_of,
    check_fit_window,
    common_stamps,
    fit_window,
    frame_like,
    history_values,
    shapes_of,
    symbol_rows,
    volume_floor,
)


@dataclass(frozen=True)
class TrainingSet:
    """The training bars as shapes: per symbol, and jointly on the stamps all symbols share."""

    rows: list[SymbolRows]
    shapes: dict[str, BarShapes]
    floors: dict[str, float]
    shared: dict[str, np.ndarray]
    """Per symbol, the positions (in its training rows) of the shared stamps, first bar dropped."""

    def joint_returns(self) -> FloatArray:
        """Returns on shared stamps, one column a symbol (rows are the same moments)."""
        return np.column_stack(
            [self.shapes[r.symbol].returns[self.shared[r.symbol]] for r in self.rows]
        )


def training_set(history: pd.DataFrame, train_end: pd.Timestamp, *, minimum: int) -> TrainingSet:
    """Shapes of the bars up to ``train_end``, refusing too few of them or any later one.

    Each symbol's first training bar is dropped from the fit: its gap is
    measured from its own open, an artefact, not a return.
    """
    train = fit_window(history, train_end)
    check_fit_window(train, train_end, minimum=minimum)
    values = history_values(train)
    rows = symbol_rows(train)
    shapes = {r.symbol: shapes_of(values[r.start : r.stop]) for r in rows}
    floors = {r.symbol: volume_floor(values[r.start : r.stop]) for r in rows}
    stamps = common_stamps(rows)
    stamps = stamps[stamps > max(r.ts[0] for r in rows)]
    shared = {r.symbol: r.ts.get_indexer(stamps) for r in rows}
    if len(stamps) < minimum:
        raise ScenarioError(
            f"only {len(stamps)} training timestamps are shared by every symbol (need {minimum}); "
            "fit on symbols that trade on the same calendar, or move the training end later"
        )
    return TrainingSet(rows, shapes, floors, shared)


def correlation_factor(standardized: FloatArray) -> FloatArray:
    """A Cholesky factor of the columns' correlation, so ``z @ factor.T`` has that correlation.

    A nearly singular correlation (two copies of one series) is nudged onto
    the diagonal just enough to factor.
    """
    k = standardized.shape[1]
    if k == 1:
        return np.ones((1, 1))
    corr = np.asarray(np.nan_to_num(np.corrcoef(standardized, rowvar=False), nan=0.0))
    np.fill_diagonal(corr, 1.0)
    for shrink in (0.0, 1e-6, 1e-3, 1e-2, 1e-1):
        try:
            factor = np.linalg.cholesky((1 - shrink) * corr + shrink * np.eye(k))
            return np.asarray(factor, dtype=np.float64)
        except np.linalg.LinAlgError:
            continue
    return np.eye(k)


def correlated_uniforms(rng: np.random.Generator, n: int, factor: FloatArray) -> FloatArray:
    """``n`` rows of uniforms joined by a Gaussian copula with the factor's correlation."""
    normals = rng.standard_normal((n, factor.shape[0])) @ factor.T
    return np.asarray(stats.norm.cdf(normals), dtype=np.float64)


def dressed(
    rng: np.random.Generator, donor: BarShapes, returns: FloatArray, scale: FloatArray
) -> BarShapes:
    """Bars around simulated ``returns``: gaps, wicks and volume borrowed from training bars.

    Each simulated bar takes a random training bar as its donor; the donor's
    gap and wicks are scaled by ``scale`` (the simulated volatility over the
    training volatility) so a violent bar also has long wicks, and the body
    makes up the rest of the return.
    """
    picks = (
        rng.integers(1, len(donor.gap), size=len(returns))
        if len(donor.gap) > 1
        else (np.zeros(len(returns), dtype=np.int64))
    )
    gap = donor.gap[picks] * scale
    return BarShapes(
        anchor=donor.anchor,
        gap=gap,
        body=returns - gap,
        upper=donor.upper[picks] * scale,
        lower=donor.lower[picks] * scale,
        volume=donor.volume[picks],
    )


def restamped(
    history: pd.DataFrame, paths: dict[str, BarShapes], floors: dict[str, float]
) -> pd.DataFrame:
    """Write each symbol's synthetic path onto its timestamps in ``history``.

    Only the history's index and each symbol's first open are read: the path
    starts where the history starts and owes nothing else to it.
    """
    out = np.empty((len(history), 5), dtype=np.float64)
    first_opens = history["open"].to_numpy(dtype=np.float64)
    for rows in symbol_rows(history):
        path = paths[rows.symbol]
        length = rows.stop - rows.start
        shapes = path.take(np.arange(length))
        shapes.anchor = float(np.log(first_opens[rows.start]))
        shapes.gap[0] = 0.0
        out[rows.start : rows.stop] = bars_of(shapes, volume_floor=floors[rows.symbol])
    return frame_like(history, out)


def longest(history: pd.DataFrame) -> int:
    """The most bars any symbol has: how long a joint synthetic path must be."""
    return max(r.stop - r.start for r in symbol_rows(history))
