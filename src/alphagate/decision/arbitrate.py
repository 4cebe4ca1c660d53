"""Pick the horizon worth trading after costs, or none.

The cost of a round trip at horizon h, in return units, is

    cost_h = k1*spread + k2*sigma*sqrt(h/5) + k3*sqrt(q/ADV)

the half-spreads paid on entry and exit (k1), the risk of the price running
away over the holding period, which grows like sqrttime and is measured in weeks
of five bars (k2), and square-root market impact of an order q against the
average daily volume (k3). Each horizon's net edge net_h = expected_h - cost_h
is then compared per unit of risk,

    score_h = net_h / sqrt(h/5)

because a 20-bar return of 2 % carries twice the noise of a 5-bar one: without
the division the longest horizon would nearly always win on raw size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HorizonChoice:
    """The chosen horizon and the numbers that chose it (all in return units)."""

    horizon: int
    expected: float
    cost: float
    net: float
    score: float


def _check_horizon(horizon: int) -> None:
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer (bars), got {horizon!r}")


def trade_cost(
    spread: float,
    sigma: float,
    horizon: int,
    quantity: float,
    adv: float,
    *,
    k1: float,
    k2: float,
    k3: float,
) -> float:
    """Return k1*spread + k2*sigma*sqrt(h/5) + k3*sqrt(|q|/ADV).

    Parameters
    ----------
    spread
        Relative quoted spread (e.g. 0.001 for 10 bp).
    sigma
        Per-bar return volatility.
    horizon
        Holding period h in bars (>= 1).
    quantity, adv
        Order size and average daily volume in one unit; the sign of the
        order does not change its impact. ADV must be positive.
    k1, k2, k3
        Non-negative coefficients, calibrated on fills; keyword-only, so
        the three can never be passed in the wrong order.
    """
    _check_horizon(horizon)
    if spread < 0 or sigma < 0 or not adv > 0:
        raise ValueError(f"need spread >= 0, sigma >= 0, adv > 0; got {spread}, {sigma}, {adv}")
    if min(k1, k2, k3) < 0:
        raise ValueError(f"cost coefficients must be >= 0, got {k1}, {k2}, {k3}")
    return k1 * spread + k2 * sigma * math.sqrt(horizon / 5) + k3 * math.sqrt(abs(quantity) / adv)


def choose_horizon(
    expected: Mapping[int, float], costs: Mapping[int, float]
) -> HorizonChoice | None:
    """Return the horizon with the best score among those whose net edge is positive, or None.

    net_h = expected_h - cost_h, score_h = net_h / sqrt(h/5). Horizons with
    net_h <= 0 never trade, however the others score: None means no horizon
    pays for its own cost. Ties in score go to the smaller horizon, which ties
    up capital for less time and is re-decided sooner.

    Parameters
    ----------
    expected
        Expected (gross) return per horizon in bars.
    costs
        Cost per horizon (e.g. from ``trade_cost``); must name the same
        horizons.
    """
    if set(expected) != set(costs):
        raise ValueError(
            f"expected and costs must name the same horizons, got {sorted(expected)} "
            f"and {sorted(costs)}"
        )
    best: HorizonChoice | None = None
    for horizon in sorted(expected):
        _check_horizon(horizon)
        gross, cost = float(expected[horizon]), float(costs[horizon])
        if not (math.isfinite(gross) and math.isfinite(cost)):
            raise ValueError(f"horizon {horizon}: expected and cost must be finite")
        net = gross - cost
        if net <= 0:
            continue
        score = net / math.sqrt(horizon / 5)
        if best is None or score > best.score:
            best = HorizonChoice(horizon, gross, cost, net, score)
    return best
