"""Tests for the feature registry, profiles and the checks ``build_features`` makes on features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphagate.features import (
    PROFILES,
    FeatureProfile,
    FeatureRegistry,
    FeatureSpec,
    build_features,
    default_registry,
    profile_warmup,
    resolve_profile,
)
from alphagate.testing import synthetic_bars


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return synthetic_bars(["AAA", "BBB"], "2019-01-01", "2019-06-30")


def constant(bars: pd.DataFrame) -> pd.DataFrame:
    """A feature that is always one."""
    return pd.DataFrame({"one": 1.0}, index=bars.index)


# --------------------------------------------------------------------------- registry


def test_an_unknown_feature_name_suggests_the_closest_registered_names() -> None:
    registry = default_registry()
    with pytest.raises(KeyError, match=r"unknown feature 'rsi14'; did you mean 'rsi_14'"):
        registry["rsi14"]


def test_an_unknown_name_with_nothing_close_gets_no_suggestion() -> None:
    with pytest.raises(KeyError) as caught:
        default_registry()["zzzz"]
    assert "did you mean" not in str(caught.value)
    assert "unknown feature 'zzzz'" in str(caught.value)


def test_registering_a_taken_name_is_an_error_and_keeps_the_first_feature() -> None:
    registry = FeatureRegistry()
    first = registry.register(FeatureSpec("one", constant, warmup=0))
    with pytest.raises(ValueError, match="'one' is already registered"):
        registry.register(FeatureSpec("one", lambda b: constant(b) * 2, warmup=0))
    assert registry["one"] is first


def test_the_decorator_registers_under_the_function_name_and_returns_the_function() -> None:
    registry = FeatureRegistry()
    decorated = registry.feature(warmup=3)(constant)
    assert decorated is constant
    spec = registry["constant"]
    assert (spec.function, spec.warmup, spec.description) == (
        constant,
        3,
        "A feature that is always one.",
    )
    registry.feature("renamed", warmup=0, description="other")(constant)
    assert registry.names() == ["constant", "renamed"]
    with pytest.raises(ValueError, match="already registered"):
        registry.feature(warmup=0)(constant)


@pytest.mark.parametrize("warmup", [-1, 1.5, True])
def test_a_spec_refuses_a_warmup_that_is_not_a_non_negative_integer(warmup: object) -> None:
    with pytest.raises(ValueError, match="warmup"):
        FeatureSpec("bad", constant, warmup=warmup)  # type: ignore[arg-type]


def test_default_registry_returns_independent_registries() -> None:
    mine = default_registry()
    mine.feature("mine", warmup=0)(constant)
    assert "mine" in mine
    assert "mine" not in default_registry()
    copied = mine.copy()
    copied.feature("only_in_copy", warmup=0)(constant)
    assert "only_in_copy" not in mine


def test_every_builtin_profile_resolves_in_the_default_registry() -> None:
    registry = default_registry()
    for profile in PROFILES.values():
        assert [spec.name for spec in registry.resolve(profile.features)] == list(profile.features)
    assert profile_warmup("short") == 20  # the cross-sectional 20-bar volatility
    assert profile_warmup("long") == 199  # sma_dist_200


# --------------------------------------------------------------------------- profiles


def test_an_unknown_profile_name_suggests_the_built_in_one() -> None:
    with pytest.raises(KeyError, match="did you mean 'medium'"):
        resolve_profile("meduim")


def test_a_profile_naming_a_feature_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        FeatureProfile("p", features=("rsi_14", "rsi_14"))


def test_builtin_profiles_differ_in_horizon() -> None:
    assert "rsi_7" in PROFILES["short"].features
    assert "rsi_14" in PROFILES["medium"].features
    assert "rsi_28" in PROFILES["long"].features
    assert {"log_ret_1", "log_ret_2", "log_ret_3", "log_ret_5", "rvol_5", "rvol_10"} <= set(
        PROFILES["short"].features
    )
    assert {"log_ret_5", "log_ret_20", "log_ret_60", "rvol_120"} <= set(PROFILES["long"].features)


# --------------------------------------------------------------------------- user features


def test_a_user_feature_registered_by_decorator_is_computed_by_build_features(
    bars: pd.DataFrame,
) -> None:
    registry = default_registry()

    @registry.feature(warmup=2)
    def close_over_two_bars_ago(one: pd.DataFrame) -> pd.DataFrame:
        """Close relative to two bars earlier."""
        return (one["close"] / one["close"].shift(2)).to_frame("close_ratio_2")

    profile = PROFILES["short"].with_features("close_over_two_bars_ago", name="mine")
    features = build_features(bars, profile, registry)
    for symbol in ("AAA", "BBB"):
        close = bars.xs(symbol, level="symbol")["close"].to_numpy()
        ours = features.xs(symbol, level="symbol")["close_ratio_2"].to_numpy()
        assert np.isnan(ours[:2]).all()
        np.testing.assert_allclose(ours[2:], close[2:] / close[:-2], rtol=1e-15)
    assert "close_ratio_2" not in build_features(bars, "short").columns
    assert profile_warmup(profile, registry) == 20


def test_an_empty_registry_given_is_used_rather_than_the_default(bars: pd.DataFrame) -> None:
    with pytest.raises(KeyError, match="unknown feature 'rsi_14'"):
        build_features(bars, FeatureProfile("p", ("rsi_14",)), FeatureRegistry())


def test_a_feature_returning_another_index_is_refused_by_name(bars: pd.DataFrame) -> None:
    registry = FeatureRegistry()
    registry.feature("shrinks", warmup=0)(lambda one: constant(one).iloc[1:])
    with pytest.raises(ValueError, match="'shrinks' returned rows on another index"):
        build_features(bars, FeatureProfile("p", ("shrinks",)), registry)


def test_two_features_producing_one_column_are_refused(bars: pd.DataFrame) -> None:
    registry = FeatureRegistry()
    registry.feature("first", warmup=0)(constant)
    registry.feature("second", warmup=0)(constant)
    with pytest.raises(ValueError, match=r"'second' produced columns .* \['one'\]"):
        build_features(bars, FeatureProfile("p", ("first", "second")), registry)


def test_a_non_numeric_feature_column_is_refused(bars: pd.DataFrame) -> None:
    registry = FeatureRegistry()
    registry.feature("words", warmup=0)(lambda one: pd.DataFrame({"w": "x"}, index=one.index))
    with pytest.raises(ValueError, match="'words' returned non-numeric"):
        build_features(bars, FeatureProfile("p", ("words",), calendar_features=False), registry)


def test_a_profile_with_only_user_features_and_no_stages_gives_just_those_columns(
    bars: pd.DataFrame,
) -> None:
    registry = FeatureRegistry()
    registry.feature(warmup=0)(constant)
    profile = FeatureProfile("p", ("constant",), calendar_features=False, cross_sectional=False)
    features = build_features(bars, profile, registry)
    assert list(features.columns) == ["one"]
    assert (features["one"] == 1.0).all()
    assert features.index.equals(bars.index)
