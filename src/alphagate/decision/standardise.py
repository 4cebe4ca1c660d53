"""Standardise a raw signal into a clipped rolling z-score, point in time.

Models for different horizons and symbols speak in different units (a
probability, a log return, a rank). The decision path compares them only after
putting each on its own recent scale:

    z_t = clip((s_t - mu_t) / sigma_t, -z_max, +z_max)

where mu_t and sigma_t are the mean and sample standard deviation (``ddof=1``) of
the last ``window`` values *up to and including* ``t``. Including ``t`` is what
a live system can do at ``t`` (the value is known when it is scored), and
nothing after ``t`` is ever read, so the z-score at ``t`` is the same whether
or not later bars exist. The clip keeps one extreme print from dominating a
blend or a position size.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def per_symbol(series: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply a time-series transform to each symbol of a ``(symbol, ts)`` series separately.

    A rolling window must never run from the end of one symbol into the start
    of the next (rows of a canonical frame are sorted by symbol, then time), so
    a series whose index has a ``symbol`` level is split by it; any other
    series is taken as a single time-ordered series. The result keeps the
    input's index and order.
    """
    if "symbol" not in series.index.names:
        return fn(series)
    parts = [fn(group) for _, group in series.groupby(level="symbol", sort=False)]
    if not parts:
        return series.astype("float64")
    combined: pd.Series = pd.concat(parts)
    return combined.reindex(series.index)


def rolling_zscore(
    signal: pd.Series,
    window: int,
    z_max: float = 3.0,
    min_periods: int | None = None,
) -> pd.Series:
    """Return the clipped rolling z-score of ``signal``, per symbol, using data up to ``t`` only.

    Parameters
    ----------
    signal
        Values in time order; with a ``(symbol, ts)`` MultiIndex each symbol is
        standardised on its own history.
    window
        Number of trailing observations (including ``t``) in mu and sigma; at least 2,
        since a sample standard deviation needs two values.
    z_max
        Clip bound (positive): z = clip((s - mu)/sigma, +/-z_max).
    min_periods
        Fewest non-missing values in the window before a z-score is given
        (default ``window``; between 2 and ``window``). Before that the result
        is NaN, as it is where the signal itself is NaN.

    Returns
    -------
    pandas.Series
        float64 z-scores on ``signal``'s index. Where sigma = 0 (a flat window)
        the z-score is 0: the value equals its recent mean, so it carries no
        news, and 0/0 must not become NaN or +/-inf downstream.
    """
    if window < 2:
        raise ValueError(f"window must be at least 2, got {window}")
    periods = window if min_periods is None else min_periods
    if not 2 <= periods <= window:
        raise ValueError(f"min_periods must be between 2 and window={window}, got {periods}")
    if not z_max > 0:
        raise ValueError(f"z_max must be positive, got {z_max}")

    def one(values: pd.Series) -> pd.Series:
        x = values.astype("float64")
        rolling = x.rolling(window, min_periods=periods)
        mu = rolling.mean()
        sigma = rolling.std(ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (x - mu) / sigma
        z = z.mask(sigma == 0.0, 0.0).where(x.notna())
        return z.clip(-z_max, z_max)

    return per_symbol(signal, one)
