"""Technical features of one symbol's bars: TA-Lib indicators and plain return statistics.

Every public function here except ``cross_sectional_ranks`` is a *factory*:
it takes the indicator's parameters and returns a ``FeatureSpec`` whose array
kernel computes the columns from one symbol's bars as NumPy arrays
(``BarArrays``); its DataFrame ``function`` is derived from the kernel. The
parameters are written into the column names (``rsi_14``, ``macd_hist_12_26_9``)
so a model's inputs say exactly what they are, and the declared ``warmup`` is
TA-Lib's lookback for those parameters.

Point in time
-------------
Each value at bar ``t`` is computed from bars ``<= t`` only: TA-Lib and the
pandas rolling windows used here run forward from the first bar, so cutting
the series after ``t`` cannot change the value at ``t`` (``features.pit``
checks this for every profile). Recursive indicators (RSI, EMA, ATR, ADX)
do depend on where the series *starts*, as their seed is the first window;
that is why features are computed on a symbol's whole history, never on a
sliding window of it.

Scale
-----
Indicators whose raw value is in price units (MACD, the OBV slope) are divided
by the close or the average volume so that symbols at different price levels
give comparable numbers. ATR is kept in price units, as asked for by risk
sizing, next to ATR as a fraction of the close. A ratio whose denominator is
zero (a flat window) is NaN, never infinite.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import talib

from alphagate.data.calendar import session_positions, sessions
from alphagate.features.arrays import (
    BarArrays,
    Columns,
    FloatArray,
    fill_by_symbol,
    percentile_rank_by_key,
    symbol_bounds,
)
from alphagate.features.registry import FeatureSpec

# Simple moving averages inside BBANDS and STOCH, the textbook definitions. The
# stubs declare MA_Type but ``talib/__init__`` re-exports it implicitly.
_SIMPLE_MA = talib.MA_Type.SMA  # type: ignore[attr-defined]


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """``numerator / denominator``, NaN where the denominator is zero or not finite.

    A flat window (Bollinger bands of constant prices, a zero range) leaves an
    indicator undefined; NaN says so, where an infinity would be read by a model
    as an extreme but valid value.
    """
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    valid = np.isfinite(denominator) & (denominator != 0)
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=valid)
    return out


def _check_period(name: str, value: int, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


# --------------------------------------------------------------------------- TA-Lib


def rsi(period: int = 14) -> FeatureSpec:
    """Relative strength index ``rsi_<period>`` (0 to 100), Wilder's smoothing."""
    _check_period("rsi period", period, 2)

    def kernel(bars: BarArrays) -> Columns:
        return {f"rsi_{period}": talib.RSI(bars.close, period)}

    return FeatureSpec.from_kernel(
        f"rsi_{period}", kernel, warmup=period, description=rsi.__doc__ or ""
    )


def macd(fast: int = 12, slow: int = 26, signal: int = 9) -> FeatureSpec:
    """MACD line, signal and histogram as fractions of the close.

    TA-Lib's MACD is a difference of price EMAs, so it is in price units; a
    100-dollar stock would show ten times the MACD of a 10-dollar one for the
    same relative trend. Dividing by the close removes that.
    """
    for label, value in (("fast", fast), ("slow", slow), ("signal", signal)):
        _check_period(f"macd {label} period", value, 2)
    if fast >= slow:
        raise ValueError(f"macd fast period ({fast}) must be shorter than slow ({slow})")
    suffix = f"{fast}_{slow}_{signal}"

    def kernel(bars: BarArrays) -> Columns:
        close = bars.close
        line, sig, hist = talib.MACD(close, fastperiod=fast, slowperiod=slow, signalperiod=signal)
        return {
            f"macd_{suffix}": _ratio(line, close),
            f"macd_signal_{suffix}": _ratio(sig, close),
            f"macd_hist_{suffix}": _ratio(hist, close),
        }

    return FeatureSpec.from_kernel(
        f"macd_{suffix}", kernel, warmup=slow + signal - 2, description="MACD / close"
    )


