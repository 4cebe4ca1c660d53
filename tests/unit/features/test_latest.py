"""``latest_features``: the row of the bar that just closed, as ``build_features`` computes it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphagate.features import (
    BarArrays,
    FeatureRegistry,
    build_features,
    default_registry,
    latest_features,
)
from alphagate.features.profiles import PROFILES
from alphagate.testing import synthetic_bars


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return synthetic_bars(["AAA", "BBB", "CCC"], "2018-01-01", "2019-03-01", seed=4)


def upto(bars: pd.DataFrame, cut: pd.Timestamp) -> dict[str, BarArrays]:
    kept = bars.loc[bars.index.get_level_values("ts") <= cut]
    return {
        str(s): BarArrays.from_frame(kept.xs(s, level="symbol"))
        for s in kept.index.unique("symbol")
    }


@pytest.mark.parametrize("profile", ["short", "medium"])
def test_the_latest_row_is_build_features_row_at_that_bar_for_every_symbol(
    profile: str, bars: pd.DataFrame
) -> None:
    full = build_features(bars, profile)
    stamps = bars.index.unique("ts")
    for cut in (stamps[80], stamps[-1]):
        latest = latest_features(upto(bars, cut), profile)
        expected = full.xs(cut, level="ts").loc[list(latest.index)]
        assert list(latest.columns) == list(expected.columns)
        assert latest.notna().all().all()  # past every warm-up: a real comparison
        np.testing.assert_array_equal(latest.to_numpy(), expected.to_numpy())


def test_a_feature_without_an_array_kernel_is_computed_on_the_symbols_frame(
    bars: pd.DataFrame,
) -> None:
    registry: FeatureRegistry = default_registry()

    @registry.feature(warmup=3)
    def close_change_3(bars: pd.DataFrame) -> pd.DataFrame:
        return bars[["close"]].pct_change(3).rename(columns={"close": "close_change_3"})

    profile = PROFILES["short"].with_features("close_change_3")
    cut = bars.index.unique("ts")[50]
    latest = latest_features(upto(bars, cut), profile, registry)
    expected = build_features(bars, profile, registry).xs(cut, level="ts")
    np.testing.assert_array_equal(latest["close_change_3"], expected["close_change_3"])


def test_symbols_whose_last_bars_close_at_different_instants_are_refused(
    bars: pd.DataFrame,
) -> None:
    stamps = bars.index.unique("ts")
    given = upto(bars, stamps[60])
    given["BBB"] = upto(bars, stamps[59])["BBB"]
    with pytest.raises(ValueError, match="one instant"):
        latest_features(given, "short")
