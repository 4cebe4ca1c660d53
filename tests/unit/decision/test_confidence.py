"""Tests for the confidence factors: rolling IC on known outcomes only, freshness, capacity."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alphagate.decision.confidence import capacity, confidence, freshness, rolling_ic, stability
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

    from alphagate.decision.confidence import tolerant_ranks

    rng = np.random.default_rng(4)
    values = np.round(rng.normal(size=500), 3)  # exact ties, and gaps far above 1e-12
    np.testing.assert_array_equal(tolerant_ranks(values), rankdata(values))


def test_a_last_bit_difference_in_tied_predictions_does_not_change_the_ic() -> None:
    from alphagate.decision.confidence import spearman

    rng = np.random.default_rng(5)
    plateau = np.repeat([0.41, 0.52, 0.58], 20)  # an isotonic calibrator's plateaus
    outcomes = rng.normal(size=plateau.size)
    nudged = plateau + rng.choice([-4e-15, 0.0, 4e-15], size=plateau.size)
    assert spearman(nudged, outcomes) == spearman(plateau, outcomes)
