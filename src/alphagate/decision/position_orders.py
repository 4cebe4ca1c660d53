"""From a target quantity to the orders that reach it, protected by stop-loss and take-profit.

A model strategy re-decides every bar, but a strategy cannot cancel orders.
Protective orders that lived until filled (GTC) would outlive the position
they protect: after the strategy closes a long with a market order, its old
stop would still sell and open a short. So every protective order here lives
for one session only (``DAY``) and the strategy re-issues the protection of
what it keeps at every bar. On a daily bar that is exactly the next bar:

* ``entry`` (market) buys or sells the increase, with its bracket
  ``entry_stop`` / ``entry_take`` (children of ``entry``, one OCO group), which
  the venue sizes to what the entry filled;
* ``exit`` (market, reduce-only) sells or buys back a reduction, or the whole
  position before a flip;
* ``stop`` / ``take`` (reduce-only, one OCO group) protect the part of the
  current position that is kept, ``min(|held|, |target|)``, so together with
  ``exit`` they can never close more than is held.

The levels are fixed when a position is opened (:func:`protection_levels`)
and kept while it is held in the same direction, so a stop never drifts
away from the price it was meant to defend.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

from alphagate.decision.protect import (
    Stops,
    atr_stops,
    fibonacci_levels,
    recent_swing,
    snap_to_fibonacci,
)
from alphagate.decision.settings import ProtectStep
from alphagate.domain.orders import OrderType, TimeInForce
from alphagate.domain.strategy import OrderIntent

_TOLERANCE = 1e-9


def protection_levels(
    close: float,
    atr: float,
    side: Literal[1, -1],
    *,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    step: ProtectStep,
) -> Stops | None:
    """ATR stop-loss and take-profit around ``close``, optionally snapped to Fibonacci levels.

    The swing is read from ``high``/``low`` up to the current bar (their last
    element). Returns None when no meaningful stop exists: an unknown ATR, or
    a long stop at or below zero.
    """
    if not (math.isfinite(atr) and atr > 0 and math.isfinite(close) and close > 0):
        return None
    stops = atr_stops(close, atr, side, stop_mult=step.stop_mult, take_mult=step.take_mult)
    highs, lows = np.asarray(high, dtype=np.float64), np.asarray(low, dtype=np.float64)
    if step.fibonacci and len(highs) >= step.swing_lookback:
        swing_high, swing_low = recent_swing(highs, lows, step.swing_lookback)
        levels = fibonacci_levels(swing_high, swing_low, from_high=side > 0)
        distance = step.snap_atr * atr
        stops = Stops(
            stop_loss=snap_to_fibonacci(stops.stop_loss, levels, distance),
            take_profit=snap_to_fibonacci(stops.take_profit, levels, distance),
        )
    valid = (
        stops.stop_loss < close < stops.take_profit
        if side > 0
        else stops.take_profit < close < stops.stop_loss
    )
    if stops.stop_loss <= 0 or stops.take_profit <= 0 or not valid:
        return None
    return stops


def target_quantity(weight: float, equity: float, price: float, *, whole: bool) -> float:
    """Signed quantity worth ``weight`` of ``equity`` at ``price``; toward zero in whole units."""
    if not (math.isfinite(equity) and equity > 0 and math.isfinite(price) and price > 0):
        return 0.0
    quantity = weight * equity / price
    return float(math.trunc(quantity)) if whole else quantity


def _protect(
    symbol: str, quantity: float, stops: Stops, prefix: str, parent: str | None
) -> list[OrderIntent]:
    """A stop-loss and a take-profit closing ``quantity`` (signed, the closing direction).

    Without a parent they protect a position already held, so they are
    reduce-only; a bracket child is bounded by its entry's fill instead.
    """

    def exit_leg(
        name: str, order_type: OrderType, *, stop: float | None, limit: float | None
    ) -> OrderIntent:
        """One exit leg: the two differ only in how they trigger, and share their
        parent, their one-cancels-other group and their reduce-only rule."""
        return OrderIntent(
            symbol,
            quantity,
            order_type=order_type,
            limit_price=limit,
            stop_price=stop,
            time_in_force=TimeInForce.DAY,
            leg=f"{prefix}{name}",
            parent_leg=parent,
            oco_group=f"{prefix}bracket",
            reduce_only=parent is None,
        )

    return [
        exit_leg("stop", OrderType.STOP, stop=stops.stop_loss, limit=None),
        exit_leg("take", OrderType.LIMIT, stop=None, limit=stops.take_profit),
    ]


def position_orders(
    symbol: str, held: float, target: float, stops: Stops | None
) -> list[OrderIntent]:
    """The orders that move ``held`` to ``target`` (signed quantities); see the module docstring.

    ``stops`` protects the position in ``target``'s direction; None sends
    market orders only.
    """
    orders: list[OrderIntent] = []
    flip = held * target < 0
    if flip or abs(target) < abs(held) - _TOLERANCE:
        closing = -held if flip or target == 0 else target - held
        orders.append(OrderIntent(symbol, closing, leg="exit", reduce_only=True))
    kept = 0.0 if flip else math.copysign(min(abs(held), abs(target)), held)
    if stops is not None and abs(kept) > _TOLERANCE:
        orders.extend(_protect(symbol, -kept, stops, "", None))
    adding = target if flip else target - held
    if abs(target) > abs(kept) + _TOLERANCE and abs(adding) > _TOLERANCE:
        orders.append(OrderIntent(symbol, adding, leg="entry"))
        if stops is not None:
            orders.extend(_protect(symbol, -adding, stops, "entry_", "entry"))
    return orders
