"""Gate 1's walk-forward check: the windows, what each window trains on, and the ±20 % rule."""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import pytest

from alphagate import parallel
from alphagate.app.gate_checks import trading_days
from alphagate.config.gates import WalkForwardConfig
from alphagate.errors import AlphagateError
from alphagate.gates.walk_forward import (
    Performance,
    Recipe,
    Window,
    relative_gap,
    retrain_windows,
    serial_map,
    too_short_checks,
    walk_forward_checks,
    window_count,
    window_performance,
)
from alphagate.training.dataset import TrainingSet

SYMBOLS = ("AAA", "BBB")
TIMES = pd.date_range("2020-01-01 21:00", periods=400, freq="D", tz="UTC")
RECIPE = Recipe(family="logreg", seed=3, params=None, calibration="sigmoid")


def samples(horizon: int, *, times: pd.DatetimeIndex = TIMES, seed: int = 0) -> TrainingSet:
    """Two symbols, one sample per bar, a label known ``horizon`` bars later; a learnable signal."""
    rng = np.random.default_rng(seed)
    n = len(times) - horizon  # the last bars have no label yet
    index = pd.MultiIndex.from_product([times[:n], SYMBOLS], names=["ts", "symbol"])
    index = index.swaplevel().sortlevel(1, sort_remaining=True)[0]  # (symbol, ts), by ts
    x = rng.normal(size=(len(index), 3))
    y = (x[:, 0] + 0.5 * rng.normal(size=len(index)) > 0).astype(np.int64)
    t0 = pd.Series(index.get_level_values("ts"), index=index)
    position = times.get_indexer(pd.DatetimeIndex(t0))
    t1 = pd.Series(times[position + horizon], index=index)
    return TrainingSet(
        X=pd.DataFrame(x, index=index, columns=["f0", "f1", "f2"]),
        y=pd.Series(y, index=index),
        t0=t0,
        t1=t1,
        weights=pd.Series(1.0, index=index),
        forward_return=pd.Series(np.where(y == 1, 0.01, -0.01), index=index),
        horizon=horizon,
    )


# -- the rule -----------------------------------------------------------------------------------


def test_the_gap_is_relative_to_the_single_value_and_to_the_floor_near_zero() -> None:
    assert relative_gap(0.10, 0.12, 0.05) == pytest.approx(0.02 / 0.12)
    assert relative_gap(-0.12, -0.10, 0.05) == pytest.approx(0.02 / 0.10)
    # Near zero the floor is the yardstick: 0.01 -> 0.05 is +400 %, but 0.08 of a 0.5 floor.
    assert relative_gap(0.05, 0.01, 0.5) == pytest.approx(0.04 / 0.5)
    assert relative_gap(float("nan"), 0.1, 0.05) is None
    assert relative_gap(0.1, float("inf"), 0.05) is None


@pytest.mark.parametrize(
    ("walked", "passed"),
    [
        (Performance(0.11, 1.1), (True, True)),  # -8 %, -8 %
        (Performance(0.09, 0.95), (True, True)),  # -25 %, -21 %
        (Performance(0.16, 1.6), (False, False)),  # +33 %: far better fails too
        (Performance(-0.12, -1.2), (False, False)),  # sign flipped
        (Performance(0.12, float("nan")), (True, False)),  # undefined fails
    ],
)
def test_each_aggregate_must_stay_within_the_tolerance_of_the_single_backtest(
    walked: Performance, passed: tuple[bool, bool]
) -> None:
    single = Performance(0.12, 1.2)
    config = WalkForwardConfig(tolerance=0.26)
    checks = walk_forward_checks(walked, single, config)
    assert [c.name for c in checks] == ["walk_forward_total_return", "walk_forward_sharpe"]
    assert tuple(c.passed for c in checks) == passed
    assert all(c.threshold == 0.26 and c.comparison == "<" for c in checks)


def test_a_span_too_short_for_two_windows_fails_and_says_why() -> None:
    config = WalkForwardConfig(windows=4, min_window_bars=40)
    assert window_count(1000, config) == 4
    assert window_count(138, config) == 3
    assert window_count(79, config) == 1
    checks = too_short_checks(79, config)
    assert [c.passed for c in checks] == [False, False]
    assert "79 bar time(s)" in checks[0].detail and "min_window_bars (40)" in checks[0].detail


# -- the windows --------------------------------------------------------------------------------


def test_each_window_is_trained_only_on_rows_whose_label_ended_before_it_less_the_embargo() -> None:
    data = {1: samples(1), 5: samples(5)}
    first = TIMES[300]
    retrained = retrain_windows(
        data, {1: RECIPE, 5: RECIPE}, {1: "m_h1", 5: "m_h5"}, first=first, windows=3, embargo=0.05
    )
    # The span ends where the longest horizon's labels end (400 - 5 bars); 95 bar times from
    # TIMES[300] make 3 windows of 31, the first 2 bar times left out.
    starts = [w.start for w in retrained.windows]
    assert starts == [TIMES[302], TIMES[333], TIMES[364]]
    assert [w.end for w in retrained.windows] == [TIMES[332], TIMES[363], TIMES[394]]
    for window in retrained.windows:
        start = TIMES.get_loc(window.start)
        for fit in window.fits:
            # Clipped to the span's end, horizon h has 395 bar times; the gap is ceil(0.05 * 395).
            gap = math.ceil(0.05 * 395)
            labelled_before = start - fit.horizon  # t1 = t0 + h bars must be before the window
            expected = min(start - gap, labelled_before)
            assert fit.n_train == len(SYMBOLS) * expected, (window.index, fit.horizon)
            assert fit.n_test == len(SYMBOLS) * 31
    ts = pd.DatetimeIndex(retrained.predictions.index.get_level_values("ts"))
    assert ts.min() == TIMES[302] and ts.max() == TIMES[394]
    assert list(retrained.predictions.columns) == ["m_h1", "m_h5"]
    assert retrained.predictions.notna().all().all()
    values = retrained.predictions.to_numpy()
    assert ((values > 0) & (values < 1)).all()


