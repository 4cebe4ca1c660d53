"""Performance metrics: pure functions of return, equity and trade series.

Backtests, training evaluation and promotion gates must judge a strategy by the
same numbers, or a model that passed a gate could report different figures in
its backtest. So every metric is defined once, here, as a small pure function
(no I/O, no state, no clock), and :func:`compute_metrics` assembles them from an
equity curve into one :class:`PerformanceMetrics` record.

Definitions follow empyrical (Quantopian's reference library, maintained as
empyrical-reloaded) wherever it has one, so any figure can be checked against a
widely used implementation; the unit tests use it as an oracle on hundreds of
random series. Where this module departs, the function says why. Common rules:

- Returns are *simple* returns per bar, ``r_t = E_t / E_{t-1} - 1``.
- The risk-free rate is 0. Strategies are compared with each other and with a
  benchmark, not with cash, and a zero rate keeps gates independent of an
  interest-rate feed.
- Annualisation uses ``periods_per_year`` (``ppy``): volatility scales with
  ``sqrt(ppy)``, mean returns with ``ppy``, and "years" means
  ``len(returns) / ppy``. :func:`periods_per_year` infers it from bar spacing.
- Inputs must be finite. A NaN in a return series is a bug upstream (a missing
  bar, a division by zero), and silently skipping it, as empyrical does, would
  hide it behind plausible numbers; so it raises ``ValueError`` instead.
- A metric that is undefined for the data (Sharpe of a constant series, profit
  factor without trades) is ``nan``; :meth:`PerformanceMetrics.to_json_dict`
  turns ``nan`` and ``inf`` into ``None`` because JSON has neither.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphagate.metrics.annualisation import periods_per_year

FloatArray: TypeAlias = npt.NDArray[np.float64]
ReturnsLike: TypeAlias = pd.Series | FloatArray | Sequence[float]
"""Simple per-period returns: a Series (its index is used only to align with a
benchmark), a 1-D float array or a plain sequence."""

# A compounded equity that comes back to its peak may land a few ulps short of
# it (the returns were derived from the equity by division); treating that as
# "still under water" would stretch a drawdown to the end of the series.
_RECOVERY_TOLERANCE = 1e-12
# empyrical treats a benchmark variance below this as zero (beta undefined).
_MIN_BENCHMARK_VARIANCE = 1e-30


# ``compute_metrics`` has a keyword argument of the same name; this alias keeps
# the function reachable there.
_infer_periods_per_year = periods_per_year


# --------------------------------------------------------------------------- return metrics


def total_return(returns: ReturnsLike) -> float:
    """Compounded return over the whole series, ``prod(1 + r) - 1``.

    Like ``empyrical.cum_returns_final``; ``nan`` for an empty series.
    """
    return _total_return(_as_finite_array(returns, "returns"))


def _total_return(r: FloatArray) -> float:
    if r.size == 0:
        return math.nan
    return float(np.prod(1.0 + r) - 1.0)


def cagr(returns: ReturnsLike, ppy: float) -> float:
    """Compound annual growth rate, ``(1 + total_return) ** (ppy / n) - 1``.

    The number of years is ``n / ppy`` for ``n`` returns, as in
    ``empyrical.cagr(returns, annualization=ppy)``, rather than the calendar
    time between first and last timestamp: it keeps CAGR consistent with the
    other annualised figures, which all count bars. ``nan`` for an empty series
    or when the compounded wealth goes negative (returns below -100 %).
    """
    return _cagr(_as_finite_array(returns, "returns"), ppy)


def _cagr(r: FloatArray, ppy: float) -> float:
    _check_ppy(ppy)
    if r.size == 0:
        return math.nan
    ending = np.prod(1.0 + r)
    if ending < 0.0:
        return math.nan
    # Extreme growth over few bars overflows to inf, as in empyrical, not OverflowError.
    with np.errstate(over="ignore"):
        return float(np.power(ending, ppy / r.size) - 1.0)


def annual_volatility(returns: ReturnsLike, ppy: float) -> float:
    """Sample standard deviation (``ddof=1``) scaled by ``sqrt(ppy)``.

    As ``empyrical.annual_volatility``; ``nan`` with fewer than two returns.
    """
    return _annual_volatility(_as_finite_array(returns, "returns"), ppy)


def _annual_volatility(r: FloatArray, ppy: float) -> float:
    _check_ppy(ppy)
    if r.size < 2:
        return math.nan
    return float(np.std(r, ddof=1) * math.sqrt(ppy))


def sharpe(returns: ReturnsLike, ppy: float) -> float:
    """Annualised Sharpe ratio, ``mean(r) / std(r, ddof=1) * sqrt(ppy)``, risk-free 0.

    ``nan`` with fewer than two returns or when all returns are equal. There
    empyrical returns ``inf`` (for a constant non-zero return), but a riskless
    constant return says nothing about skill, and an infinite Sharpe would pass
    every gate; ``nan`` makes the gate decide explicitly. "All equal" is tested
    on the values, not on ``std == 0``, because the floating-point standard
    deviation of identical values can be a tiny non-zero residue.
    """
    return _sharpe(_as_finite_array(returns, "returns"), ppy)


def _sharpe(r: FloatArray, ppy: float) -> float:
    _check_ppy(ppy)
    if r.size < 2 or float(r.max()) == float(r.min()):
        return math.nan
    return float(np.mean(r) / np.std(r, ddof=1) * math.sqrt(ppy))


def downside_deviation(returns: ReturnsLike, ppy: float) -> float:
    """Annualised downside deviation below 0, ``sqrt(mean(min(r, 0) ** 2) * ppy)``.

    The mean runs over *all* periods, not only losing ones, as in
    ``empyrical.downside_risk``: the standard deviation of the losses alone
    would rate a strategy that rarely loses as risky as one that often does.
    """
    return _downside_deviation(_as_finite_array(returns, "returns"), ppy)


def _downside_deviation(r: FloatArray, ppy: float) -> float:
    _check_ppy(ppy)
    if r.size == 0:
        return math.nan
    return float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)) * math.sqrt(ppy))


def sortino(returns: ReturnsLike, ppy: float) -> float:
    """Annualised Sortino ratio, ``mean(r) * ppy / downside_deviation``, as empyrical.

    Matches ``empyrical.sortino_ratio`` exactly, including its edge cases:
    ``inf`` when nothing was ever lost and the mean is positive, ``nan`` with
    fewer than two returns or when mean and downside are both zero.
    """
    return _sortino(_as_finite_array(returns, "returns"), ppy)


def _sortino(r: FloatArray, ppy: float) -> float:
    _check_ppy(ppy)
    if r.size < 2:
        return math.nan
    return _divide(float(np.mean(r)) * ppy, _downside_deviation(r, ppy))


def _wealth(returns: FloatArray) -> FloatArray:
    """Compounded wealth starting at 1.0 *before* the first return.

    Including the starting point means a loss on the very first bar is a
    drawdown, as in empyrical (and as an equity curve that starts at its
    initial capital shows).
    """
    return np.concatenate(([1.0], np.cumprod(1.0 + returns)))


def max_drawdown(returns: ReturnsLike) -> float:
    """Largest peak-to-trough fall of compounded wealth, as a negative fraction.

    ``-0.25`` means wealth fell to 75 % of a previous peak; ``0.0`` means it
    never fell. As ``empyrical.max_drawdown``; ``nan`` for an empty series.
    """
    r = _as_finite_array(returns, "returns")
    if r.size == 0:
        return math.nan
    return _max_drawdown(*_wealth_and_peak(r))


def _wealth_and_peak(r: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Compounded wealth (see ``_wealth``) and its running peak, which both drawdown figures use."""
    wealth = _wealth(r)
    return wealth, np.maximum.accumulate(wealth)


