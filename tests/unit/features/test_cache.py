"""Tests for the feature cache: hits skip the build, and anything that changes features misses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from alphagate.features import (
    PROFILES,
    FeatureCache,
    FeatureProfile,
    build_features,
    code_version,
    config_hash,
    data_hash,
    default_registry,
)
from alphagate.testing import synthetic_bars


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return synthetic_bars(["AAA", "BBB"], "2019-01-01", "2019-12-31")


class CountingBuild:
    """A build function that counts its calls, to tell hits from misses."""

    def __init__(self, profile: str | FeatureProfile) -> None:
        self.profile = profile
        self.calls = 0

    def __call__(self, bars: pd.DataFrame) -> pd.DataFrame:
        self.calls += 1
        return build_features(bars, self.profile)


def test_a_second_call_returns_the_identical_frame_without_building(
    bars: pd.DataFrame, tmp_path: Path
) -> None:
    cache = FeatureCache(tmp_path)
    build = CountingBuild("medium")
    first = cache.get_or_build(bars, "medium", build)
    second = cache.get_or_build(bars, "medium", build)
    assert build.calls == 1
    pd.testing.assert_frame_equal(second, first, check_exact=True)
    pd.testing.assert_index_equal(second.index, bars.index, exact=True)
    # A new cache object on the same directory hits as well: the entry is on disk.
    third = FeatureCache(tmp_path).get_or_build(bars, "medium", build)
    assert build.calls == 1
    pd.testing.assert_frame_equal(third, first, check_exact=True)


def test_entries_are_parquet_files_named_by_key_with_no_temporary_left(
    bars: pd.DataFrame, tmp_path: Path
) -> None:
    cache = FeatureCache(tmp_path / "features")
    cache.get_or_build(bars, "short")
    key = cache.key(bars, "short")
    assert [p.name for p in (tmp_path / "features").iterdir()] == [f"{key}.parquet"]
    stored = pd.read_parquet(cache.path(key))
    assert list(stored.columns) == list(build_features(bars, "short").columns)


def test_changing_one_price_misses_and_rebuilds(bars: pd.DataFrame, tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    build = CountingBuild("short")
    before = cache.get_or_build(bars, "short", build)
    changed = bars.copy()
    changed.iloc[100, changed.columns.get_loc("close")] *= 1.001
    after = cache.get_or_build(changed, "short", build)
    assert build.calls == 2
    assert not after.equals(before)
    assert len(list(tmp_path.glob("*.parquet"))) == 2


def test_changing_the_profile_misses(bars: pd.DataFrame, tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    short, long = CountingBuild("short"), CountingBuild("long")
    cache.get_or_build(bars, "short", short)
    cache.get_or_build(bars, "long", long)
    without_ranks = FeatureProfile("short", PROFILES["short"].features, cross_sectional=False)
    narrower = CountingBuild(without_ranks)
    result = cache.get_or_build(bars, without_ranks, narrower)
    assert (short.calls, long.calls, narrower.calls) == (1, 1, 1)
    assert not any(c.startswith("xs_rank_") for c in result.columns)


def test_changing_the_calendar_misses(bars: pd.DataFrame, tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    assert cache.key(bars, "short", calendar="XNYS") != cache.key(bars, "short", calendar=None)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.iloc[:-1],
        lambda b: b.rename(index={"BBB": "CCC"}, level="symbol"),
        lambda b: b.assign(volume=b["volume"] + 1),
    ],
    ids=["one bar fewer", "renamed symbol", "volume"],
)
def test_the_data_hash_sees_rows_symbols_and_every_column(
    bars: pd.DataFrame, mutate: Callable[[pd.DataFrame], pd.DataFrame]
) -> None:
    assert data_hash(mutate(bars)) != data_hash(bars)
    assert data_hash(bars.copy()) == data_hash(bars)


def test_editing_a_user_features_code_changes_the_config_hash() -> None:
    def version_one(one: pd.DataFrame) -> pd.DataFrame:
        return one[["close"]].rename(columns={"close": "mine"})

    def version_two(one: pd.DataFrame) -> pd.DataFrame:
        return (one[["close"]] * 2).rename(columns={"close": "mine"})

    first, second = default_registry(), default_registry()
    first.feature("mine", warmup=0)(version_one)
    second.feature("mine", warmup=0)(version_two)
    profile = PROFILES["short"].with_features("mine")
    assert config_hash(profile, first) != config_hash(profile, second)
    assert config_hash(profile, first) == config_hash(profile, first.copy())


def test_the_code_version_names_the_package_version_and_a_source_hash() -> None:
    import alphagate

    version, _, digest = code_version().rpartition("+")
    assert version == alphagate.__version__
    assert len(digest) == 64 and int(digest, 16) >= 0


def test_a_damaged_entry_is_rebuilt_not_trusted(bars: pd.DataFrame, tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    build = CountingBuild("short")
    first = cache.get_or_build(bars, "short", build)
    cache.path(cache.key(bars, "short")).write_bytes(b"not parquet")
    again = cache.get_or_build(bars, "short", build)
    assert build.calls == 2
    pd.testing.assert_frame_equal(again, first, check_exact=True)
    assert cache.get_or_build(bars, "short", build).equals(first)
    assert build.calls == 2
