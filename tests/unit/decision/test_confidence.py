"""Tests for the confidence factors: rolling IC on known outcomes only, freshness, capacity."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from alphagate.decision.confidence import (
    RankWindow,
    capacity,
    confidence,
    freshness,
    rolling_ic,
    spearman,
    stability,
    tolerant_ranks,
)
from alphagate.features import PointInTimeError, assert_point_in_time
from alphagate.labels.fixed_horizon import fixed_horizon_labels
from alphagate.testing import random_walk_bars

DAYS = pd.date_range("2024-01-01", periods=6, freq="D", tz="UTC")


def series(values: list[float]) -> pd.Series:
    return pd.Series(values, index=DAYS, dtype="float64")


def test_the_ic_at_t_uses_only_outcomes_known_by_t() -> None:
    predictions = series([1, 2, 3, 4, 5, 6])
    realised = series([1, 3, 2, 4, 0, 9])
    # one-bar outcomes: the outcome of day i is known on day i+1; the last is not known yet
    t1 = pd.Series([*DAYS[1:], pd.NaT], index=DAYS)
    ic = rolling_ic(predictions, realised, t1, window=3)
    # day 3: known rows 0..2. pred ranks (1,2,3), realised (1,3,2) -> ranks (1,3,2)
    #        d = (0,-1,1), sum d^2 = 2, rho = 1 - 6*2/(3*8) = 0.5
    # day 4: rows 1..3: realised (3,2,4) -> ranks (2,1,3), d = (-1,1,0) -> 0.5
    # day 5: rows 2..4: realised (2,4,0) -> ranks (2,3,1), d = (-1,-1,2), sum 6 -> 1 - 36/24 = -0.5
    np.testing.assert_allclose(ic.to_numpy(), [math.nan] * 3 + [0.5, 0.5, -0.5], atol=1e-12)


def test_an_outcome_enters_when_its_t1_passes_not_in_prediction_order() -> None:
    predictions = series([1, 2, 3, 4, 5, 6])
    realised = series([5, 1, 2, 3, 4, 0])
    # row 0 settles late (day 4), rows 1..4 on the next day, row 5 unknown
    t1 = pd.Series([DAYS[4], DAYS[2], DAYS[3], DAYS[4], DAYS[5], pd.NaT], index=DAYS)
    ic = rolling_ic(predictions, realised, t1, window=4, min_periods=3)
    # day 3: only rows 1, 2 are known -> 2 < 3 pairs -> NaN
    # day 4: rows 0..3: pred ranks (1,2,3,4), realised (5,1,2,3) -> ranks (4,1,2,3)
    #        d = (-3,1,1,1), sum 12 -> rho = 1 - 6*12/(4*15) = -0.2
    # day 5: rows 0..4 known, latest 4 by t0 = rows 1..4: realised (1,2,3,4) -> rho = 1
    np.testing.assert_allclose(ic.to_numpy(), [math.nan] * 4 + [-0.2, 1.0], atol=1e-12)


def test_ties_get_average_ranks_and_a_constant_side_gives_zero() -> None:
    days = DAYS[:4]
    t1 = pd.Series([*days[1:], pd.NaT], index=days)
    tied = rolling_ic(
        pd.Series([1.0, 1.0, 2.0, 0.0], index=days),
        pd.Series([1.0, 2.0, 3.0, 0.0], index=days),
        t1,
        window=3,
    )
    # ranks (1.5,1.5,3) and (1,2,3): dx = (-.5,-.5,1), dy = (-1,0,1)
    # rho = 1.5 / sqrt(1.5 * 2) = sqrt(3)/2
    assert tied.iloc[3] == pytest.approx(math.sqrt(3) / 2, rel=1e-12)
    flat = rolling_ic(
        pd.Series([2.0, 2.0, 2.0, 0.0], index=days),
        pd.Series([1.0, 2.0, 3.0, 0.0], index=days),
        t1,
        window=3,
    )
    assert flat.iloc[3] == 0.0


def forecast_and_labels(bars: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    past = np.log(bars["close"]).groupby(level="symbol").diff(5)
    return past, fixed_horizon_labels(bars, (3,))


def test_the_rolling_ic_is_point_in_time() -> None:
    """Labels built on all bars hold returns after the cut; only those with t1 <= t may count."""

    def build(b: pd.DataFrame) -> pd.DataFrame:
        past, labels = forecast_and_labels(b)
        return rolling_ic(past, labels["ret_3"], labels["t1_3"], window=20).to_frame("ic")

    assert_point_in_time(build, random_walk_bars(["AAA", "BBB"], 250), cuts=6)


def test_the_truncation_check_would_catch_an_ic_that_ignores_t1() -> None:
    """The control: pretending each outcome is known at its own t0 reads the future."""

    def leaky(b: pd.DataFrame) -> pd.DataFrame:
        past, labels = forecast_and_labels(b)
        t0 = pd.Series(b.index.get_level_values("ts"), index=b.index)
        return rolling_ic(past, labels["ret_3"], t0, window=20).to_frame("ic")

    with pytest.raises(PointInTimeError):
        assert_point_in_time(leaky, random_walk_bars(["AAA", "BBB"], 250), cuts=3)


def test_freshness_decays_exponentially_with_age() -> None:
    assert freshness(0.0, 5.0) == 1.0
    assert freshness(5.0, 5.0) == pytest.approx(math.exp(-1))  # 0.3679
    np.testing.assert_allclose(freshness(np.array([0.0, 10.0]), 5.0), [1.0, math.exp(-2)])
    with pytest.raises(ValueError):
        freshness(-1.0, 5.0)
    with pytest.raises(ValueError):
        freshness(1.0, 0.0)


def test_capacity_is_the_share_of_the_order_the_participation_limit_allows() -> None:
    # ADV 1000 * participation 0.1 = 100 tradable
    assert capacity(1000.0, 0.1, 50.0) == 1.0
    assert capacity(1000.0, 0.1, 400.0) == pytest.approx(0.25)  # 100/400
    assert capacity(1000.0, 0.1, -400.0) == pytest.approx(0.25)  # a sell needs the same room
    assert capacity(1000.0, 0.1, 0.0) == 1.0


def test_stability_is_one_over_one_plus_the_ic_spread() -> None:
    stab = stability(pd.Series([0.1, 0.3, 0.2, 0.2, 0.2, 0.2]), window=3)
    # [0.1, 0.3, 0.2]: mean 0.2, var = (0.01 + 0.01 + 0)/2 = 0.01, std 0.1 -> 1/1.1
    # [0.2, 0.2, 0.2]: std 0 -> 1
    assert stab.iloc[2] == pytest.approx(1 / 1.1, rel=1e-12)
    assert stab.iloc[5] == pytest.approx(1.0, abs=1e-12)
    assert math.isnan(stab.iloc[1])


def test_confidence_is_the_product_clipped_to_the_unit_interval() -> None:
    assert confidence(0.2, 0.5, 0.8, 0.9) == pytest.approx(0.072)  # 0.2*0.5*0.8*0.9
    assert confidence(-0.3, 1.0, 1.0, 1.0) == 0.0  # a backwards ranking is not trusted
    assert confidence(1.0, 1.0, 1.0, 1.5) == 1.0
    np.testing.assert_allclose(confidence(np.array([0.1, 0.4]), 0.5, 1.0, 1.0), [0.05, 0.2])
    assert math.isnan(confidence(math.nan, 1.0, 1.0, 1.0))


def test_tolerant_ranks_are_scipys_average_ranks_when_no_two_values_are_near() -> None:
    from scipy.stats import rankdata

    rng = np.random.default_rng(4)
    values = np.round(rng.normal(size=500), 3)  # exact ties, and gaps far above 1e-12
    np.testing.assert_array_equal(tolerant_ranks(values), rankdata(values))


def test_a_last_bit_difference_in_tied_predictions_does_not_change_the_ic() -> None:
    rng = np.random.default_rng(5)
    plateau = np.repeat([0.41, 0.52, 0.58], 20)  # an isotonic calibrator's plateaus
    outcomes = rng.normal(size=plateau.size)
    nudged = plateau + rng.choice([-4e-15, 0.0, 4e-15], size=plateau.size)
    assert spearman(nudged, outcomes) == spearman(plateau, outcomes)


# --- the compiled rank IC against independent oracles ---------------------------------------


def numpy_spearman(x: np.ndarray, y: np.ndarray) -> float:
    """The IC as it was computed before the compiled kernel: NumPy calls, stable argsort.

    Kept here as the reference the kernel must equal bit for bit, so a
    recorded backtest replays to the same orders.
    """

    rx, ry = numpy_tolerant_ranks(x), numpy_tolerant_ranks(y)
    dx, dy = rx - rx.mean(), ry - ry.mean()
    denominator = float(np.sqrt((dx * dx).sum() * (dy * dy).sum()))
    return 0.0 if denominator == 0.0 else float((dx * dy).sum() / denominator)


def tied_windows(size: int) -> st.SearchStrategy[tuple[list[float], list[float]]]:
    """Pairs of windows drawn from few values, so that exact ties are common on both sides."""
    side = st.lists(
        st.sampled_from([-2.5, -1.0, 0.0, 0.25, 0.5, 1.0, 3.0, 7.5]), min_size=size, max_size=size
    )
    return st.tuples(side, side)


@settings(max_examples=200, deadline=None)
@given(st.integers(3, 80).flatmap(tied_windows))
def test_the_rank_ic_is_scipys_spearman_on_windows_with_ties(pair: tuple[list, list]) -> None:
    from scipy.stats import spearmanr

    x, y = np.array(pair[0]), np.array(pair[1])
    assume(np.ptp(x) > 0 and np.ptp(y) > 0)  # scipy has no value for a constant side; ours is 0
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)


def test_the_rank_ic_is_zero_when_a_side_is_constant() -> None:
    assert spearman(np.ones(5), np.arange(5.0)) == 0.0
    assert spearman(np.arange(5.0), np.full(5, 0.3)) == 0.0


def test_the_compiled_rank_ic_equals_the_numpy_formula_bit_for_bit() -> None:
    rng = np.random.default_rng(18)
    for _ in range(3000):
        n = int(rng.integers(1, 150))
        x = np.round(rng.normal(size=n), int(rng.integers(0, 4)))
        x = x + rng.choice([-4e-15, 0.0, 4e-15], size=n)  # near-ties within the tolerance
        y = rng.normal(size=n) if rng.random() < 0.5 else np.round(rng.normal(size=n), 1)
        assert spearman(x, y) == numpy_spearman(x, y)
        assert np.array_equal(tolerant_ranks(x), numpy_tolerant_ranks(x))


def numpy_tolerant_ranks(values: np.ndarray) -> np.ndarray:
    """Tolerant average ranks as NumPy calls computed them before the kernel."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(
        np.concatenate(([True], np.diff(ordered) > 1e-12 * np.maximum(1.0, np.abs(ordered[1:]))))
    )
    sizes = np.diff(np.append(starts, len(values)))
    out = np.empty(len(values))
    out[order] = np.repeat(starts + (sizes + 1) / 2.0, sizes)
    return out