def _max_drawdown(wealth: FloatArray, peak: FloatArray) -> float:
    drawdown = np.subtract(wealth, peak)
    return float(np.min(np.divide(drawdown, peak, out=drawdown)))  # (wealth - peak) / peak


def max_drawdown_duration(returns: ReturnsLike) -> int:
    """Longest run of consecutive periods spent below a previous peak.

    Counted in bars (multiply by the bar length for time). A period at the
    peak again (within a relative ``1e-12``, see ``_RECOVERY_TOLERANCE``)
    ends the run. A drawdown still open at the end of the series counts up to
    the last bar, because an unrecovered loss is at least as long as observed.
    0 when wealth never falls.
    """
    r = _as_finite_array(returns, "returns")
    if r.size == 0:
        return 0
    return _max_drawdown_duration(*_wealth_and_peak(r))


def _max_drawdown_duration(wealth: FloatArray, peak: FloatArray) -> int:
    under = wealth < peak * (1.0 - _RECOVERY_TOLERANCE)
    if not under.any():
        return 0
    edges = np.flatnonzero(np.diff(np.concatenate(([0], under.astype(np.int8), [0]))))
    return int(np.max(edges[1::2] - edges[::2]))


def calmar(returns: ReturnsLike, ppy: float) -> float:
    """CAGR divided by the size of the maximum drawdown, ``cagr / abs(max_drawdown)``.

    ``nan`` when there was no drawdown (the ratio would be infinite and carry
    no information) or when it is otherwise infinite, as ``empyrical.calmar_ratio``.
    """
    r = _as_finite_array(returns, "returns")
    return _calmar(lambda: _cagr(r, ppy), max_drawdown(r))


