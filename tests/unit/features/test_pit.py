"""Tests for the look-ahead checker and for the point-in-time property of every profile.

The checker is only worth something if it catches real leaks, so half of
these tests plant one (a next-bar return, a centred window, a whole-series
normalisation) and expect to be told which column leaked.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from alphagate.errors import AlphagateError
from alphagate.features import (
    PROFILES,
    PointInTimeError,
    assert_point_in_time,
    build_features,
    cross_sectional_ranks,
    default_registry,
)
from alphagate.testing import synthetic_bars


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    """Three symbols of about 400 XNYS daily bars; CCC starts 60 sessions late."""
    frame = synthetic_bars(["AAA", "BBB", "CCC"], "2018-01-01", "2019-08-05", seed=5)
    ts = frame.index.get_level_values("ts")
    late = (frame.index.get_level_values("symbol") == "CCC") & (ts < ts.unique()[60])
    return frame.loc[~late]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_builtin_profile_is_point_in_time(profile: str, bars: pd.DataFrame) -> None:
    assert_point_in_time(lambda b: build_features(b, profile), bars, cuts=6)


def test_profiles_without_a_calendar_are_point_in_time_too(bars: pd.DataFrame) -> None:
    assert_point_in_time(lambda b: build_features(b, "short", calendar=None), bars, cuts=4)


def test_cross_sectional_ranks_are_point_in_time(bars: pd.DataFrame) -> None:
    assert_point_in_time(cross_sectional_ranks, bars, cuts=8)


def test_cuts_at_given_instants_are_checked(bars: pd.DataFrame) -> None:
    stamps = bars.index.get_level_values("ts").unique()
    assert_point_in_time(lambda b: build_features(b, "medium"), bars, cuts=[stamps[100]])


def next_bar_return(one: pd.DataFrame) -> pd.DataFrame:
    """The classic leak: tomorrow's close divided by today's."""
    return (one["close"].shift(-1) / one["close"]).to_frame("next_return")


def centred_mean(one: pd.DataFrame) -> pd.DataFrame:
    """A smoothing that looks two bars ahead: fine for charts, a leak for models."""
    return one["close"].rolling(5, center=True).mean().to_frame("centred_mean_5")


def test_a_feature_reading_the_next_bar_is_caught_and_named(bars: pd.DataFrame) -> None:
    registry = default_registry()
    registry.feature("next_return", warmup=0)(next_bar_return)
    profile = PROFILES["short"].with_features("next_return")
    with pytest.raises(PointInTimeError, match="'next_return'") as caught:
        assert_point_in_time(lambda b: build_features(b, profile, registry), bars)
    error = caught.value
    assert isinstance(error, AlphagateError)
    assert error.column == "next_return"
    # The first leak is at the cut itself: the last bar's next close is unknown there.
    assert error.ts == error.cut
    assert np.isnan(error.cut_value) and np.isfinite(error.full_value)
    assert error.symbol == "AAA"  # earliest ts first, then symbols in order
    assert error.symbol in str(error) and error.ts.isoformat() in str(error)


def test_a_centred_rolling_mean_is_caught(bars: pd.DataFrame) -> None:
    registry = default_registry()
    registry.feature("centred_mean_5", warmup=4)(centred_mean)
    profile = PROFILES["medium"].with_features("centred_mean_5")
    with pytest.raises(PointInTimeError, match="centred_mean_5") as caught:
        assert_point_in_time(lambda b: build_features(b, profile, registry), bars, cuts=3)
    # One bar before the cut the window already reaches past it; two before, it does not.
    stamps = bars.index.get_level_values("ts").unique()
    assert stamps.get_loc(caught.value.ts) == stamps.get_loc(caught.value.cut) - 1


def test_a_normalisation_over_the_whole_series_is_caught(bars: pd.DataFrame) -> None:
    def zscored(b: pd.DataFrame) -> pd.DataFrame:
        close = b["close"].groupby(level="symbol")
        return ((b["close"] - close.transform("mean")) / close.transform("std")).to_frame("z")

    with pytest.raises(PointInTimeError, match="'z'"):
        assert_point_in_time(zscored, bars, cuts=2)


def test_a_leak_smaller_than_atol_passes_and_a_larger_one_fails(bars: pd.DataFrame) -> None:
    last = bars.index.get_level_values("ts").max()

    def nudged(size: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
        def build(b: pd.DataFrame) -> pd.DataFrame:
            complete = b.index.get_level_values("ts").max() == last
            return (b[["close"]] + (size if complete else 0.0)).rename(columns={"close": "c"})

        return build

    assert_point_in_time(nudged(1e-13), bars, cuts=2)
    with pytest.raises(PointInTimeError, match="'c'"):
        assert_point_in_time(nudged(1e-9), bars, cuts=2)


def test_a_build_that_drops_rows_near_the_cut_is_refused(bars: pd.DataFrame) -> None:
    def drops_unknown(b: pd.DataFrame) -> pd.DataFrame:
        return next_bar_return(b.droplevel("symbol")).set_axis(b.index).dropna()

    with pytest.raises(ValueError, match="other rows"):
        assert_point_in_time(drops_unknown, bars, cuts=2)


def test_a_naive_cut_is_refused(bars: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="time zone"):
        assert_point_in_time(cross_sectional_ranks, bars, cuts=[pd.Timestamp("2019-01-02")])
