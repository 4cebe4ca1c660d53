"""Tests for label uniqueness and the sample weights derived from it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.labels.weights import average_uniqueness, sample_weights

BARS = pd.date_range("2024-01-01 21:00", periods=8, freq="D", tz="UTC")


def spans(pairs: list[tuple[int, int | None]]) -> tuple[pd.DatetimeIndex, pd.Series]:
    """``t0``/``t1`` from bar positions; ``None`` as the end means no known outcome."""
    t0 = BARS[[a for a, _ in pairs]]
    t1 = pd.Series([BARS[b] if b is not None else pd.NaT for _, b in pairs], index=t0)
    return t0, t1


def test_three_overlapping_labels_match_the_hand_computation() -> None:
    # Spans: bars 0-2, 1-3, 2-4. Concurrency per bar 0..4: 1, 2, 3, 2, 1.
    t0, t1 = spans([(0, 2), (1, 3), (2, 4)])
    uniqueness = average_uniqueness(t0, t1, BARS)
    assert uniqueness.tolist() == pytest.approx(
        [(1 + 1 / 2 + 1 / 3) / 3, (1 / 2 + 1 / 3 + 1 / 2) / 3, (1 / 3 + 1 / 2 + 1) / 3]
    )
    assert uniqueness.index.equals(t1.index)


def test_labels_sharing_one_span_split_it_equally_and_a_lone_label_scores_one() -> None:
    t0, t1 = spans([(0, 1), (0, 1), (0, 1), (4, 6)])
    assert average_uniqueness(t0, t1, BARS).tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1.0])


def test_labels_without_outcome_get_nan_and_do_not_crowd_the_others() -> None:
    t0, t1 = spans([(0, 2), (1, None), (5, 5)])
    uniqueness = average_uniqueness(t0, t1, BARS)
    assert uniqueness.iloc[0] == pytest.approx(1.0)
    assert np.isnan(uniqueness.iloc[1])
    assert uniqueness.iloc[2] == pytest.approx(1.0)


def test_sample_weights_are_uniqueness_rescaled_to_mean_one() -> None:
    t0, t1 = spans([(0, 2), (1, 3), (2, 4), (3, None)])
    weights = sample_weights(t0, t1, BARS)
    uniqueness = average_uniqueness(t0, t1, BARS)
    assert weights.iloc[:3].mean() == pytest.approx(1.0)
    assert (weights.iloc[:3] / uniqueness.iloc[:3]).nunique() == 1
    assert np.isnan(weights.iloc[3])
    # By hand: uniqueness 11/18, 8/18, 11/18 has mean 10/18.
    assert weights.iloc[:3].tolist() == pytest.approx([1.1, 0.8, 1.1])


def test_invalid_spans_are_refused() -> None:
    t0, t1 = spans([(2, 1)])
    with pytest.raises(ValueError, match="t1"):
        average_uniqueness(t0, t1, BARS)
    outside = pd.Series([pd.Timestamp("2030-01-01", tz="UTC")], index=[0])
    with pytest.raises(ValueError, match="no bar"):
        average_uniqueness(pd.DatetimeIndex([pd.Timestamp("2029-01-01", tz="UTC")]), outside, BARS)
    with pytest.raises(ValueError, match="same length"):
        average_uniqueness(BARS[:2], t1, BARS)
    with pytest.raises(ValueError, match="no label"):
        sample_weights(*spans([(0, None)]), BARS)


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.integers(0, 7), st.integers(0, 4)).map(lambda p: (p[0], min(p[0] + p[1], 7))),
        min_size=1,
        max_size=12,
    )
)
def test_uniqueness_equals_a_bar_by_bar_recount(pairs: list[tuple[int, int]]) -> None:
    t0, t1 = spans([(a, b) for a, b in pairs])
    uniqueness = average_uniqueness(t0, t1, BARS).to_numpy()
    concurrency = [sum(a <= b <= e for a, e in pairs) for b in range(len(BARS))]
    expected = [np.mean([1 / concurrency[b] for b in range(a, e + 1)]) for a, e in pairs]
    np.testing.assert_allclose(uniqueness, expected, rtol=1e-12)
    assert ((uniqueness > 0) & (uniqueness <= 1 + 1e-12)).all()