def _calmar(growth: Callable[[], float], mdd: float) -> float:
    """Calmar from the maximum drawdown and the CAGR, which is only computed when needed."""
    if not mdd < 0.0:
        return math.nan
    value = growth() / abs(mdd)
    return value if not math.isinf(value) else math.nan


def alpha_beta(returns: ReturnsLike, benchmark: ReturnsLike, ppy: float) -> tuple[float, float]:
    """Annualised alpha and beta of ``returns`` against ``benchmark`` returns.

    ``beta = cov(r, b) / var(b)`` (population moments), and
    ``alpha = (1 + mean(r - beta * b)) ** ppy - 1``, risk-free 0, exactly as
    ``empyrical.alpha_beta``. Two Series are aligned on their index and only
    periods present in both are used, which is what empyrical's outer join
    followed by NaN-skipping amounts to. Arrays must have equal length.

    Returns ``(nan, nan)`` with fewer than two common periods, and ``nan`` beta
    (hence alpha) when the benchmark does not move (variance below 1e-30).
    """
    _check_ppy(ppy)
    if isinstance(returns, pd.Series) and isinstance(benchmark, pd.Series):
        if not returns.index.equals(benchmark.index):  # else the join would keep every row
            joined = pd.concat([returns, benchmark], axis=1, join="inner")
            returns, benchmark = joined.iloc[:, 0], joined.iloc[:, 1]
        r = _as_finite_array(returns, "returns")
        b = _as_finite_array(benchmark, "benchmark returns")
    else:
        r = _as_finite_array(returns, "returns")
        b = _as_finite_array(benchmark, "benchmark returns")
        if r.size != b.size:
            raise ValueError(
                f"returns and benchmark returns must have the same length, got {r.size} "
                f"and {b.size}; pass two Series to align them on their index"
            )
    if r.size < 2:
        return math.nan, math.nan
    b_residual = b - np.mean(b)
    # One scratch array holds each product in turn (b_residual ** 2, b_residual * r,
    # r - beta * b): the same values, without a fresh million-element array for each.
    scratch = np.multiply(b_residual, b_residual)
    variance = float(np.mean(scratch))
    if variance < _MIN_BENCHMARK_VARIANCE:
        return math.nan, math.nan
    beta = float(np.mean(np.multiply(b_residual, r, out=scratch))) / variance
    np.subtract(r, np.multiply(beta, b, out=scratch), out=scratch)
    # A negative base (mean excess loss beyond -100 %) gives nan, as in empyrical.
    with np.errstate(over="ignore", invalid="ignore"):
        alpha = float(np.power(1.0 + np.mean(scratch), ppy) - 1.0)
    return alpha, beta


# --------------------------------------------------------------------------- trade statistics


def win_rate(trade_pnl: Sequence[float] | FloatArray) -> float:
    """Share of trades with a strictly positive P&L; ``nan`` without trades.

    Break-even trades count as trades but not as wins: they tied up capital
    and risk without paying for it.
    """
    pnl = _as_finite_array(trade_pnl, "trade_pnl")
    if pnl.size == 0:
        return math.nan
    return float(np.mean(pnl > 0.0))


