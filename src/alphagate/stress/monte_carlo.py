"""Trade-sequence Monte Carlo: how deep the drawdown could have been with the same trades.

A backtest's drawdown is one ordering of its trades. Shuffling the trades
(and skipping some, as missed fills would) draws other orderings of the same
edge; the spread of their maximum drawdowns says how lucky the one seen
was. Seeded, so a summary is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from alphagate.stress.families.base import FloatArray, ScenarioError

DEFAULT_PERCENTILES: tuple[float, ...] = (5.0, 50.0, 95.0, 99.0)


@dataclass(frozen=True)
class DrawdownDistribution:
    """Maximum drawdowns (fractions of peak equity) over the draws, and their percentiles."""

    drawdowns: FloatArray
    percentiles: Mapping[float, float]


def max_drawdown(pnls: FloatArray, initial_equity: float) -> float:
    """The largest fall from a peak of ``initial_equity`` plus the running P&L, as a fraction."""
    equity = initial_equity + np.concatenate(([0.0], np.cumsum(pnls)))
    peaks = np.maximum.accumulate(equity)
    return float(np.max((peaks - equity) / peaks))


def trade_monte_carlo(
    pnls: Sequence[float],
    *,
    initial_equity: float,
    draws: int = 1000,
    skip: float = 0.0,
    seed: int = 0,
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
) -> DrawdownDistribution:
    """Max-drawdown distribution over ``draws`` shuffles of ``pnls``.

    Each trade of a draw is skipped with probability ``skip``. A path whose
    equity goes below zero has a drawdown above 1; it is kept, not clipped,
    so a ruinous trade list reads as ruinous.

    Raises
    ------
    ScenarioError
        When the equity is not positive, ``skip`` is outside ``[0, 1)``, or
        there are no draws.
    """
    if initial_equity <= 0:
        raise ScenarioError(f"initial_equity must be positive, got {initial_equity}")
    if not 0.0 <= skip < 1.0:
        raise ScenarioError(f"skip is a probability below 1, got {skip}")
    if draws < 1:
        raise ScenarioError(f"draws must be at least 1, got {draws}")
    trades = np.asarray(pnls, dtype=np.float64)
    rng = np.random.default_rng(seed)
    drawdowns = np.empty(draws)
    for i in range(draws):
        order = rng.permutation(len(trades))
        kept = order[rng.random(len(trades)) >= skip] if skip > 0 else order
        drawdowns[i] = max_drawdown(trades[kept], initial_equity)
    levels = {float(p): float(np.percentile(drawdowns, p)) for p in percentiles}
    return DrawdownDistribution(drawdowns, levels)


def drawdown_percentiles(pnls: Sequence[float], *, seed: int, runs: int) -> dict[str, float]:
    """:func:`trade_monte_carlo` of P&Ls as fractions of the starting cash: ``{"p<q>": drawdown}``.

    What the stress summary shows beside the scenarios: the candidate's own
    trades, shuffled ``runs`` times, and the percentiles of the worst drawdown.
    """
    found = trade_monte_carlo(pnls, initial_equity=1.0, draws=runs, seed=seed)
    return {f"p{q:g}": float(value) for q, value in sorted(found.percentiles.items())}
