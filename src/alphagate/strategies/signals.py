"""Target-weight signals of the built-in strategies, for every bar of one symbol at once.

Each function maps a symbol's closes to the array the strategy acts on:
``weight`` (be in), ``0`` (be out) or ``NaN`` (no change), value ``t``
computed from closes ``0..t`` only. The event engine serves these arrays to
the strategy bar by bar (:class:`~alphagate.domain.strategy.DeclaresIndicators`,
with its look-ahead check), and the vectorised path
(:mod:`alphagate.backtest.vectorized`) takes them whole: the two paths act on
one array, so they cannot disagree about a signal.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import talib
from numpy.lib.stride_tricks import sliding_window_view

from alphagate.domain.strategy import FloatArray

_TIE_TOLERANCE: Final = 1e-9  # relative gap under which SMA comparisons are recomputed exactly


def _closes(close: np.ndarray) -> FloatArray:
    values = np.ascontiguousarray(close, dtype=np.float64)
    if values.ndim != 1 or not np.isfinite(values).all():
        raise ValueError("close must be a one-dimensional array of finite prices")
    return values


def _check_weight(owner: str, weight: float) -> None:
    if not (math.isfinite(weight) and 0.0 < weight <= 1.0):
        raise ValueError(f"{owner}: weight must be in (0, 1], got {weight}")


def _rolling_mean(close: FloatArray, n: int) -> FloatArray:
    # TA-Lib's running sum: an order of magnitude faster than a mean per window,
    # and off from it by a few 1e-12 relative on 1M bars, far inside the tie band
    # where sma_cross_weights recomputes exactly. NaN before the first full window.
    out: FloatArray = talib.SMA(close, timeperiod=n)
    return out


def sma_cross_weights(
    close: np.ndarray, fast: int = 10, slow: int = 30, *, weight: float = 1.0
) -> FloatArray:
    """Targets of :class:`~alphagate.strategies.builtin.SmaCross`, for every bar at once.

    ``weight`` after a cross up (``fast[t-1] < slow[t-1]`` and ``fast[t] > slow[t]``),
    ``0`` after a cross down, ``NaN`` otherwise and before ``slow`` + 1 bars
    have closed. The engine sends a ``0`` only while a position is held; a ``0``
    while flat sizes to no order here, so the runs are the same.

    A mean is defined as NumPy's mean of the window's closes as one slice.
    Computed as a running sum (TA-Lib's SMA) it may differ from that by
    rounding, a few 1e-12 relative over a million bars; wherever the fast and
    slow means are close enough for that to flip a comparison (within 1e-9
    relative), they are recomputed slice by slice, so which bars cross never
    depends on how the windows were summed.

    Raises
    ------
    ValueError
        For invalid periods or weight, or a close that is not finite.
    """
    if fast < 1 or slow < fast + 1:
        raise ValueError(f"sma_cross: need 1 <= fast < slow, got fast={fast}, slow={slow}")
    _check_weight("sma_cross", weight)
    values = _closes(close)
    means = {n: _rolling_mean(values, n) for n in (fast, slow)}
    # The scale of the tie test is the mean of |close|: the means themselves for
    # positive prices (the usual case, and half the work), computed apart otherwise.
    positive = bool((values > 0.0).all())
    scale = means if positive else {n: _rolling_mean(np.abs(values), n) for n in (fast, slow)}
    out = np.full(values.shape[0], np.nan)
    if values.shape[0] <= slow:
        return out
    fm, sm = means[fast], means[slow]
    near = np.abs(fm - sm) <= _TIE_TOLERANCE * (scale[fast] + scale[slow])
    for t in np.flatnonzero(near[slow - 1 :]) + slow - 1:  # rare: exact means, as SmaCross
        fm[t] = values[t - fast + 1 : t + 1].mean()
        sm[t] = values[t - slow + 1 : t + 1].mean()
    fb, sb, fn, sn = fm[slow - 1 : -1], sm[slow - 1 : -1], fm[slow:], sm[slow:]
    tail = out[slow:]
    tail[(fb < sb) & (fn > sn)] = weight
    tail[(sb < fb) & (sn > fn)] = 0.0
    return out


def rsi_weights(
    close: np.ndarray,
    period: int = 14,
    low: float = 30.0,
    high: float = 70.0,
    *,
    weight: float = 1.0,
) -> FloatArray:
    """Targets of :class:`~alphagate.strategies.builtin.RsiMeanReversion`: in below ``low``.

    Out above ``high``.

    TA-Lib's RSI (Wilder smoothing from the first close), which is causal:
    its value at ``t`` is the same whether or not later closes exist.
    """
    _check_weight("rsi_mean_reversion", weight)
    rsi = talib.RSI(_closes(close), timeperiod=period)
    out = np.full(rsi.shape[0], np.nan)
    out[rsi < low] = weight
    out[rsi > high] = 0.0
    return out


def bollinger_weights(
    close: np.ndarray, period: int = 20, k: float = 2.0, *, weight: float = 1.0
) -> FloatArray:
    """Targets of :class:`~alphagate.strategies.builtin.BollingerBreakout`.

    In when the close is above the mean plus ``k`` population deviations
    (as TA-Lib's BBANDS) of the last ``period`` closes, out when below the mean.
    """
    _check_weight("bollinger_breakout", weight)
    values = _closes(close)
    out = np.full(values.shape[0], np.nan)
    if values.shape[0] < period:
        return out
    windows = sliding_window_view(values, period)
    middle = windows.mean(axis=1)
    upper = middle + k * windows.std(axis=1)
    last = values[period - 1 :]
    tail = out[period - 1 :]
    tail[last > upper] = weight
    tail[last < middle] = 0.0
    return out