def test_a_window_s_predictions_never_depend_on_later_rows() -> None:
    data = samples(1)
    retrained = retrain_windows(
        {1: data}, {1: RECIPE}, {1: "m"}, first=TIMES[300], windows=3, embargo=0.0
    )
    second_end = retrained.windows[1].end
    later = np.asarray(pd.DatetimeIndex(data.t0) > second_end)
    changed_y = data.y.copy()
    changed_y[later] = 1 - changed_y[later]
    changed_x = data.X.copy()
    changed_x.loc[later] = -changed_x.loc[later]
    altered = TrainingSet(
        changed_x, changed_y, data.t0, data.t1, data.weights, data.forward_return, 1
    )
    again = retrain_windows(
        {1: altered}, {1: RECIPE}, {1: "m"}, first=TIMES[300], windows=3, embargo=0.0
    )
    ts = retrained.predictions.index.get_level_values("ts")
    early = np.asarray(ts <= second_end)
    pd.testing.assert_frame_equal(retrained.predictions[early], again.predictions[early])
    assert not np.allclose(retrained.predictions[~early], again.predictions[~early])


def test_two_worker_processes_retrain_the_same_windows_and_predictions_as_one() -> None:
    data = {1: samples(1), 5: samples(5, seed=1)}
    recipes, columns = {1: RECIPE, 5: RECIPE}, {1: "m_h1", 5: "m_h5"}
    first = TIMES[300]
    serial = retrain_windows(
        data, recipes, columns, first=first, windows=3, embargo=0.02, task_map=serial_map
    )
    spread = retrain_windows(
        data, recipes, columns, first=first, windows=3, embargo=0.02,
        task_map=functools.partial(parallel.map, workers=2),
    )  # fmt: skip
    assert spread.windows == serial.windows  # every score, exactly
    assert spread.predictions.index.equals(serial.predictions.index)
    assert list(spread.predictions.columns) == list(serial.predictions.columns)
    assert spread.predictions.to_numpy().tobytes() == serial.predictions.to_numpy().tobytes()
    # Not trivially equal: each window's models train on more rows, so their predictions differ.
    assert len({w.fits[0].n_train for w in serial.windows}) == 3
    assert np.unique(serial.predictions["m_h1"].round(12)).size > 100


def test_horizons_that_do_not_share_bar_times_are_refused() -> None:
    holed = TIMES.delete(350)  # one bar missing for one horizon only
    data = {1: samples(1), 2: samples(2, times=holed)}
    with pytest.raises(AlphagateError, match="do not share bar times"):
        retrain_windows(
            data, {1: RECIPE, 2: RECIPE}, {1: "a", 2: "b"}, first=TIMES[300], windows=2, embargo=0
        )


def test_window_returns_compound_bar_to_bar_inside_each_window() -> None:
    index = pd.date_range("2021-01-01", periods=7, freq="D", tz="UTC")
    equity = pd.Series([100.0, 110.0, 99.0, 99.0, 108.9, 108.9, 119.79], index=index)
    windows = [
        Window(0, index[0], index[2], ()),
        Window(1, index[3], index[6], ()),
    ]
    first, second = window_performance(equity, windows, ppy=252)
    assert first.total_return == pytest.approx(99.0 / 100.0 - 1)
    assert second.total_return == pytest.approx(119.79 / 99.0 - 1)
    returns = np.array([0.0, 0.1, 0.0, 0.1])
    expected = returns.mean() / returns.std(ddof=1) * math.sqrt(252)
    assert second.sharpe == pytest.approx(expected)


# -- the paper gate's days ---------------------------------------------------------------------


def test_the_paper_record_counts_trading_sessions_not_bars() -> None:
    # Hourly bars, 14:00-20:00 UTC, on seven New York sessions across a weekend
    # (2024-06-10 to 2024-06-18; June 19 is a holiday, left out).
    days = ["2024-06-10", "2024-06-11", "2024-06-12", "2024-06-13", "2024-06-14",
            "2024-06-17", "2024-06-18"]  # fmt: skip
    stamps = [pd.Timestamp(f"{d} {h:02d}:00", tz="UTC") for d in days for h in range(14, 21)]
    ts = pd.DatetimeIndex(stamps)
    assert len(ts) == 49
    assert trading_days(ts, "XNYS") == 7
    # Without a calendar, UTC dates: a bar at 23:00 and one at 01:00 are two days.
    night = pd.DatetimeIndex(["2024-06-15 23:00", "2024-06-16 01:00"], tz="UTC")
    assert trading_days(night, None) == 2
    assert trading_days(pd.DatetimeIndex([], tz="UTC"), "XNYS") == 0
