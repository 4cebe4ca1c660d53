"""Tests for the rolling z-score: hand-computed values and the point-in-time property."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alphagate.decision.standardise import rolling_zscore
from alphagate.features import PointInTimeError, assert_point_in_time
from alphagate.testing import random_walk_bars


def test_the_zscore_uses_the_trailing_window_including_the_current_value() -> None:
    z = rolling_zscore(pd.Series([1.0, 2.0, 3.0, 4.0, 10.0]), window=3)
    # t=2: [1, 2, 3], mu = 2, var = (1 + 0 + 1)/2 = 1 -> z = (3 - 2)/1 = 1
    # t=3: [2, 3, 4] -> z = 1 likewise
    # t=4: [3, 4, 10], mu = 17/3, devs (-8/3, -5/3, 13/3), var = (64 + 25 + 169)/9/2 = 43/3
    #      z = (13/3) / sqrt(43/3) = 13 / sqrt(129) = 1.144586...
    expected = [math.nan, math.nan, 1.0, 1.0, 13 / math.sqrt(129)]
    np.testing.assert_allclose(z.to_numpy(), expected, rtol=1e-12)


def test_extreme_values_are_clipped_at_plus_or_minus_z_max() -> None:
    up = rolling_zscore(pd.Series([0.0, 0.0, 0.0, 0.0, 10.0]), window=5, z_max=1.5)
    down = rolling_zscore(pd.Series([0.0, 0.0, 0.0, 0.0, -10.0]), window=5, z_max=1.5)
    # mu = 2, var = (4*4 + 8*8)/4 = 20, z = 8/sqrt(20) = 1.789 > 1.5 -> clipped to 1.5
    assert up.iloc[-1] == 1.5
    assert down.iloc[-1] == -1.5
    unclipped = rolling_zscore(pd.Series([0.0, 0.0, 0.0, 0.0, 10.0]), window=5)
    assert unclipped.iloc[-1] == pytest.approx(8 / math.sqrt(20), rel=1e-12)


def test_a_flat_window_gives_zero_not_nan() -> None:
    z = rolling_zscore(pd.Series([5.0, 5.0, 5.0, 5.0]), window=3)
    # sigma = 0 -> z defined as 0
    assert z.iloc[2:].tolist() == [0.0, 0.0]


def test_min_periods_lets_the_zscore_start_before_the_window_is_full() -> None:
    z = rolling_zscore(pd.Series([1.0, 3.0, 2.0]), window=3, min_periods=2)
    # t=1: [1, 3], mu = 2, sigma = sqrt(((-1)^2 + 1^2)/1) = sqrt(2) -> z = 1/sqrt(2)
    # t=2: [1, 3, 2], mu = 2 -> z = 0
    np.testing.assert_allclose(z.to_numpy(), [math.nan, 1 / math.sqrt(2), 0.0], atol=1e-12)


def test_each_symbol_is_standardised_on_its_own_history() -> None:
    index = pd.MultiIndex.from_product(
        [["A", "B"], pd.date_range("2024-01-01", periods=3, tz="UTC")], names=["symbol", "ts"]
    )
    z = rolling_zscore(pd.Series([1.0, 2.0, 3.0, 10.0, 20.0, 60.0], index=index), window=3)
    # A: [1, 2, 3] -> 1. B: [10, 20, 60], mu = 30, var = (400 + 100 + 900)/2 = 700
    #    z = 30/sqrt(700) = 3/sqrt(7); B's first rows are NaN, not fed by A's tail.
    expected = [math.nan, math.nan, 1.0, math.nan, math.nan, 3 / math.sqrt(7)]
    np.testing.assert_allclose(z.to_numpy(), expected, rtol=1e-12)
    assert z.index.equals(index)


def test_a_missing_signal_value_stays_missing() -> None:
    z = rolling_zscore(pd.Series([1.0, 2.0, math.nan, 3.0]), window=3, min_periods=2)
    # t=2 is NaN itself; t=3 sees [2, NaN, 3] -> two values, mu = 2.5, sigma = sqrt(0.5)
    assert math.isnan(z.iloc[2])
    assert z.iloc[3] == pytest.approx(0.5 / math.sqrt(0.5), rel=1e-12)


@pytest.mark.parametrize(
    ("window", "z_max", "min_periods"), [(1, 3.0, None), (5, 0.0, None), (5, 3.0, 1), (5, 3.0, 6)]
)
def test_impossible_settings_are_refused(
    window: int, z_max: float, min_periods: int | None
) -> None:
    with pytest.raises(ValueError):
        rolling_zscore(pd.Series([1.0, 2.0, 3.0]), window, z_max, min_periods)


def close_returns(bars: pd.DataFrame) -> pd.Series:
    return bars["close"].groupby(level="symbol").pct_change()


def test_the_zscore_of_returns_is_point_in_time() -> None:
    bars = random_walk_bars(["AAA", "BBB"], 250)

    def build(b: pd.DataFrame) -> pd.DataFrame:
        return rolling_zscore(close_returns(b), window=20).to_frame("z")

    assert_point_in_time(build, bars, cuts=6)


def test_the_truncation_check_would_catch_a_whole_series_zscore() -> None:
    """The control: standardising with the full-sample mean and std does read the future."""
    bars = random_walk_bars(["AAA", "BBB"], 250)

    def leaky(b: pd.DataFrame) -> pd.DataFrame:
        r = close_returns(b)
        return ((r - r.mean()) / r.std()).to_frame("z")

    with pytest.raises(PointInTimeError):
        assert_point_in_time(leaky, bars, cuts=3)