def test_the_rank_ic_does_not_depend_on_the_order_of_the_pairs() -> None:
    rng = np.random.default_rng(3)
    x, y = np.round(rng.normal(size=60), 1), rng.normal(size=60)
    shuffled = rng.permutation(60)
    assert spearman(x[shuffled], y[shuffled]) == spearman(x, y)


def test_a_rank_window_holds_the_latest_pairs_and_scores_them_exactly() -> None:
    rng = np.random.default_rng(9)
    x, y = np.round(rng.normal(size=200), 1), rng.normal(size=200)
    window = RankWindow(25)
    assert math.isnan(window.ic())
    for i in range(200):
        window.add(float(x[i]), float(y[i]))
        latest = slice(max(0, i - 24), i + 1)
        assert len(window) == min(i + 1, 25)
        assert window.ic() == numpy_spearman(x[latest], y[latest])


def test_spearman_refuses_windows_of_two_lengths() -> None:
    with pytest.raises(ValueError, match="one length"):
        spearman(np.arange(3.0), np.arange(4.0))


SPECIALS = [0.0, -0.0, math.nan, math.inf, -math.inf, 0.5, 1.5, -0.5, 1.0, 5e-324, -5e-324, 2.0]


def same_float(a: float, b: float) -> bool:
    """Equal to the bit: NaN to NaN, and -0.0 apart from 0.0."""
    return (math.isnan(a) and math.isnan(b)) or (
        a == b and math.copysign(1, a) == math.copysign(1, b)
    )


@pytest.mark.filterwarnings("ignore:invalid value")
def test_confidence_of_floats_is_the_array_formula_to_the_bit() -> None:
    for factors in itertools.product(SPECIALS, repeat=4):
        scalar = confidence(*factors)
        array = confidence(*(np.array([f]) for f in factors))
        assert same_float(scalar, float(array[0])), factors


def test_freshness_of_a_float_is_the_array_formula_to_the_bit() -> None:
    ages = np.random.default_rng(2).uniform(0, 50, 2000)
    expected = freshness(ages, 3.5)
    assert all(freshness(float(a), 3.5) == e for a, e in zip(ages, expected, strict=True))
    with pytest.raises(ValueError, match="negative"):
        freshness(-1.0, 3.5)
