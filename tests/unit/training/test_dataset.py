"""Tests for ``make_dataset``: which rows survive, how they line up, how they weigh.

The hand example has two symbols of five daily bars, a feature warm-up NaN, an
infinite feature and the unknown tail of a 1-bar label, so every drop rule and
the time ordering can be checked row by row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphagate.labels.fixed_horizon import fixed_horizon_labels
from alphagate.labels.weights import average_uniqueness
from alphagate.testing import bars_by_symbol
from alphagate.training.dataset import make_dataset

TS = pd.date_range("2024-01-01 21:00", periods=5, freq="D", tz="UTC")


def _bars() -> pd.DataFrame:
    """AAA and BBB over five days; open, high and low equal the close."""
    return bars_by_symbol(
        {"AAA": [10.0, 11.0, 10.5, 10.5, 12.0], "BBB": [20.0, 19.0, 19.5, 21.0, 20.0]},
        volume=100.0,
        start=TS[0],
    )


def _features(index: pd.Index) -> pd.DataFrame:
    f = np.arange(10, dtype=np.float64)
    f[0] = np.nan  # AAA warm-up
    g = np.ones(10)
    g[6] = np.inf  # BBB day 2: a broken value
    return pd.DataFrame({"f": f, "g": g}, index=index)


def test_drops_exactly_the_non_finite_rows_and_the_unknown_outcomes() -> None:
    bars = _bars()
    labels = fixed_horizon_labels(bars, horizons=(1,))
    ds = make_dataset(_features(bars.index), labels, horizon=1)
    assert ds.n_dropped_features == 2  # AAA day 0 (NaN), BBB day 1 (inf)
    assert ds.n_dropped_labels == 2  # each symbol's last bar
    kept = {(s, t) for s, t in ds.X.index}
    expected = {("AAA", TS[i]) for i in (1, 2, 3)} | {("BBB", TS[i]) for i in (0, 2, 3)}
    assert kept == expected
    assert len(ds) == 6


def test_rows_are_time_ordered_and_every_series_is_aligned_with_its_row() -> None:
    bars = _bars()
    labels = fixed_horizon_labels(bars, horizons=(1,))
    ds = make_dataset(_features(bars.index), labels, horizon=1)
    assert list(ds.X.index) == [
        ("BBB", TS[0]),
        ("AAA", TS[1]),
        ("AAA", TS[2]),
        ("BBB", TS[2]),
        ("AAA", TS[3]),
        ("BBB", TS[3]),
    ]
    for series in (ds.y, ds.t0, ds.t1, ds.weights, ds.forward_return):
        assert series.index.equals(ds.X.index)
    row = ("AAA", TS[2])  # close 10.5 -> 10.5: a zero return is not up
    assert ds.X.loc[row, "f"] == 2.0
    assert ds.y.loc[row] == 0
    assert ds.forward_return.loc[row] == 0.0
    assert ds.t1.loc[row] == TS[3]
    row = ("BBB", TS[2])  # 19.5 -> 21.0
    assert ds.y.loc[row] == 1
    assert ds.forward_return.loc[row] == pytest.approx(np.log(21.0 / 19.5))
    assert (ds.t0 == ds.X.index.get_level_values("ts")).all()
    assert ds.y.dtype == np.int64


def test_weights_have_mean_one_and_follow_uniqueness_within_each_symbol() -> None:
    bars = _bars()
    labels = fixed_horizon_labels(bars, horizons=(2,))
    ds = make_dataset(_features(bars.index), labels, horizon=2)
    assert ds.weights.mean() == pytest.approx(1.0)
    aaa = ds.t0.index.get_level_values("symbol") == "AAA"
    raw = average_uniqueness(ds.t0[aaa], ds.t1[aaa], pd.DatetimeIndex(TS))
    ratio = ds.weights[aaa] / raw
    assert np.allclose(ratio, ratio.iloc[0])  # same uniqueness, one common rescaling
    assert ds.weights.nunique() > 1  # overlapping 2-bar labels are not all alike


def test_features_without_a_labels_row_count_as_unknown_outcomes() -> None:
    bars = _bars()
    labels = fixed_horizon_labels(bars, horizons=(1,)).drop(index=("AAA", TS[1]))
    ds = make_dataset(_features(bars.index), labels, horizon=1)
    assert ("AAA", TS[1]) not in ds.X.index
    assert ds.n_dropped_labels == 3


def test_a_missing_horizon_is_refused_by_name() -> None:
    bars = _bars()
    labels = fixed_horizon_labels(bars, horizons=(1,))
    with pytest.raises(ValueError, match="horizon-5"):
        make_dataset(_features(bars.index), labels, horizon=5)
