"""The vectorised backtest path: target weights in, the event engine's equity curve out, fast.

:func:`run_vectorized` answers the question :func:`~alphagate.backtest.runner.run_backtest`
answers for the simplest and most common configuration (one symbol, market
orders from target weights, :class:`~alphagate.execution.fill_models.NextOpenFill`,
:class:`~alphagate.execution.commission.BasisPoints` or no commission,
``sizing="next_open"``) without an order, a fill or a Python call per bar, so
parameter sweeps over long series stay cheap. It gives the *same* numbers,
not an approximation: the kernel repeats the event engine's arithmetic
operation for operation, in the same order, so both equity curves agree to the
last bit on the inputs we test (the tests demand 1e-9 relative).

Semantics, as in :mod:`alphagate.engine.kernel` with one symbol:

1. ``target_weights[t]`` is decided at bar ``t``'s close; ``NaN`` means no
   decision (the strategy answered ``None``): nothing is traded and the
   position is kept as it is.
2. A decision is sized at bar ``t + 1``'s open, with the equity at that open
   (``cash + position * open``): ``budget // (open + fee(1 unit))`` units,
   toward zero, with ``units="whole"`` (CPython's float ``//``, exactly), or
   ``budget / (open + fee(1 unit))`` with ``units="fractional"``. An order
   smaller than ``1e-12 * max(1, |position|)`` is not sent.
3. The order fills in full at that open; cash moves by the notional and by
   the fee ``quantity * open * bps / 10 000``. A fill that brings the position
   within ``1e-9`` relative of zero closes it exactly, as the portfolio does.
4. Equity is marked at every close: ``cash + position * close``.

A decision at the last bar is never sized (there is no next open), as in the
engine. ``trades`` counts round trips as the engine's trade list does: one per
opening from flat, one more per flip through zero; the last may still be open.

The sizing recursion (a quantity depends on equity, which depends on every
earlier fill) is inherently sequential, so it is one numba loop over float64
arrays; everything else is NumPy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from alphagate.domain.bars import PRICE_COLUMNS, check_bars_frame, symbols_of
from alphagate.engine.kernel import ZERO_ORDER, Units
from alphagate.execution.commission import BPS
from alphagate.execution.portfolio import QTY_TOLERANCE


@dataclass(frozen=True, slots=True)
class VectorizedResult:
    """What one vectorised run produced.

    Attributes
    ----------
    equity
        Account value at every bar close, indexed by ``ts``, named ``equity``
        (as :attr:`BacktestResult.equity <alphagate.backtest.runner.BacktestResult.equity>`).
    positions
        Units held at every bar close (after that bar's fill, if any).
    trades
        Round trips opened, closed or not (``len(BacktestResult.trades)``).
    """

    equity: pd.Series
    positions: np.ndarray
    trades: int


@njit(cache=True)
def _floordiv(x: float, y: float) -> float:
    """CPython's ``float.__floordiv__`` (``Objects/floatobject.c``), step for step."""
    mod = float(np.fmod(x, y))
    div = (x - mod) / y
    if mod != 0.0 and ((y < 0.0) != (mod < 0.0)):
        div -= 1.0
    if div != 0.0:
        floordiv = float(np.floor(div))
        if div - floordiv > 0.5:
            floordiv += 1.0
        return floordiv
    return math.copysign(0.0, x / y)


@njit(cache=True)
def _simulate(  # noqa: PLR0917 (a numba kernel takes positional arrays)
    open_: np.ndarray, close: np.ndarray, weights: np.ndarray, cash: float, bps: float, whole: bool
) -> tuple[np.ndarray, np.ndarray, int]:
    """The kernel and driver for one symbol, reduced to arithmetic (see the module docstring)."""
    n = open_.shape[0]
    equity = np.empty(n)
    positions = np.empty(n)
    held = 0.0
    trades = 0
    pending = math.nan
    for t in range(n):
        if not math.isnan(pending):
            price = open_[t]
            # Portfolio.equity at the open; fsum of two terms is their rounded sum.
            value = cash + held * price if held != 0.0 else cash
            unit_cost = price + 1.0 * price * bps * BPS
            budget = pending * value
            if whole:
                target = math.copysign(_floordiv(abs(budget), unit_cost), budget)
            else:
                target = budget / unit_cost
            delta = target - held
            pending = math.nan
            if abs(delta) > ZERO_ORDER * max(1.0, abs(held)):
                quantity = abs(delta)
                signed = quantity if delta > 0.0 else -quantity
                # Portfolio.apply_fill: closing part, opening part, then the cash.
                size = abs(held)
                opposite = held != 0.0 and ((held > 0.0) != (signed > 0.0))
                if opposite and abs(quantity - size) <= QTY_TOLERANCE * max(quantity, size):
                    new = 0.0
                else:
                    new = held + signed
                    if opposite and quantity > size:
                        trades += 1  # a flip: the old trade closes, a new one opens
                if held == 0.0:
                    trades += 1
                held = new
                cash -= signed * price
                cash -= quantity * price * bps * BPS
        positions[t] = held
        equity[t] = cash + held * close[t] if held != 0.0 else cash
        weight = weights[t]
        if not math.isnan(weight):
            pending = weight
    return equity, positions, trades


def _check_bars(bars: pd.DataFrame) -> pd.DataFrame:
    check_bars_frame(bars)
    symbols = symbols_of(bars)
    if len(symbols) != 1:
        raise ValueError(
            f"run_vectorized takes bars of exactly one symbol, got {len(symbols)}: {symbols}"
        )
    frame = bars.xs(symbols[0], level="symbol")
    assert isinstance(frame, pd.DataFrame)
    for column in PRICE_COLUMNS:
        bad = np.flatnonzero(np.isnan(frame[column].to_numpy()))
        if bad.size:
            raise ValueError(f"NaN {column} for {symbols[0]!r} at {frame.index[bad[0]]}")
    if len(frame) < 2:
        raise ValueError(f"a backtest needs at least two bars, got {len(frame)}")
    if not (frame["open"].to_numpy() > 0.0).all():
        raise ValueError(f"open prices of {symbols[0]!r} must be positive to size orders")
    return frame


def _check_weights(target_weights: np.ndarray | pd.Series, ts: pd.Index) -> np.ndarray:
    if isinstance(target_weights, pd.Series):
        index = target_weights.index
        if isinstance(index, pd.DatetimeIndex) and not index.equals(ts):
            raise ValueError("target_weights is indexed by timestamps other than the bars' ts")
        values = target_weights.to_numpy(np.float64)
    else:
        values = np.asarray(target_weights, dtype=np.float64)
    if values.ndim != 1 or values.shape[0] != len(ts):
        raise ValueError(
            f"target_weights must be one weight per bar ({len(ts)}), got shape {values.shape}"
        )
    given = values[~np.isnan(values)]
    if not (np.isfinite(given).all() and (np.abs(given) <= 1.0).all()):
        raise ValueError("target weights must be NaN or finite in [-1, 1]")
    return np.ascontiguousarray(values)


def run_vectorized(
    bars: pd.DataFrame,
    target_weights: np.ndarray | pd.Series,
    *,
    cash: float = 10_000.0,
    commission_bps: float = 0.0,
    units: Units = "whole",
) -> VectorizedResult:
    """Run target weights over one symbol's bars as the event engine would; see the module.

    Parameters
    ----------
    bars
        A canonical bars frame holding exactly one symbol.
    target_weights
        One weight per bar, decided at that bar's close, in ``[-1, 1]``; ``NaN``
        for no decision. A Series indexed by timestamps must carry the bars' ts.
    commission_bps
        Basis points of notional per fill (``BasisPoints(commission_bps)``).
    units
        ``"whole"`` rounds every target toward zero to whole units.

    Raises
    ------
    ValueError
        For a frame that is not canonical, more or fewer than one symbol, a NaN
        price, a non-positive open, fewer than two bars, weights of the wrong
        length or out of range, or bad ``cash``, ``commission_bps`` or ``units``.
    """
    if units not in ("whole", "fractional"):
        raise ValueError(f"unknown units {units!r}")
    if not math.isfinite(cash):
        raise ValueError(f"starting cash must be finite, got {cash}")
    if not (math.isfinite(commission_bps) and commission_bps >= 0.0):
        raise ValueError(f"commission_bps must be finite and non-negative, got {commission_bps}")
    frame = _check_bars(bars)
    weights = _check_weights(target_weights, frame.index)
    equity, positions, trades = _simulate(
        np.ascontiguousarray(frame["open"].to_numpy(np.float64)),
        np.ascontiguousarray(frame["close"].to_numpy(np.float64)),
        weights,
        float(cash),
        float(commission_bps),
        units == "whole",
    )
    index = pd.DatetimeIndex(frame.index)
    return VectorizedResult(pd.Series(equity, index=index, name="equity"), positions, int(trades))