def bollinger(period: int = 20, deviations: float = 2.0) -> FeatureSpec:
    """Bollinger %B (position of the close inside the bands) and band width / middle band."""
    _check_period("bollinger period", period, 2)
    if not deviations > 0:
        raise ValueError(f"bollinger deviations must be positive, got {deviations!r}")

    def kernel(bars: BarArrays) -> Columns:
        close = bars.close
        upper, middle, lower = talib.BBANDS(
            close,
            timeperiod=period,
            nbdevup=deviations,
            nbdevdn=deviations,
            matype=_SIMPLE_MA,
        )
        return {
            f"bb_pctb_{period}": _ratio(close - lower, upper - lower),
            f"bb_width_{period}": _ratio(upper - lower, middle),
        }

    return FeatureSpec.from_kernel(
        f"bbands_{period}", kernel, warmup=period - 1, description="Bollinger %B and width"
    )


def atr(period: int = 14) -> FeatureSpec:
    """Average true range in price units (``atr_<n>``) and as a fraction of the close."""
    _check_period("atr period", period)

    def kernel(bars: BarArrays) -> Columns:
        close = bars.close
        values = talib.ATR(bars.high, bars.low, close, timeperiod=period)
        return {f"atr_{period}": values, f"atr_pct_{period}": _ratio(values, close)}

    return FeatureSpec.from_kernel(
        f"atr_{period}", kernel, warmup=period, description="ATR and ATR / close"
    )


def adx(period: int = 14) -> FeatureSpec:
    """Average directional index with the +DI and -DI it is built from.

    ADX smooths DX once more, so its lookback (``2 * period - 1``) is longer
    than the DIs' (``period``); the spec's warmup is the longer one.
    """
    _check_period("adx period", period, 2)

    def kernel(bars: BarArrays) -> Columns:
        high, low, close = bars.high, bars.low, bars.close
        return {
            f"adx_{period}": talib.ADX(high, low, close, timeperiod=period),
            f"plus_di_{period}": talib.PLUS_DI(high, low, close, timeperiod=period),
            f"minus_di_{period}": talib.MINUS_DI(high, low, close, timeperiod=period),
        }

    return FeatureSpec.from_kernel(
        f"adx_{period}", kernel, warmup=2 * period - 1, description="ADX, +DI, -DI"
    )


def stochastic(k_period: int = 14, k_smooth: int = 3, d_period: int = 3) -> FeatureSpec:
    """Slow stochastic %K and %D (simple moving averages), 0 to 100."""
    _check_period("stochastic %K period", k_period)
    _check_period("stochastic %K smoothing", k_smooth)
    _check_period("stochastic %D period", d_period)
    suffix = f"{k_period}_{k_smooth}_{d_period}"

    def kernel(bars: BarArrays) -> Columns:
        slow_k, slow_d = talib.STOCH(
            bars.high,
            bars.low,
            bars.close,
            fastk_period=k_period,
            slowk_period=k_smooth,
            slowk_matype=_SIMPLE_MA,
            slowd_period=d_period,
            slowd_matype=_SIMPLE_MA,
        )
        return {f"stoch_k_{suffix}": slow_k, f"stoch_d_{suffix}": slow_d}

    return FeatureSpec.from_kernel(
        f"stoch_{suffix}",
        kernel,
        warmup=k_period + k_smooth + d_period - 3,
        description="slow stochastic %K and %D",
    )


def _high_low_close_oscillator(
    prefix: str,
    indicator: Callable[..., FloatArray],
    period: int,
    *,
    what: str,
    description: str,
) -> FeatureSpec:
    """``<prefix>_<n>``: a one-column TA-Lib oscillator of high, low and close over ``n`` bars.

    CCI and Williams %R read the same inputs and have the same lookback
    (``period - 1``); one factory declares both, so their checks, names and
    warmups are written once.
    """
    _check_period(f"{what} period", period, 2)

    def kernel(bars: BarArrays) -> Columns:
        values = indicator(bars.high, bars.low, bars.close, timeperiod=period)
        return {f"{prefix}_{period}": values}

    return FeatureSpec.from_kernel(
        f"{prefix}_{period}", kernel, warmup=period - 1, description=description
    )