def profit_factor(trade_pnl: Sequence[float] | FloatArray) -> float:
    """Gross profit of winning trades divided by gross loss of losing trades.

    ``inf`` when there are wins but no losses (a real, if fragile, result),
    ``nan`` without trades or when every trade broke even (0 / 0).
    """
    pnl = _as_finite_array(trade_pnl, "trade_pnl")
    if pnl.size == 0:
        return math.nan
    gross_win = float(pnl[pnl > 0.0].sum())
    gross_loss = float(np.sum(-pnl[pnl < 0.0]))  # not -sum(...): that is -0.0 without losses
    return _divide(gross_win, gross_loss)


def avg_win(trade_pnl: Sequence[float] | FloatArray) -> float:
    """Mean P&L of winning trades (positive); ``nan`` when no trade won."""
    pnl = _as_finite_array(trade_pnl, "trade_pnl")
    wins = pnl[pnl > 0.0]
    return float(np.mean(wins)) if wins.size else math.nan


def avg_loss(trade_pnl: Sequence[float] | FloatArray) -> float:
    """Mean P&L of losing trades, kept negative so it reads as a loss; ``nan`` when none lost."""
    pnl = _as_finite_array(trade_pnl, "trade_pnl")
    losses = pnl[pnl < 0.0]
    return float(np.mean(losses)) if losses.size else math.nan


# --------------------------------------------------------------------------- activity


def exposure(position_value: pd.Series, equity: pd.Series) -> float:
    """Share of the equity curve's periods in which a position was held.

    A period counts when its position value is non-zero, long or short. The
    position series is aligned on the equity curve's index; timestamps it
    lacks count as flat, so an engine may record only the bars it was in the
    market. A timestamp that is not on the equity curve raises, because it
    means the two series describe different bars.
    """
    held = _on_equity_index(position_value, equity, "position_value")
    if held.size == 0:
        return math.nan
    return float(np.mean(held != 0.0))


def turnover(traded_notional: pd.Series, equity: pd.Series, ppy: float) -> float:
    """Annualised turnover: ``mean(|traded notional| / equity) * ppy``.

    Traded notional is the absolute value of everything bought *plus* sold in
    a period (two-sided), divided by that period's equity, so buying the book
    and selling it again a year later is a turnover of 2.0; multiply by a
    per-unit cost to see what a strategy pays in fees and slippage per year.
    Alignment follows :func:`exposure`: missing timestamps traded nothing.
    """
    _check_ppy(ppy)
    notional = _on_equity_index(traded_notional, equity, "traded_notional")
    if notional.size == 0:
        return math.nan
    return _turnover(notional, _check_equity(equity), ppy)


def _turnover(notional: FloatArray, capital: FloatArray, ppy: float) -> float:
    return float(np.mean(np.abs(notional) / capital) * ppy)


# --------------------------------------------------------------------------- aggregate


@dataclass(frozen=True)
class PerformanceMetrics:
    """Every metric of one equity curve, the record gates and reports read.

    Fractions are plain numbers (0.12 is 12 %). ``max_drawdown`` is negative,
    ``avg_loss`` too. Durations are in bars. A field is ``nan`` when its input
    was not given (``exposure`` without positions, ``alpha`` without a
    benchmark) or is undefined for the data; gates must treat ``nan`` as
    "cannot judge", never as a pass.
    """

    total_return: float
    cagr: float
    annual_volatility: float
    sharpe: float
    sortino: float
    max_drawdown: float
    max_drawdown_duration: int
    calmar: float
    win_rate: float
    profit_factor: float
    avg_win: float
    avg_loss: float
    exposure: float
    turnover: float
    trades: int
    alpha: float
    beta: float
    periods_per_year: float

    def to_json_dict(self) -> dict[str, float | int | None]:
        """Return the fields as a JSON-ready dict, with ``nan`` and ``inf`` as ``None``.

        JSON has no NaN or infinity (``json.dumps`` would write invalid
        ``NaN``), and an infinite profit factor is better reported as "no
        finite value" than as a huge number.
        """
        out: dict[str, float | int | None] = {}
        for field in fields(self):
            value: float | int = getattr(self, field.name)
            if isinstance(value, float) and not math.isfinite(value):
                out[field.name] = None
            else:
                out[field.name] = value
        return out


