"""``latest_features``: the row of the bar that just closed, as ``build_features`` computes it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from alphagate.config import SyntheticConfig
from alphagate.data.sources.synthetic import SyntheticSource
from alphagate.domain.bars import bars_from_flat
from alphagate.domain.quality_report import QualityReport
from alphagate.domain.timeframe import Timeframe
from alphagate.features import (
    BarArrays,
    FeatureRegistry,
    build_features,
    default_registry,
    latest_features,
)
from alphagate.features.profiles import PROFILES


def synthetic_bars() -> pd.DataFrame:
    source = SyntheticSource(
        SyntheticConfig(
            symbols=("AAA", "BBB", "CCC"), start=date(2018, 1, 1), end=date(2019, 3, 1), seed=4
        ),
        timeframe=Timeframe.parse("1d"),
        calendar="XNYS",
    )
    return bars_from_flat(pd.concat(list(source.chunks(QualityReport("test")))))


def upto(bars: pd.DataFrame, cut: pd.Timestamp) -> dict[str, BarArrays]:
    kept = bars.loc[bars.index.get_level_values("ts") <= cut]
    return {
        str(s): BarArrays.from_frame(kept.xs(s, level="symbol"))
        for s in kept.index.unique("symbol")
    }


@pytest.mark.parametrize("profile", ["short", "medium"])
def test_the_latest_row_is_build_features_row_at_that_bar_for_every_symbol(profile: str) -> None:
    bars = synthetic_bars()
    full = build_features(bars, profile)
    stamps = bars.index.unique("ts")
    for cut in (stamps[80], stamps[-1]):
        latest = latest_features(upto(bars, cut), profile)
        expected = full.xs(cut, level="ts").loc[list(latest.index)]
        assert list(latest.columns) == list(expected.columns)
        assert latest.notna().all().all()  # past every warm-up: a real comparison
        np.testing.assert_array_equal(latest.to_numpy(), expected.to_numpy())


def test_a_feature_without_an_array_kernel_is_computed_on_the_symbols_frame() -> None:
    registry: FeatureRegistry = default_registry()

    @registry.feature(warmup=3)
    def close_change_3(bars: pd.DataFrame) -> pd.DataFrame:
        return bars[["close"]].pct_change(3).rename(columns={"close": "close_change_3"})

    profile = PROFILES["short"].with_features("close_change_3")
    bars = synthetic_bars()
    cut = bars.index.unique("ts")[50]
    latest = latest_features(upto(bars, cut), profile, registry)
    expected = build_features(bars, profile, registry).xs(cut, level="ts")
    np.testing.assert_array_equal(latest["close_change_3"], expected["close_change_3"])


def test_symbols_whose_last_bars_close_at_different_instants_are_refused() -> None:
    bars = synthetic_bars()
    stamps = bars.index.unique("ts")
    given = upto(bars, stamps[60])
    given["BBB"] = upto(bars, stamps[59])["BBB"]
    with pytest.raises(ValueError, match="one instant"):
        latest_features(given, "short")