def cci(period: int = 20) -> FeatureSpec:
    """Commodity channel index ``cci_<n>`` of the typical price."""
    return _high_low_close_oscillator(
        "cci", talib.CCI, period, what="cci", description=cci.__doc__ or ""
    )


def roc(period: int = 10) -> FeatureSpec:
    """Rate of change ``roc_<n>`` in percent: ``100 * (close / close n bars ago - 1)``."""
    _check_period("roc period", period)

    def kernel(bars: BarArrays) -> Columns:
        return {f"roc_{period}": talib.ROC(bars.close, timeperiod=period)}

    return FeatureSpec.from_kernel(
        f"roc_{period}", kernel, warmup=period, description="rate of change, %"
    )


def mfi(period: int = 14) -> FeatureSpec:
    """Money flow index ``mfi_<n>``: a volume-weighted RSI, 0 to 100."""
    _check_period("mfi period", period)

    def kernel(bars: BarArrays) -> Columns:
        values = talib.MFI(
            bars.high,
            bars.low,
            bars.close,
            bars.volume,
            timeperiod=period,
        )
        return {f"mfi_{period}": values}

    return FeatureSpec.from_kernel(
        f"mfi_{period}", kernel, warmup=period, description="money flow index"
    )


def obv_slope(period: int = 20) -> FeatureSpec:
    """Least-squares slope of on-balance volume over ``period`` bars, per average bar volume.

    OBV's level depends on where the series starts, but its slope over a
    window does not (a constant offset has zero slope), which makes the slope
    the usable part. Dividing by the window's mean volume turns "shares per
    bar" into "average bars' volume per bar", comparable across symbols.
    """
    _check_period("obv slope period", period, 2)

    def kernel(bars: BarArrays) -> Columns:
        volume = bars.volume
        obv = talib.OBV(bars.close, volume)
        slope = talib.LINEARREG_SLOPE(obv, timeperiod=period)
        return {f"obv_slope_{period}": _ratio(slope, talib.SMA(volume, timeperiod=period))}

    return FeatureSpec.from_kernel(
        f"obv_slope_{period}", kernel, warmup=period - 1, description="OBV slope / mean volume"
    )


def williams_r(period: int = 14) -> FeatureSpec:
    """Williams %R ``willr_<n>``, -100 (close at the window's low) to 0 (at its high)."""
    return _high_low_close_oscillator(
        "willr", talib.WILLR, period, what="williams %R", description="Williams %R"
    )


def _average_distance(kind: str, average: Callable[..., FloatArray], period: int) -> FeatureSpec:
    """``close / average(close, n) - 1``, named for the average's ``kind`` (``EMA``, ``SMA``).

    Both distances differ only in the average, so one factory owns their
    check, column name, zero-average NaN and warmup (TA-Lib's lookback for
    either average is ``period - 1``), and the two cannot drift apart.
    """
    _check_period(f"{kind.lower()} period", period, 2)
    name = f"{kind.lower()}_dist_{period}"

    def kernel(bars: BarArrays) -> Columns:
        close = bars.close
        return {name: _ratio(close, average(close, timeperiod=period)) - 1.0}

    return FeatureSpec.from_kernel(
        name, kernel, warmup=period - 1, description=f"close / {kind} - 1"
    )


def ema_distance(period: int = 20) -> FeatureSpec:
    """``close / EMA(close, n) - 1``: how far the price is stretched from its trend."""
    return _average_distance("EMA", talib.EMA, period)


def sma_distance(period: int = 50) -> FeatureSpec:
    """``close / SMA(close, n) - 1``."""
    return _average_distance("SMA", talib.SMA, period)


# --------------------------------------------------------------------------- NumPy / pandas


def _log_returns(close: FloatArray, lag: int) -> FloatArray:
    """``log(close_t / close_{t-lag})`` as a difference of logs; NaN for the first ``lag`` bars."""
    log_close = np.log(close)
    values = np.full(len(log_close), np.nan)
    values[lag:] = log_close[lag:] - log_close[:-lag]
    return values


