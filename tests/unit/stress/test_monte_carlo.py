"""Trade-sequence Monte Carlo against a brute-force enumeration of a tiny trade list."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from alphagate.stress.monte_carlo import trade_monte_carlo
from alphagate.stress.scenarios import ScenarioError

TRADES = [100.0, -300.0, 50.0, -200.0]
EQUITY = 1000.0


def brute_drawdown(trades: tuple[float, ...]) -> float:
    """Max drawdown by walking the equity curve by hand."""
    equity = peak = EQUITY
    worst = 0.0
    for pnl in trades:
        equity += pnl
        peak = max(peak, equity)
        worst = max(worst, (peak - equity) / peak)
    return round(worst, 12)


def test_shuffled_drawdowns_follow_the_distribution_over_every_ordering() -> None:
    orderings = list(itertools.permutations(TRADES))
    exact = Counter(brute_drawdown(o) for o in orderings)
    result = trade_monte_carlo(TRADES, initial_equity=EQUITY, draws=12000, seed=1)
    seen = Counter(np.round(result.drawdowns, 12).tolist())
    assert set(seen) == set(exact)
    for value, count in exact.items():
        assert seen[value] / 12000 == pytest.approx(count / len(orderings), abs=0.02)
    everything = sorted(brute_drawdown(o) for o in orderings)
    for level, value in result.percentiles.items():
        assert value == pytest.approx(np.percentile(result.drawdowns, level))
        assert everything[0] <= value <= everything[-1]
    assert result.percentiles[50.0] == pytest.approx(np.median(everything), abs=0.03)


def test_skipping_draws_drawdowns_of_sub_sequences_only() -> None:
    possible = {
        brute_drawdown(tuple(TRADES[i] for i in order))
        for size in range(len(TRADES) + 1)
        for order in itertools.permutations(range(len(TRADES)), size)
    }
    result = trade_monte_carlo(TRADES, initial_equity=EQUITY, draws=3000, skip=0.3, seed=2)
    assert set(np.round(result.drawdowns, 12).tolist()) <= possible
    assert 0.0 in set(result.drawdowns.tolist())  # some draws keep only winners, or nothing


def test_the_monte_carlo_is_seeded() -> None:
    first = trade_monte_carlo(TRADES, initial_equity=EQUITY, draws=50, skip=0.2, seed=7)
    again = trade_monte_carlo(TRADES, initial_equity=EQUITY, draws=50, skip=0.2, seed=7)
    np.testing.assert_array_equal(first.drawdowns, again.drawdowns)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ScenarioError, match="initial_equity"):
        trade_monte_carlo(TRADES, initial_equity=0.0)
    with pytest.raises(ScenarioError, match="skip"):
        trade_monte_carlo(TRADES, initial_equity=EQUITY, skip=1.0)
