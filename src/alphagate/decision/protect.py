"""Protection: stop-loss and take-profit prices for a new position.

Stops are multiples of the ATR (average true range) so they sit outside the
instrument's ordinary noise: a fixed percentage is too tight in a volatile
market and too loose in a quiet one. They can then be snapped to a nearby
Fibonacci retracement of the recent swing, where other traders' orders tend
to cluster, but only within ``max_distance``: snapping may move a level by at
most that much in either direction, so it can tighten or widen risk only by
an amount the caller chose (e.g. a fraction of the ATR), never silently by
more.

``recent_swing`` reads only bars up to the decision bar ``t``, so a stop set
at ``t`` never uses a later high or low.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

FIBONACCI_RATIOS: tuple[float, ...] = (0.236, 0.382, 0.5, 0.618, 0.786)


@dataclass(frozen=True, slots=True)
class Stops:
    """The two exit prices of a position."""

    stop_loss: float
    take_profit: float


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be finite and positive, got {value}")


def atr_stops(
    entry: float, atr: float, side: Literal[1, -1], *, stop_mult: float, take_mult: float
) -> Stops:
    """Return ``stop = entry - side·stop_mult·atr`` and ``target = entry + side·take_mult·atr``.

    Long (``side = +1``): stop ``entry - stop_mult·atr`` below, target
    ``entry + take_mult·atr`` above. Short (``side = -1``): mirrored. Choosing
    ``take_mult / stop_mult`` is choosing the payoff ratio ``b`` that Kelly
    sizing assumes. A long stop at or below zero never triggers; the caller
    whose ATR is that large relative to price has no meaningful stop.
    """
    _check_positive("entry", entry)
    _check_positive("atr", atr)
    _check_positive("stop_mult", stop_mult)
    _check_positive("take_mult", take_mult)
    if side not in (1, -1):
        raise ValueError(f"side must be +1 (long) or -1 (short), got {side}")
    return Stops(
        stop_loss=entry - side * stop_mult * atr, take_profit=entry + side * take_mult * atr
    )


def fibonacci_levels(
    swing_high: float, swing_low: float, *, from_high: bool = True
) -> dict[float, float]:
    """Return the retracement price at each ratio in ``FIBONACCI_RATIOS``.

    With ``from_high`` (a move up, retracing down): ``level(r) = high - r·(high - low)``.
    Otherwise (a move down, retracing up): ``level(r) = low + r·(high - low)``.
    Every ratio lies in ``(0, 1)``, so every level lies between the swing low
    and the swing high (clamped, so rounding cannot step outside).
    """
    if not (math.isfinite(swing_high) and math.isfinite(swing_low)):
        raise ValueError(f"swing high and low must be finite, got {swing_high}, {swing_low}")
    if swing_high < swing_low:
        raise ValueError(f"swing_high {swing_high} is below swing_low {swing_low}")
    span = swing_high - swing_low
    levels: dict[float, float] = {}
    for r in FIBONACCI_RATIOS:
        price = swing_high - r * span if from_high else swing_low + r * span
        levels[r] = min(swing_high, max(swing_low, price))
    return levels


def snap_to_fibonacci(price: float, levels: Mapping[float, float], max_distance: float) -> float:
    """Return the level nearest ``price`` if it is within ``max_distance``, else ``price``.

    Ties go to the lower level, so the result does not depend on the order
    of ``levels``. The move is bounded by ``max_distance`` in either
    direction; see the module docstring for why that bound, not a one-sided
    rule, is what keeps a snapped stop honest.
    """
    if not (math.isfinite(max_distance) and max_distance >= 0.0):
        raise ValueError(f"max_distance must be finite and non-negative, got {max_distance}")
    if not levels:
        return price
    nearest = min(levels.values(), key=lambda level: (abs(level - price), level))
    return nearest if abs(nearest - price) <= max_distance else price


def recent_swing(
    high: npt.ArrayLike, low: npt.ArrayLike, lookback: int, *, t: int | None = None
) -> tuple[float, float]:
    """Return ``(max(high[t-lookback+1 : t+1]), min(low[t-lookback+1 : t+1]))``.

    ``t`` is the position of the decision bar (default: the last one); only
    bars up to and including it are read, so the swing is point in time.
    Fewer than ``lookback`` bars up to ``t``, or a NaN in the window, raise:
    a swing over less history than asked for is not the swing asked for.
    """
    highs = np.asarray(high, dtype=np.float64)
    lows = np.asarray(low, dtype=np.float64)
    if highs.ndim != 1 or highs.shape != lows.shape:
        raise ValueError(f"high and low must be 1-d of one length, got {highs.shape}, {lows.shape}")
    if lookback < 1:
        raise ValueError(f"lookback must be >= 1, got {lookback}")
    end = len(highs) - 1 if t is None else t
    if not 0 <= end < len(highs):
        raise ValueError(f"t={t} is outside the {len(highs)} bars given")
    start = end - lookback + 1
    if start < 0:
        raise ValueError(f"lookback {lookback} needs {lookback} bars up to t, got {end + 1}")
    window_high, window_low = highs[start : end + 1], lows[start : end + 1]
    if not (np.isfinite(window_high).all() and np.isfinite(window_low).all()):
        raise ValueError("high and low must be finite inside the lookback window")
    return float(window_high.max()), float(window_low.min())