def _realised_volatility(close: FloatArray, window: int) -> FloatArray:
    """Rolling sample std of one-bar log returns.

    pandas' rolling std is kept (one Series per symbol and window) rather than
    a NumPy formula: its compensated online sums define these values, and a
    different summation would change their last bits.
    """
    returns = _log_returns(close, 1)
    return pd.Series(returns).rolling(window, min_periods=window).std(ddof=1).to_numpy()


def log_return(lag: int = 1) -> FeatureSpec:
    """Log return over ``lag`` bars, ``log_ret_<lag> = log(close_t / close_{t-lag})``.

    Log returns add over time and are symmetric, so lags of different lengths
    sit on one scale.
    """
    _check_period("return lag", lag)

    def kernel(bars: BarArrays) -> Columns:
        return {f"log_ret_{lag}": _log_returns(bars.close, lag)}

    return FeatureSpec.from_kernel(f"log_ret_{lag}", kernel, warmup=lag, description="log return")


def realised_volatility(window: int = 20) -> FeatureSpec:
    """Sample standard deviation of one-bar log returns over ``window`` bars, per bar.

    Not annualised: the number of bars in a year depends on the timeframe and
    calendar, and a model needs only a consistent scale. The first return
    needs one bar before it, so the warmup is ``window`` bars.
    """
    _check_period("volatility window", window, 2)

    def kernel(bars: BarArrays) -> Columns:
        return {f"rvol_{window}": _realised_volatility(bars.close, window)}

    return FeatureSpec.from_kernel(
        f"rvol_{window}", kernel, warmup=window, description="realised volatility"
    )


def volume_zscore(window: int = 20) -> FeatureSpec:
    """``(volume - mean) / std`` over the last ``window`` bars, the current bar included.

    The current bar's volume is known at its close, so including it is point in
    time; a window of identical volumes has no spread and gives NaN.
    """
    _check_period("volume window", window, 2)

    def kernel(bars: BarArrays) -> Columns:
        volume = pd.Series(bars.volume)
        rolling = volume.rolling(window, min_periods=window)
        mean = rolling.mean().to_numpy()
        std = rolling.std(ddof=1).to_numpy()
        return {f"vol_z_{window}": _ratio(volume.to_numpy() - mean, std)}

    return FeatureSpec.from_kernel(
        f"vol_z_{window}", kernel, warmup=window - 1, description="volume z-score"
    )


def gap() -> FeatureSpec:
    """Overnight gap ``log(open_t / close_{t-1})``: news that arrived between bars."""

    def kernel(bars: BarArrays) -> Columns:
        close = bars.close
        values = np.full(len(close), np.nan)
        values[1:] = np.log(bars.open[1:] / close[:-1])
        return {"gap": values}

    return FeatureSpec.from_kernel(
        "gap", kernel, warmup=1, description="log(open / previous close)"
    )


def high_low_range() -> FeatureSpec:
    """Intrabar range ``log(high / low)``, a one-bar volatility estimate."""

    def kernel(bars: BarArrays) -> Columns:
        return {"hl_range": np.log(bars.high / bars.low)}

    return FeatureSpec.from_kernel(
        "hl_range", kernel, warmup=0, description="log(high / low)", row_local=True
    )