def compute_metrics(
    equity: pd.Series,
    *,
    trade_pnl: Sequence[float] | FloatArray = (),
    position_value: pd.Series | None = None,
    traded_notional: pd.Series | None = None,
    benchmark: pd.Series | None = None,
    periods_per_year: float | None = None,
    calendar: str | None = None,
) -> PerformanceMetrics:
    """Compute every metric of an equity curve in one call.

    Parameters
    ----------
    equity
        Account value at each bar close, positive and finite, at least two
        points, indexed by strictly increasing timestamps (or any index when
        ``periods_per_year`` is given). Returns are ``equity.pct_change()``
        without the first (undefined) value, so ``n`` points give ``n - 1``
        returns and the first point is the starting capital.
    trade_pnl
        Realised P&L of each closed trade, for the trade statistics.
    position_value
        Market value of the position at each bar (any sign), for ``exposure``.
    traded_notional
        Notional traded at each bar, for ``turnover``.
    benchmark
        Benchmark *prices* (or equity) on the same bar closes. They are taken
        at the equity's timestamps and only then turned into returns, so each
        benchmark return spans exactly the interval of the strategy return it
        is compared with, even if the benchmark has extra bars in between.
    periods_per_year
        Annualisation factor; inferred with :func:`periods_per_year` when
        ``None``.
    calendar
        Exchange calendar code used for that inference.

    Raises
    ------
    ValueError
        When the equity has fewer than two points, a NaN or infinite value, a
        non-positive value or unordered timestamps; when the benchmark lacks
        one of the equity's timestamps or is not positive there; when an
        optional series has timestamps the equity lacks or non-finite values.
    """
    capital = _check_equity(equity)
    ppy = _resolve_ppy(equity, periods_per_year, calendar)
    # copy=False: the array is new and this Series its only holder (pandas copies by default).
    returns = pd.Series(capital[1:] / capital[:-1] - 1.0, index=equity.index[1:], copy=False)
    pnl = _as_finite_array(trade_pnl, "trade_pnl")

    alpha, beta = math.nan, math.nan
    if benchmark is not None:
        alpha, beta = alpha_beta(returns, _benchmark_returns(benchmark, equity), ppy)

    # Each public function validates its input and recomputes what it needs;
    # on a million bars that is most of the time spent here. The returns are
    # validated once, and the wealth curve, its peak and the CAGR are computed
    # once, with the same operations, so every figure is the same to the bit.
    r = _as_finite_array(returns, "returns")
    growth = _cagr(r, ppy)
    if r.size:
        wealth, peak = _wealth_and_peak(r)
        mdd, mdd_duration = _max_drawdown(wealth, peak), _max_drawdown_duration(wealth, peak)
    else:
        mdd, mdd_duration = math.nan, 0
    exposure_value = math.nan if position_value is None else exposure(position_value, equity)
    turnover_value = math.nan
    if traded_notional is not None:
        _check_ppy(ppy)
        notional = _on_equity_index(traded_notional, equity, "traded_notional")
        if notional.size:
            turnover_value = _turnover(notional, capital, ppy)
    return PerformanceMetrics(
        total_return=_total_return(r),
        cagr=growth,
        annual_volatility=_annual_volatility(r, ppy),
        sharpe=_sharpe(r, ppy),
        sortino=_sortino(r, ppy),
        max_drawdown=mdd,
        max_drawdown_duration=mdd_duration,
        calmar=_calmar(lambda: growth, mdd),
        win_rate=win_rate(pnl),
        profit_factor=profit_factor(pnl),
        avg_win=avg_win(pnl),
        avg_loss=avg_loss(pnl),
        exposure=exposure_value,
        turnover=turnover_value,
        trades=int(pnl.size),
        alpha=alpha,
        beta=beta,
        periods_per_year=float(ppy),
    )


# --------------------------------------------------------------------------- validation


