"""Tests for ``alphagate.metrics.performance``.

Return metrics are checked against empyrical (empyrical-reloaded) as an oracle
on a few hundred seeded random series, always passing ``annualization=``
explicitly so both sides use the same periods per year. Definitional
differences that had to be aligned or that remain on purpose:

- Sharpe of a constant series: empyrical gives ``±inf`` for a constant
  non-zero return; alphagate gives ``nan`` (see ``sharpe``). The oracle series
  are never constant and non-zero; the difference has its own test below.
- NaN inputs: empyrical skips them, alphagate raises. The oracle series hold
  no NaN.
- alpha/beta: empyrical outer-joins two Series and then skips NaN pairs;
  alphagate inner-joins. Both use exactly the periods present in both.
- ``max_drawdown_duration``, the trade statistics, exposure, turnover and
  ``periods_per_year`` have no empyrical counterpart and are checked by hand.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from functools import lru_cache

import empyrical
import exchange_calendars
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.metrics import performance as metrics
from alphagate.metrics.annualisation import periods_per_year
from alphagate.metrics.performance import PerformanceMetrics, compute_metrics

FIELDS = (
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "max_drawdown_duration",
    "calmar",
    "win_rate",
    "profit_factor",
    "avg_win",
    "avg_loss",
    "exposure",
    "turnover",
    "trades",
    "alpha",
    "beta",
    "periods_per_year",
)
REL_TOL = 1e-6
ABS_TOL = 1e-9
# Daily, crypto daily, weekly, monthly, hourly 24/7, 5-minute XNYS.
PPY_CHOICES = (252.0, 365.0, 52.0, 12.0, 8760.0, 19656.0)
N_SERIES = 240


def same(ours: float, theirs: float) -> bool:
    """Equal within tolerance, treating nan == nan and inf == inf of the same sign."""
    theirs = float(theirs)
    if math.isnan(ours) or math.isnan(theirs):
        return math.isnan(ours) and math.isnan(theirs)
    if math.isinf(ours) or math.isinf(theirs):
        return ours == theirs
    return math.isclose(ours, theirs, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _flat_half_the_time(rng: np.random.Generator, n: int) -> np.ndarray:
    r = rng.normal(0.0, 0.02, n)
    r[rng.random(n) < 0.5] = 0.0
    return r


# Families of random returns, every value above -100 %.
RETURN_FAMILIES: tuple[Callable[[np.random.Generator, int], np.ndarray], ...] = (
    # ordinary daily-like returns
    lambda rng, n: rng.normal(0.0005, 0.01, n),
    # never loses: Sortino inf, no drawdown, Calmar nan
    lambda rng, n: np.abs(rng.normal(0.001, 0.01, n)) + 1e-5,
    # flat half of the time (a strategy often out of the market)
    _flat_half_the_time,
    # heavy tails (Student t, 2.5 degrees of freedom)
    lambda rng, n: np.clip(rng.standard_t(2.5, n) * 0.01, -0.9, None),
    # volatile and losing
    lambda rng, n: np.clip(rng.normal(-0.002, 0.05, n), -0.9, None),
    # never trades: every ratio undefined
    lambda _rng, n: np.zeros(n),
    # never gains: the drawdown never recovers
    lambda rng, n: -np.abs(rng.normal(0.0, 0.01, n)),
)


def oracle_cases() -> Iterator[tuple[np.ndarray, np.ndarray, float]]:
    """Seeded (returns, benchmark returns, ppy) triples of lengths 30 to 2000."""
    rng = np.random.default_rng(20240607)
    for i in range(N_SERIES):
        n = int(rng.integers(30, 2001))
        returns = RETURN_FAMILIES[i % len(RETURN_FAMILIES)](rng, n)
        benchmark = np.clip(0.6 * returns + rng.normal(0.0, 0.01, n), -0.9, None)
        yield returns, benchmark, PPY_CHOICES[i % len(PPY_CHOICES)]


@lru_cache(maxsize=1)
def cases() -> list[tuple[np.ndarray, np.ndarray, float]]:
    return list(oracle_cases())


ONE_SERIES_METRICS: list[tuple[str, Callable[[np.ndarray, float], float], Callable[..., float]]] = [
    (
        "total_return",
        lambda r, _: metrics.total_return(r),
        lambda r, _: empyrical.cum_returns_final(r),
    ),
    ("cagr", metrics.cagr, lambda r, p: empyrical.cagr(r, annualization=p)),
    (
        "annual_volatility",
        metrics.annual_volatility,
        lambda r, p: empyrical.annual_volatility(r, annualization=p),
    ),
    ("sharpe", metrics.sharpe, lambda r, p: empyrical.sharpe_ratio(r, annualization=p)),
    ("sortino", metrics.sortino, lambda r, p: empyrical.sortino_ratio(r, annualization=p)),
    ("max_drawdown", lambda r, _: metrics.max_drawdown(r), lambda r, _: empyrical.max_drawdown(r)),
    ("calmar", metrics.calmar, lambda r, p: empyrical.calmar_ratio(r, annualization=p)),
]


# --------------------------------------------------------------------------- oracle


@pytest.mark.parametrize(
    ("name", "ours", "theirs"), ONE_SERIES_METRICS, ids=[m[0] for m in ONE_SERIES_METRICS]
)
def test_return_metric_matches_empyrical_on_many_random_series(
    name: str,
    ours: Callable[[np.ndarray, float], float],
    theirs: Callable[..., float],
) -> None:
    mismatches = []
    with np.errstate(all="ignore"):  # empyrical warns on 0/0 and x/0
        for i, (returns, _, ppy) in enumerate(cases()):
            got, want = ours(returns, ppy), float(theirs(returns, ppy))
            if not same(got, want):
                mismatches.append((i, len(returns), ppy, got, want))
    assert not mismatches, f"{name}: {len(mismatches)} mismatches, first {mismatches[:3]}"


def test_oracle_series_cover_the_edge_cases_they_are_meant_to() -> None:
    # Guards the generator: the comparison above is only meaningful if it saw
    # infinite Sortinos, undefined Calmars and ordinary finite values alike.
    sortinos = [metrics.sortino(r, p) for r, _, p in cases()]
    calmars = [metrics.calmar(r, p) for r, _, p in cases()]
    assert any(math.isinf(s) for s in sortinos)
    assert any(math.isnan(s) for s in sortinos)
    assert sum(math.isfinite(s) for s in sortinos) > N_SERIES // 2
    assert any(math.isnan(c) for c in calmars)
    assert sum(math.isfinite(c) for c in calmars) > N_SERIES // 2
    assert {len(r) for r, _, _ in cases()} & set(range(30, 100))
    assert {len(r) for r, _, _ in cases()} & set(range(1900, 2001))


def test_alpha_beta_match_empyrical_on_many_random_series() -> None:
    mismatches = []
    for i, (returns, benchmark, ppy) in enumerate(cases()):
        alpha, beta = metrics.alpha_beta(returns, benchmark, ppy)
        want_alpha, want_beta = empyrical.alpha_beta(returns, benchmark, annualization=ppy)
        if not (same(alpha, want_alpha) and same(beta, want_beta)):
            mismatches.append((i, ppy, alpha, want_alpha, beta, want_beta))
    assert not mismatches, f"{len(mismatches)} mismatches, first {mismatches[:3]}"


# empyrical's own outer join triggers a pandas 4 deprecation warning about sorting.
@pytest.mark.filterwarnings("ignore:Sorting by default when concatenating")
def test_alpha_beta_of_two_series_uses_only_common_timestamps_like_empyrical() -> None:
    rng = np.random.default_rng(7)
    index = pd.date_range("2021-01-01", periods=300, freq="D", tz="UTC")
    bench = pd.Series(rng.normal(0, 0.01, 300), index=index)
    returns = pd.Series(1.3 * bench.to_numpy() + rng.normal(0.001, 0.005, 300), index=index)
    # Each side lacks some dates the other has; empyrical aligns by an outer
    # join and skips the NaN pairs, alphagate by an inner join.
    returns_gappy = returns.drop(index[10:20])
    bench_gappy = bench.drop(index[200:230])
    alpha, beta = metrics.alpha_beta(returns_gappy, bench_gappy, 365.0)
    want_alpha, want_beta = empyrical.alpha_beta(returns_gappy, bench_gappy, annualization=365)
    assert same(alpha, want_alpha)
    assert same(beta, want_beta)
    assert 1.2 < beta < 1.4


def test_compute_metrics_on_an_equity_curve_matches_empyrical_on_its_returns() -> None:
    for returns, bench_returns, ppy in cases()[:60]:
        index = pd.date_range("2015-01-01", periods=len(returns) + 1, freq="D", tz="UTC")
        equity = pd.Series(1e5 * np.cumprod(np.r_[1.0, 1.0 + returns]), index=index)
        bench_prices = pd.Series(250.0 * np.cumprod(np.r_[1.0, 1.0 + bench_returns]), index=index)
        m = compute_metrics(equity, benchmark=bench_prices, periods_per_year=ppy)
        want_alpha, want_beta = empyrical.alpha_beta(returns, bench_returns, annualization=ppy)
        with np.errstate(all="ignore"):
            assert same(m.total_return, empyrical.cum_returns_final(returns))
            assert same(m.cagr, empyrical.cagr(returns, annualization=ppy))
            assert same(
                m.annual_volatility, empyrical.annual_volatility(returns, annualization=ppy)
            )
            assert same(m.sortino, empyrical.sortino_ratio(returns, annualization=ppy))
            assert same(m.max_drawdown, empyrical.max_drawdown(returns))
            assert same(m.calmar, empyrical.calmar_ratio(returns, annualization=ppy))
            if np.ptp(returns) > 0:  # constant returns: see the Sharpe test below
                assert same(m.sharpe, empyrical.sharpe_ratio(returns, annualization=ppy))
        assert same(m.alpha, want_alpha)
        assert same(m.beta, want_beta)
        assert m.periods_per_year == ppy


def test_sharpe_of_constant_returns_is_nan_where_empyrical_says_infinite() -> None:
    constant = np.full(50, 0.001)
    with np.errstate(all="ignore"):
        assert math.isinf(empyrical.sharpe_ratio(constant, annualization=252))
    assert math.isnan(metrics.sharpe(constant, 252.0))
    assert math.isnan(metrics.sharpe(np.zeros(50), 252.0))
    assert math.isnan(metrics.sharpe([0.01], 252.0))


# --------------------------------------------------------------------------- by hand


def equity_series(values: list[float]) -> pd.Series:
    index = pd.date_range("2024-01-01", periods=len(values), freq="D", tz="UTC")
    return pd.Series(values, index=index, dtype="float64")


def returns_of(values: list[float]) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return v[1:] / v[:-1] - 1.0


def test_max_drawdown_duration_counts_bars_below_the_previous_peak() -> None:
    # Peak 110; under water at 99, 100, 105 (3 bars); back to 110 exactly;
    # new peak 120, then 108 (1 bar, still open at the end).
    values = [100.0, 110.0, 99.0, 100.0, 105.0, 110.0, 120.0, 108.0]
    assert metrics.max_drawdown_duration(returns_of(values)) == 3
    assert compute_metrics(equity_series(values), periods_per_year=252).max_drawdown_duration == 3
    assert metrics.max_drawdown(returns_of(values)) == pytest.approx(-0.1)


def test_max_drawdown_duration_counts_a_loss_on_the_first_bar_and_an_open_drawdown() -> None:
    assert metrics.max_drawdown_duration(returns_of([100.0, 90.0, 95.0, 101.0])) == 2
    assert metrics.max_drawdown_duration(returns_of([100.0, 101.0, 99.0, 98.0, 97.0])) == 3
    assert metrics.max_drawdown(returns_of([100.0, 90.0, 95.0, 101.0])) == pytest.approx(-0.1)


def test_max_drawdown_duration_is_zero_when_equity_never_falls() -> None:
    assert metrics.max_drawdown_duration(returns_of([100.0, 100.0, 101.0, 105.0])) == 0
    assert metrics.max_drawdown_duration([]) == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=1000), min_size=2, max_size=60))
def test_max_drawdown_duration_equals_a_plain_loop_over_the_equity(cents: list[int]) -> None:
    # Integer equities make "back at the peak" exact on the equity side, while
    # the metric sees returns that reproduce it only up to rounding: this is
    # what the recovery tolerance is for.
    values = [float(c) for c in cents]
    longest = run = 0
    peak = values[0]
    for v in values[1:]:
        peak = max(peak, v)
        run = run + 1 if v < peak else 0
        longest = max(longest, run)
    assert metrics.max_drawdown_duration(returns_of(values)) == longest


def test_trade_statistics_of_a_small_pnl_list() -> None:
    pnl = [100.0, -50.0, 0.0, 200.0, -25.0]
    assert metrics.win_rate(pnl) == pytest.approx(2 / 5)  # the break-even trade is no win
    assert metrics.profit_factor(pnl) == pytest.approx(300 / 75)
    assert metrics.avg_win(pnl) == pytest.approx(150.0)
    assert metrics.avg_loss(pnl) == pytest.approx(-37.5)
    m = compute_metrics(equity_series([100.0, 101.0, 102.0]), trade_pnl=pnl, periods_per_year=252)
    assert m.trades == 5
    assert (m.win_rate, m.profit_factor, m.avg_win, m.avg_loss) == pytest.approx(
        (0.4, 4.0, 150.0, -37.5)
    )


def test_trade_statistics_without_losses_without_wins_and_without_trades() -> None:
    assert metrics.profit_factor([10.0, 5.0]) == math.inf
    assert math.isnan(metrics.avg_loss([10.0, 5.0]))
    assert math.isnan(metrics.avg_win([-1.0, 0.0]))
    assert metrics.profit_factor([-1.0, 0.0]) == 0.0
    assert math.isnan(metrics.profit_factor([0.0, 0.0]))
    for stat in (metrics.win_rate, metrics.profit_factor, metrics.avg_win, metrics.avg_loss):
        assert math.isnan(stat([]))


def test_exposure_is_the_share_of_bars_with_a_position_and_missing_bars_are_flat() -> None:
    equity = equity_series([100.0, 100.0, 101.0, 99.0, 100.0])
    position = pd.Series([0.0, 50.0, -30.0], index=equity.index[:3])  # last two bars unrecorded
    assert metrics.exposure(position, equity) == pytest.approx(2 / 5)
    m = compute_metrics(equity, position_value=position, periods_per_year=252)
    assert m.exposure == pytest.approx(0.4)


def test_turnover_annualises_two_sided_notional_relative_to_equity() -> None:
    equity = equity_series([100.0, 100.0, 200.0, 200.0])
    notional = pd.Series([0.0, 100.0, -100.0, 0.0], index=equity.index)  # a sell as negative
    # per-bar turnover 0, 1, 0.5, 0 -> mean 0.375 -> x 252
    assert metrics.turnover(notional, equity, 252.0) == pytest.approx(94.5)
    m = compute_metrics(equity, traded_notional=notional, periods_per_year=252)
    assert m.turnover == pytest.approx(94.5)


def test_benchmark_returns_span_the_equity_bars_even_with_extra_benchmark_bars() -> None:
    rng = np.random.default_rng(3)
    daily = pd.date_range("2023-01-02 21:00", periods=201, freq="D", tz="UTC")
    equity = pd.Series(100.0 * np.cumprod(1 + rng.normal(0, 0.01, 201)), index=daily)
    # The benchmark equals the equity at every equity bar but has noisy bars
    # in between; taken at the equity's bars it is the same curve: beta 1, alpha 0.
    half_days = pd.date_range(daily[0], daily[-1], freq="12h")
    bench = equity.reindex(half_days).interpolate() * (1 + rng.normal(0, 0.05, len(half_days)))
    bench.loc[daily] = 3.0 * equity
    m = compute_metrics(equity, benchmark=bench)
    assert m.beta == pytest.approx(1.0, abs=1e-12)
    assert m.alpha == pytest.approx(0.0, abs=1e-12)


def test_compute_metrics_leaves_metrics_without_input_as_nan() -> None:
    m = compute_metrics(equity_series([100.0, 99.0, 102.0]), periods_per_year=252)
    for name in ("win_rate", "profit_factor", "avg_win", "avg_loss", "exposure", "turnover"):
        assert math.isnan(getattr(m, name)), name
    assert math.isnan(m.alpha)
    assert math.isnan(m.beta)
    assert m.trades == 0


def test_metrics_do_not_depend_on_the_scale_of_the_equity() -> None:
    rng = np.random.default_rng(11)
    equity = equity_series(list(1000.0 * np.cumprod(1 + rng.normal(0, 0.02, 100))))
    small = compute_metrics(equity, periods_per_year=365).to_json_dict()
    large = compute_metrics(equity * 1e6, periods_per_year=365).to_json_dict()
    assert small.keys() == large.keys()
    for key, value in small.items():
        other = large[key]
        assert (value is None and other is None) or value == pytest.approx(other, rel=1e-9), key


# --------------------------------------------------------------------------- periods per year


def test_daily_bars_stamped_at_the_xnys_close_give_252_with_a_calendar() -> None:
    index = pd.date_range("2020-01-02 21:00", periods=30, freq="B", tz="UTC")
    assert periods_per_year(index, "XNYS") == 252.0


def test_daily_bars_without_a_calendar_give_365() -> None:
    index = pd.date_range("2020-01-02", periods=30, freq="D", tz="UTC")
    assert periods_per_year(index) == 365.0


def test_real_xnys_session_closes_across_dst_holidays_and_early_closes_give_252() -> None:
    calendar = exchange_calendars.get_calendar("XNYS", start="2018-01-01", end="2019-12-31")
    closes = pd.DatetimeIndex(calendar.schedule["close"]).tz_convert("UTC")
    steps = closes[1:] - closes[:-1]
    assert steps.min() < pd.Timedelta(hours=24) < steps.max()  # DST and early closes seen
    assert periods_per_year(closes, "XNYS") == 252.0


def test_hourly_bars_around_the_clock_give_8760() -> None:
    index = pd.date_range("2024-03-01", periods=500, freq="h", tz="UTC")
    assert periods_per_year(index) == pytest.approx(8760.0)


def test_one_minute_bars_with_a_calendar_count_only_session_minutes() -> None:
    # Two XNYS sessions of 1-minute bars: the overnight gap is one step among
    # hundreds and does not move the median.
    day1 = pd.date_range("2024-03-04 14:31", "2024-03-04 21:00", freq="min", tz="UTC")
    day2 = pd.date_range("2024-03-05 14:31", "2024-03-05 21:00", freq="min", tz="UTC")
    assert periods_per_year(day1.union(day2), "XNYS") == pytest.approx(252 * 390)
    assert periods_per_year(day1, "XNYS") == pytest.approx(98280.0)


def test_five_minute_bars_around_the_clock() -> None:
    index = pd.date_range("2024-01-01", periods=100, freq="5min", tz="UTC")
    assert periods_per_year(index) == pytest.approx(365 * 1440 / 5)


def test_weekly_monthly_and_quarterly_bars() -> None:
    weekly = pd.date_range("2020-01-03 21:00", periods=40, freq="W-FRI", tz="UTC")
    monthly = pd.date_range("2020-01-31 21:00", periods=24, freq="ME", tz="UTC")
    quarterly = pd.date_range("2020-03-31", periods=12, freq="QE", tz="UTC")
    assert periods_per_year(weekly, "XNYS") == 52.0
    assert periods_per_year(weekly) == 52.0
    assert periods_per_year(monthly, "XNYS") == 12.0
    assert periods_per_year(quarterly) == 4.0


def test_compute_metrics_infers_periods_per_year_from_the_equity_index() -> None:
    index = pd.date_range("2020-01-02 21:00", periods=30, freq="B", tz="UTC")
    equity = pd.Series(np.linspace(100.0, 110.0, 30), index=index)
    assert compute_metrics(equity, calendar="XNYS").periods_per_year == 252.0
    assert compute_metrics(equity).periods_per_year == 365.0


# --------------------------------------------------------------------------- JSON


def test_to_json_dict_has_exactly_the_metric_fields_and_maps_nan_and_inf_to_none() -> None:
    m = compute_metrics(
        equity_series([100.0, 101.0, 102.0, 103.0]),
        trade_pnl=[5.0, 3.0],  # no losing trade: profit factor inf
        periods_per_year=252,
    )
    assert m.profit_factor == math.inf
    assert math.isnan(m.alpha)
    data = m.to_json_dict()
    assert tuple(data) == FIELDS
    assert data["profit_factor"] is None
    assert data["sortino"] is None  # never lost: inf
    assert data["alpha"] is None
    assert data["calmar"] is None  # no drawdown: nan
    assert data["trades"] == 2
    assert isinstance(data["trades"], int)
    assert data["max_drawdown_duration"] == 0
    assert data["total_return"] == pytest.approx(0.03)
    json.dumps(data, allow_nan=False)  # raises on any NaN or inf left over


def test_performance_metrics_fields_are_the_eighteen_listed() -> None:
    from dataclasses import fields

    assert tuple(f.name for f in fields(PerformanceMetrics)) == FIELDS


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([100.0], "at least 2 points"),
        ([], "at least 2 points"),
        ([100.0, np.nan, 101.0], "NaN or infinite"),
        ([100.0, np.inf, 101.0], "NaN or infinite"),
        ([100.0, 0.0, 101.0], "positive"),
        ([100.0, -5.0, 101.0], "positive"),
    ],
)
def test_compute_metrics_rejects_an_unusable_equity_curve(
    values: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        compute_metrics(equity_series(values), periods_per_year=252)


def test_compute_metrics_rejects_unsorted_timestamps() -> None:
    equity = equity_series([100.0, 101.0, 102.0]).iloc[[0, 2, 1]]
    with pytest.raises(ValueError, match="strictly increasing"):
        compute_metrics(equity, periods_per_year=252)


def test_compute_metrics_without_timestamps_needs_periods_per_year() -> None:
    equity = pd.Series([100.0, 101.0, 102.0])
    with pytest.raises(ValueError, match="pass periods_per_year"):
        compute_metrics(equity)
    assert compute_metrics(equity, periods_per_year=12).periods_per_year == 12.0


def test_compute_metrics_rejects_a_benchmark_missing_equity_timestamps() -> None:
    equity = equity_series([100.0, 101.0, 102.0])
    # Midnight-stamped benchmark against close-stamped equity would otherwise
    # compare returns of different intervals.
    bench = pd.Series(
        [1.0, 2.0, 3.0], index=pd.date_range("2024-01-01 21:00", periods=3, freq="D", tz="UTC")
    )
    with pytest.raises(ValueError, match="benchmark lacks 3 of the equity's 3 timestamps"):
        compute_metrics(equity, benchmark=bench, periods_per_year=252)
    with pytest.raises(ValueError, match="benchmark prices must be positive"):
        compute_metrics(
            equity, benchmark=pd.Series([1.0, 0.0, 1.0], index=equity.index), periods_per_year=252
        )


def test_optional_series_with_foreign_timestamps_are_rejected() -> None:
    equity = equity_series([100.0, 101.0, 102.0])
    foreign = pd.Series([1.0], index=[equity.index[-1] + pd.Timedelta(days=1)])
    with pytest.raises(ValueError, match="position_value has 1 timestamp"):
        compute_metrics(equity, position_value=foreign, periods_per_year=252)
    with pytest.raises(ValueError, match="traded_notional has 1 timestamp"):
        compute_metrics(equity, traded_notional=foreign, periods_per_year=252)


def test_periods_per_year_rejects_fewer_than_two_timestamps_and_disorder() -> None:
    one = pd.DatetimeIndex(["2024-01-01"], tz="UTC")
    with pytest.raises(ValueError, match="at least 2 timestamps"):
        periods_per_year(one)
    with pytest.raises(ValueError, match="at least 2 timestamps"):
        periods_per_year(pd.DatetimeIndex([], tz="UTC"))
    backwards = pd.DatetimeIndex(["2024-01-02", "2024-01-01"], tz="UTC")
    with pytest.raises(ValueError, match="strictly increasing"):
        periods_per_year(backwards)


def test_return_metrics_reject_nan_returns_instead_of_skipping_them() -> None:
    with pytest.raises(ValueError, match=r"returns must be finite: 1 value\(s\)"):
        metrics.sharpe([0.01, np.nan, 0.02], 252.0)
    with pytest.raises(ValueError, match="trade_pnl must be finite"):
        metrics.win_rate([1.0, np.inf])


def test_non_positive_periods_per_year_is_rejected() -> None:
    with pytest.raises(ValueError, match="periods per year must be a positive"):
        metrics.cagr([0.01, 0.02], 0.0)
    with pytest.raises(ValueError, match="periods per year must be a positive"):
        compute_metrics(equity_series([100.0, 101.0]), periods_per_year=-1.0)


def test_alpha_beta_of_arrays_of_different_lengths_is_rejected() -> None:
    with pytest.raises(ValueError, match="same length, got 3 and 2"):
        metrics.alpha_beta([0.01, 0.02, 0.03], [0.01, 0.02], 252.0)


def test_alpha_beta_is_nan_against_a_benchmark_that_does_not_move() -> None:
    alpha, beta = metrics.alpha_beta([0.01, -0.02, 0.03], [0.001, 0.001, 0.001], 252.0)
    assert math.isnan(alpha)
    assert math.isnan(beta)