def calendar_features(calendar: str | None) -> FeatureSpec:
    """Day of week (0 = Monday) and a last-session-of-the-month flag.

    With an exchange calendar, a bar belongs to the session whose
    ``(open, close]`` contains its ``ts``; the bar is a month end when the
    *next scheduled* session falls in another month. That is known before the
    bar closes, because exchanges publish their schedule in advance, so the
    flag is point-in-time legitimate even though it names the future: it
    reads the schedule, not the data. (Unscheduled closures are the exception
    ``exchange_calendars`` records after the fact; they are rare enough to
    accept.) Bars outside every session, which the quality checks reject,
    get NaN.

    Without a calendar (markets that trade every day) a bar belongs to the UTC
    day of the instant just before its close (a daily bar closing at midnight
    belongs to the day that ended), and the last day of the month is a month
    end.
    """

    def kernel(bars: BarArrays) -> Columns:
        ts = bars.timestamps()
        if calendar is None:
            days = (ts - pd.Timedelta(1, "ns")).tz_convert("UTC").tz_localize(None).normalize()
            weekday = np.asarray(days.day_of_week, dtype=np.float64)
            following = days + pd.Timedelta(days=1)
            month_end = np.asarray(following.month != days.month, dtype=np.float64)
            return {"day_of_week": weekday, "month_end": month_end}
        table = sessions(calendar)
        position = session_positions(ts, calendar)
        count = len(table.dates)
        inside = position >= 0
        here = np.where(inside, position, 0)
        has_next = inside & (here + 1 < count)
        after = np.minimum(here + 1, count - 1)
        months = np.asarray(table.dates.year * 12 + table.dates.month)
        weekday = np.where(inside, np.asarray(table.dates.day_of_week)[here], np.nan)
        month_end = np.where(has_next, (months[here] != months[after]).astype(np.float64), np.nan)
        return {"day_of_week": weekday, "month_end": month_end}

    return FeatureSpec.from_kernel(
        "calendar", kernel, warmup=0, description="day of week and month-end flag", row_local=True
    )


# --------------------------------------------------------------------------- cross-section


def cross_sectional_ranks(
    bars: pd.DataFrame, return_lag: int = 5, volatility_window: int = 20
) -> pd.DataFrame:
    """Per-timestamp percentile ranks of each symbol's return and volatility.

    For every ``ts``, the symbols that have a value there are ranked by their
    ``return_lag``-bar log return and by their ``volatility_window``-bar
    realised volatility; the rank is ``rank / count`` (ties averaged), in
    ``(0, 1]``. Only symbols with a bar and a defined value at ``ts`` take
    part, and each of their values uses bars ``<= ts``, so the ranks are point
    in time by construction. With a single symbol every defined rank is 1.

    Parameters
    ----------
    bars
        A canonical bars frame, ``(symbol, ts)`` index, sorted.
    return_lag, volatility_window
        Parameters of the ranked features, computed exactly as
        ``log_return(return_lag)`` and ``realised_volatility(volatility_window)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``xs_rank_log_ret_<lag>`` and ``xs_rank_rvol_<window>`` on ``bars.index``.
    """
    columns = cross_sectional_columns(
        BarArrays.from_frame(bars), symbol_bounds(bars.index), return_lag, volatility_window
    )
    return pd.DataFrame(columns, index=bars.index)


def cross_sectional_inputs(
    close: FloatArray, return_lag: int, volatility_window: int
) -> dict[str, FloatArray]:
    """One symbol's values that the cross-sectional stage ranks, named as the ranks say.

    Public so that a caller ranking a single timestamp (an online predictor)
    ranks the very values ``cross_sectional_columns`` ranks.
    """
    _check_period("return lag", return_lag)
    _check_period("volatility window", volatility_window, 2)
    return {
        f"log_ret_{return_lag}": _log_returns(close, return_lag),
        f"rvol_{volatility_window}": _realised_volatility(close, volatility_window),
    }


def cross_sectional_columns(
    bars: BarArrays, bounds: list[tuple[int, int]], return_lag: int, volatility_window: int
) -> dict[str, FloatArray]:
    """``cross_sectional_ranks`` on bars already split by symbol (``build_features``' path).

    The ranked values are computed per symbol by the same functions as
    ``log_return`` and ``realised_volatility``, then ranked across the rows
    that share a ``ts``.
    """

    def one_symbol(start: int, stop: int) -> Columns:
        return cross_sectional_inputs(bars.close[start:stop], return_lag, volatility_window)

    raw = fill_by_symbol("cross-sectional ranks", one_symbol, bounds, len(bars))
    return {
        f"xs_rank_{name}": percentile_rank_by_key(bars.ts, values) for name, values in raw.items()
    }
