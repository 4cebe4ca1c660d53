"""Triple-barrier labels: which of a profit-take, a stop-loss or a time limit comes first.

The rule, in full (López de Prado, *Advances in Financial Machine Learning*, ch. 3,
with the intrabar ambiguity settled explicitly):

1. **Entry** is at the close of bar ``t``; the barriers are set from that close
   and the volatility known at ``t`` (``daily_volatility``, which reads returns
   up to ``t`` only)::

       upper = close_t * exp(+pt * vol_t)
       lower = close_t * exp(-sl * vol_t)

2. **Scan** bars ``t+1 … t+h`` of the same symbol in order. Bar ``t+k`` touches
   the upper barrier when its ``high >= upper`` and the lower one when its
   ``low <= lower``; highs and lows are used (not closes) because a resting
   order at the barrier would have filled inside the bar.
3. The **first** bar that touches decides: ``label = 1`` (upper), ``-1``
   (lower); ``t1`` is that bar's close time and ``ret`` is the log return to
   the barrier price (``+pt * vol_t`` or ``-sl * vol_t``).
4. **Ambiguous bar.** When one bar touches both barriers, OHLC cannot say which
   came first. The label is resolved *conservatively* as the loss (``-1``, exit
   at ``lower``): a model is then never credited with a profit the data cannot
   prove, and backtests built on these labels err against the strategy.
5. **Vertical barrier.** When no bar of ``t+1 … t+h`` touches, ``label = 0``,
   ``t1`` is the close time of bar ``t+h`` and ``ret`` is
   ``log(close[t+h] / close_t)``.
6. **Unknown outcomes are never guessed.** A row whose symbol has fewer than
   ``h`` bars after it, or whose volatility is not yet defined (warm-up), gets
   ``label = <NA>``, ``t1 = NaT`` and NaN ``ret``/barriers. This holds even when
   a barrier was already touched inside the bars that exist: labelling only the
   tail rows that happened to resolve early would bias the end of every data
   set towards touches, and it would make *which* rows are labelled depend on
   prices. Here it depends only on how many bars follow.

``ret`` reports the barrier price for touches, so a bar that gaps through a
barrier is recorded at the barrier, not at the (worse or better) open.
Execution costs and gaps are the backtest's business, not the label's.

Nothing in a row's label reads a price after its ``t1``: the scan stops at the
first touch, and the vertical barrier is bar ``t+h`` itself.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from alphagate.domain.bars import check_bars_frame
from alphagate.labels.fixed_horizon import symbol_end_positions


def daily_volatility(
    close: pd.Series, span: int = 50, *, min_periods: int | None = None
) -> pd.Series:
    """Exponentially weighted standard deviation of one-bar log returns, point in time.

    "Daily" follows the literature; the unit is one bar of whatever timeframe
    ``close`` has. The value at ``t`` is computed from log returns at bars
    ``<= t`` only (an EWM is a causal filter), so it may set barriers for an
    entry at the close of ``t``.

    Parameters
    ----------
    close
        Close prices. With a ``(symbol, ts)`` index the estimate runs per
        symbol, so one symbol's first return is never taken against another
        symbol's last close.
    span
        EWM span in bars (``>= 2``).
    min_periods
        Returns needed before a value is reported; default ``span``. An EWM fed
        a handful of returns is dominated by them, and barriers set from it
        would be as noisy; NaN until then keeps such rows unlabelled.

    Returns
    -------
    pandas.Series
        Indexed like ``close``; NaN during the warm-up.
    """
    if span < 2:
        raise ValueError(f"span must be at least 2, got {span}")
    needed = span if min_periods is None else min_periods
    if needed < 2:
        raise ValueError(f"min_periods must be at least 2 (a std needs two returns), got {needed}")
    log_close = pd.Series(np.log(close.to_numpy(dtype=np.float64)), index=close.index)
    if "symbol" in close.index.names:
        returns = log_close.groupby(level="symbol", sort=False).diff()
        vol = returns.groupby(level="symbol", sort=False).transform(
            lambda r: r.ewm(span=span, min_periods=needed).std()
        )
    else:
        vol = log_close.diff().ewm(span=span, min_periods=needed).std()
    return vol.rename("vol")


def triple_barrier_labels(
    bars: pd.DataFrame,
    *,
    pt: float,
    sl: float,
    horizon: int,
    vol_span: int = 50,
    min_vol: float = 1e-8,
    vol: pd.Series | None = None,
) -> pd.DataFrame:
    """Label each bar by the first barrier its forward path touches (rule in the module doc).

    Parameters
    ----------
    bars
        Canonical bars frame; may hold several symbols, which never mix.
    pt, sl
        Profit-take and stop-loss widths in units of volatility (``> 0``).
        ``math.inf`` disables that barrier.
    horizon
        Vertical barrier, in bars after entry (``>= 1``).
    vol_span
        Span of ``daily_volatility`` when ``vol`` is not given.
    min_vol
        Floor on volatility. A perfectly flat stretch would otherwise give
        zero-width barriers that any tick touches, turning noise into labels.
    vol
        Volatility per row, indexed like ``bars``, to use instead of
        ``daily_volatility``; it must itself be point in time.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``bars``: ``label`` (nullable ``Int8`` in ``{-1, 0, 1}``),
        ``t1`` (when the outcome is known), ``ret`` (log return entry → exit),
        ``upper`` and ``lower`` (barrier prices).
    """
    check_bars_frame(bars)
    for name, width in (("pt", pt), ("sl", sl)):
        if not width > 0:
            raise ValueError(f"{name} must be > 0 (math.inf disables the barrier), got {width}")
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
    if not min_vol >= 0:
        raise ValueError(f"min_vol must be >= 0, got {min_vol}")

    n = len(bars)
    close = bars["close"].to_numpy(dtype=np.float64)
    high = bars["high"].to_numpy(dtype=np.float64)
    low = bars["low"].to_numpy(dtype=np.float64)
    ts = pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns")
    if vol is None:
        vol = daily_volatility(bars["close"], span=vol_span)
    elif not vol.index.equals(bars.index):
        raise ValueError("vol must be indexed exactly like bars")
    sigma = np.maximum(vol.to_numpy(dtype=np.float64), min_vol)  # NaN stays NaN

    up_width = _width(pt, sigma)
    down_width = _width(sl, sigma)
    upper = close * np.exp(up_width)
    lower = close * np.exp(-down_width)

    end = symbol_end_positions(bars)
    positions = np.arange(n, dtype=np.int64)
    labelled = (positions + horizon <= end) & ~np.isnan(sigma)

    label = np.zeros(n, dtype=np.int8)
    exit_pos = np.minimum(positions + horizon, max(n - 1, 0))
    # Only rows still open are looked at for each offset, so the work shrinks as
    # barriers are hit: O(n * horizon) array operations, no per-bar Python loop.
    open_rows = np.flatnonzero(labelled)
    for k in range(1, horizon + 1):
        if open_rows.size == 0:
            break
        j = open_rows + k
        hit_up = high[j] >= upper[open_rows]
        hit_down = low[j] <= lower[open_rows]
        touched = hit_up | hit_down
        rows = open_rows[touched]
        # Both in one bar: the conservative reading is the loss.
        label[rows] = np.where(hit_down[touched], -1, 1)
        exit_pos[rows] = j[touched]
        open_rows = open_rows[~touched]

    vertical_ret = np.log(close[exit_pos] / close)
    ret = np.select([label == 1, label == -1], [up_width, -down_width], vertical_ret)
    ret = np.where(labelled, ret, np.nan)

    label_array = pd.array(label, dtype="Int8")
    label_array[~labelled] = pd.NA
    return pd.DataFrame(
        {
            "label": pd.Series(label_array, index=bars.index),
            "t1": pd.Series(ts[exit_pos], index=bars.index).where(labelled),
            "ret": pd.Series(ret, index=bars.index, dtype="float64"),
            "upper": pd.Series(np.where(np.isnan(sigma), np.nan, upper), index=bars.index),
            "lower": pd.Series(np.where(np.isnan(sigma), np.nan, lower), index=bars.index),
        },
        index=bars.index,
    )


def _width(multiple: float, sigma: np.ndarray) -> np.ndarray:
    """Barrier distance in log price, ``multiple * sigma``; ``inf`` stays ``inf`` at any sigma."""
    if math.isinf(multiple):
        return np.where(np.isnan(sigma), np.nan, np.inf)
    return multiple * sigma
