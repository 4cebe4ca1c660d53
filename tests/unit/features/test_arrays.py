"""Tests for the array path of ``build_features``: kernels, the symbol split and the rank.

``build_features`` runs array kernels on slices of one set of arrays and ranks
with its own NumPy code; the DataFrame contract (``FeatureSpec.function`` on
one symbol's frame, pandas' grouped rank) is the oracle, compared bit for bit.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.features import (
    PROFILES,
    FeatureProfile,
    FeatureRegistry,
    FeatureSpec,
    build_features,
    config_hash,
    cross_sectional_ranks,
    profile_specs,
)
from alphagate.features.arrays import BarArrays, percentile_rank_by_key, symbol_bounds
from alphagate.features.technical import log_return, realised_volatility
from alphagate.testing import synthetic_bars


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    """Three symbols over 2018; CCC starts late and BBB misses a stretch."""
    full = synthetic_bars(["AAA", "BBB", "CCC"], "2018-01-01", "2018-12-31")
    ts = full.index.get_level_values("ts")
    symbol = full.index.get_level_values("symbol")
    stamps = ts.unique()
    drop = ((symbol == "CCC") & (ts < stamps[60])) | (
        (symbol == "BBB") & (ts > stamps[100]) & (ts < stamps[110])
    )
    return full.loc[~drop]


def bitwise_equal(left: np.ndarray, right: np.ndarray) -> bool:
    """Same shape and the same bytes: NaN where NaN, and every other value identical."""
    return left.shape == right.shape and left.tobytes() == right.tobytes()


# --------------------------------------------------------------------------- build_features


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_build_features_equals_each_specs_frame_function_per_symbol_bit_for_bit(
    profile: str, bars: pd.DataFrame
) -> None:
    """The array path gives exactly what the public per-symbol DataFrame functions give."""
    per_symbol = FeatureProfile(
        name=profile, features=PROFILES[profile].features, cross_sectional=False
    )
    built = build_features(bars, per_symbol)
    for symbol in ("AAA", "BBB", "CCC"):
        one = bars.xs(symbol, level="symbol")
        expected = pd.concat([spec.function(one) for spec in profile_specs(per_symbol)], axis=1)
        ours = built.xs(symbol, level="symbol").loc[:, list(expected.columns)]
        assert bitwise_equal(ours.to_numpy(), expected.to_numpy()), symbol


def test_cross_sectional_ranks_equal_pandas_grouped_rank_bit_for_bit(bars: pd.DataFrame) -> None:
    specs = (log_return(3), realised_volatility(5))
    raw = pd.concat(
        [
            pd.concat(
                [spec.function(group.droplevel("symbol")) for spec in specs], axis=1
            ).set_axis(group.index, axis=0)
            for _, group in bars.groupby(level="symbol")
        ]
    )
    pandas_ranks = raw.groupby(level="ts").rank(method="average", pct=True)
    ours = cross_sectional_ranks(bars, return_lag=3, volatility_window=5)
    assert list(ours.columns) == ["xs_rank_log_ret_3", "xs_rank_rvol_5"]
    for column in raw.columns:
        ranks = ours[f"xs_rank_{column}"].to_numpy()
        assert bitwise_equal(ranks, pandas_ranks[column].to_numpy()), column
        assert np.isfinite(ranks).sum() > 600
        assert set(np.unique(ranks[np.isfinite(ranks)])) > {0.5, 1.0}


def test_a_user_kernel_is_computed_per_symbol(bars: pd.DataFrame) -> None:
    registry = FeatureRegistry()
    seen: list[int] = []

    def position(one: BarArrays) -> dict[str, np.ndarray]:
        seen.append(len(one))
        return {"bar_number": np.arange(len(one), dtype=np.float64)}

    registry.register(FeatureSpec.from_kernel("bar_number", position, warmup=0))
    profile = FeatureProfile("p", ("bar_number",), calendar_features=False, cross_sectional=False)
    features = build_features(bars, profile, registry)
    counts = bars.groupby(level="symbol").size()
    assert seen == counts.tolist()
    for symbol, count in counts.items():
        values = features.xs(symbol, level="symbol")["bar_number"].to_numpy()
        np.testing.assert_array_equal(values, np.arange(count))


def test_a_row_local_kernel_runs_once_on_every_symbols_rows(bars: pd.DataFrame) -> None:
    registry = FeatureRegistry()
    calls: list[int] = []

    def same_close(all_rows: BarArrays) -> dict[str, np.ndarray]:
        calls.append(len(all_rows))
        return {"close_again": all_rows.close}

    registry.register(FeatureSpec.from_kernel("again", same_close, warmup=0, row_local=True))
    profile = FeatureProfile("p", ("again",), calendar_features=False, cross_sectional=False)
    features = build_features(bars, profile, registry)
    assert calls == [len(bars)]
    ours = features["close_again"].to_numpy()
    np.testing.assert_array_equal(ours, bars["close"].to_numpy())
    assert not np.shares_memory(ours, bars["close"].to_numpy()), "the output must own its data"


def test_a_kernel_returning_the_wrong_length_is_refused_by_name(bars: pd.DataFrame) -> None:
    registry = FeatureRegistry()
    registry.register(
        FeatureSpec.from_kernel("short_by_one", lambda one: {"x": one.close[1:]}, warmup=0)
    )
    profile = FeatureProfile("p", ("short_by_one",), calendar_features=False)
    with pytest.raises(ValueError, match="'short_by_one' returned column 'x' of shape"):
        build_features(bars, profile, registry)


def test_a_kernel_naming_other_columns_for_another_symbol_is_refused(bars: pd.DataFrame) -> None:
    registry = FeatureRegistry()

    def unstable(one: BarArrays) -> dict[str, np.ndarray]:
        return {f"n_{len(one)}": one.close}

    registry.register(FeatureSpec.from_kernel("unstable", unstable, warmup=0))
    profile = FeatureProfile("p", ("unstable",), calendar_features=False, cross_sectional=False)
    with pytest.raises(ValueError, match="'unstable' returned columns"):
        build_features(bars, profile, registry)


def test_only_a_kernel_can_be_row_local() -> None:
    with pytest.raises(ValueError, match="only a kernel can be row-local"):
        FeatureSpec("f", lambda one: one[["close"]], warmup=0, row_local=True)


def test_the_config_hash_changes_with_a_kernels_code() -> None:
    def first(one: BarArrays) -> dict[str, np.ndarray]:
        return {"x": one.close}

    def second(one: BarArrays) -> dict[str, np.ndarray]:
        return {"x": one.open}

    profile = FeatureProfile("p", ("x",), calendar_features=False)
    hashes = {
        config_hash(profile, FeatureRegistry([FeatureSpec.from_kernel("x", kernel, warmup=0)]))
        for kernel in (first, second)
    }
    assert len(hashes) == 2


# --------------------------------------------------------------------------- split and rank


def test_symbol_bounds_are_the_contiguous_rows_of_each_symbol(bars: pd.DataFrame) -> None:
    bounds = symbol_bounds(bars.index)
    symbols = bars.index.get_level_values("symbol")
    assert [symbols[start] for start, _ in bounds] == ["AAA", "BBB", "CCC"]
    assert bounds[0][0] == 0 and bounds[-1][1] == len(bars)
    for (start, stop), (next_start, _) in itertools.pairwise(bounds):
        assert stop == next_start
        assert (symbols[start:stop] == symbols[start]).all()
    assert symbol_bounds(bars.index[:0]) == [(0, 0)]


def test_symbol_bounds_refuse_an_index_without_symbols(bars: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"\(symbol, ts\)"):
        symbol_bounds(bars.index.get_level_values("ts"))


def pandas_rank(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    return pd.Series(values).groupby(keys).rank(method="average", pct=True).to_numpy()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 12),
            st.sampled_from([np.nan, -1.5, -0.0, 0.0, 0.25, 1.0, 2.0, np.inf, -np.inf]),
        ),
        max_size=120,
    )
)
def test_percentile_rank_by_key_is_pandas_grouped_rank_bit_for_bit(
    rows: list[tuple[int, float]],
) -> None:
    keys = np.array([k for k, _ in rows], dtype=np.int64)
    values = np.array([v for _, v in rows], dtype=np.float64)
    assert bitwise_equal(percentile_rank_by_key(keys, values), pandas_rank(keys, values))


@pytest.mark.parametrize("layout", ["aligned", "one_crowded_key", "all_alone"])
def test_percentile_rank_by_key_matches_pandas_on_each_panel_layout(layout: str) -> None:
    """Aligned panels use the padded grid, sparse ones the lexsort; both must agree with pandas."""
    rng = np.random.default_rng(7)
    if layout == "aligned":  # 30 symbols at each of 200 instants
        keys = np.tile(np.arange(200, dtype=np.int64), 30)
    elif layout == "one_crowded_key":  # 40 rows share one instant, 500 instants hold one row
        keys = np.concatenate([np.zeros(40, dtype=np.int64), np.arange(1, 501, dtype=np.int64)])
    else:
        keys = np.arange(1000, dtype=np.int64)[::-1].copy()
    values = rng.integers(-4, 5, len(keys)).astype(np.float64) / 4
    values[rng.random(len(keys)) < 0.1] = np.nan
    ours = percentile_rank_by_key(keys, values)
    assert bitwise_equal(ours, pandas_rank(keys, values))
    assert np.isnan(ours).sum() == np.isnan(values).sum()