def _as_finite_array(values: ReturnsLike, name: str) -> FloatArray:
    """Return ``values`` as a 1-D float64 array, raising on NaN or infinity."""
    if isinstance(values, pd.Series):
        array = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        where = values.index[first] if isinstance(values, pd.Series) else f"position {first}"
        raise ValueError(
            f"{name} must be finite: {int(bad.sum())} value(s) are NaN or infinite, "
            f"the first at {where}"
        )
    return array


def _check_ppy(ppy: float) -> None:
    if not (math.isfinite(ppy) and ppy > 0):
        raise ValueError(f"periods per year must be a positive finite number, got {ppy}")


class EquityWipedOut(ValueError):  # noqa: N818 - named for what happened to the account
    """The equity curve reached zero or below: returns, Sharpe and drawdown are undefined.

    ``value`` and ``ts`` are the first point at or below zero, so a caller
    that can live without metrics (a stress scenario) records a total loss.
    """

    def __init__(self, value: float, ts: object) -> None:
        self.value, self.ts = value, ts
        super().__init__(
            f"equity must be positive (returns of a wiped-out account are undefined): "
            f"{value} at {ts}"
        )


def _check_equity(equity: pd.Series) -> FloatArray:
    """Validate an equity curve and return its values."""
    if not isinstance(equity, pd.Series):
        raise ValueError(f"equity must be a pandas Series, got {type(equity).__name__}")
    if len(equity) < 2:
        raise ValueError(f"equity needs at least 2 points to form one return, got {len(equity)}")
    values = _as_finite_array(equity, "equity")
    if (values <= 0.0).any():
        first = int(np.flatnonzero(values <= 0.0)[0])
        raise EquityWipedOut(float(values[first]), equity.index[first])
    index = equity.index
    if isinstance(index, pd.DatetimeIndex) and not _strictly_increasing(index):
        raise ValueError("equity timestamps must be strictly increasing (sorted, no duplicates)")
    return values


def _strictly_increasing(index: pd.DatetimeIndex) -> bool:
    """``is_monotonic_increasing and is_unique``, by comparing neighbours instead of hashing."""
    stamps = index.asi8
    return not index.hasnans and bool(np.all(stamps[1:] > stamps[:-1]))


def _resolve_ppy(equity: pd.Series, ppy: float | None, calendar: str | None) -> float:
    if ppy is not None:
        _check_ppy(ppy)
        return float(ppy)
    if not isinstance(equity.index, pd.DatetimeIndex):
        raise ValueError(
            "cannot infer periods per year: equity is not indexed by timestamps; "
            "pass periods_per_year"
        )
    return _infer_periods_per_year(equity.index, calendar)


def _benchmark_returns(benchmark: pd.Series, equity: pd.Series) -> pd.Series:
    """Benchmark prices at the equity's timestamps, turned into returns."""
    missing = equity.index.difference(benchmark.index)
    if len(missing):
        raise ValueError(
            f"benchmark lacks {len(missing)} of the equity's {len(equity)} timestamps "
            f"(first: {missing[0]}); both must be stamped at the same bar closes"
        )
    prices = _as_finite_array(benchmark.reindex(equity.index), "benchmark")
    if (prices <= 0.0).any():
        first = int(np.flatnonzero(prices <= 0.0)[0])
        raise ValueError(
            f"benchmark prices must be positive: {prices[first]} at {equity.index[first]}"
        )
    return pd.Series(prices[1:] / prices[:-1] - 1.0, index=equity.index[1:], copy=False)


def _on_equity_index(values: pd.Series, equity: pd.Series, name: str) -> FloatArray:
    """``values`` on the equity curve's index, 0.0 where it has no entry."""
    extra = values.index.difference(equity.index)
    if len(extra):
        raise ValueError(
            f"{name} has {len(extra)} timestamp(s) not on the equity curve (first: {extra[0]})"
        )
    _as_finite_array(values, name)
    return _as_finite_array(values.reindex(equity.index, fill_value=0.0), name)


def _divide(numerator: float, denominator: float) -> float:
    """IEEE division: ``x / 0`` is ``±inf`` and ``0 / 0`` is ``nan``, without warnings."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.divide(np.float64(numerator), np.float64(denominator)))
