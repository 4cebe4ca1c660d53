"""Tests for purged k-fold and walk-forward splits.

Expected train sets are rebuilt here sample by sample from the documented rules
(closed-span overlap, embargo counted in distinct timestamps after the test
window), independently of the vectorised code under test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.training.splits import Split, purged_kfold, walk_forward

BASE = pd.Timestamp("2024-01-01 21:00", tz="UTC")
DAY = pd.Timedelta(days=1)
Partition = list[tuple[set[int], set[int]]]  # (train, test) positions per split


@dataclass(frozen=True)
class Samples:
    """Samples as day numbers (``start``/``end``) and as the timestamps the splitter takes."""

    start: list[int]
    end: list[int]

    @property
    def t0(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex([BASE + d * DAY for d in self.start])

    @property
    def t1(self) -> pd.Series:
        return pd.Series([BASE + d * DAY for d in self.end])

    @property
    def times(self) -> list[int]:
        return sorted(set(self.start))


def series(n: int, span: int = 0) -> Samples:
    """One sample per day, each label spanning ``span`` days."""
    return Samples(start=list(range(n)), end=[d + span for d in range(n)])


@st.composite
def panels(draw: st.DrawFn) -> Samples:
    """Distinct days with gaps, one to three samples per day, in shuffled order."""
    n_times = draw(st.integers(2, 24))
    days = np.cumsum(draw(st.lists(st.integers(1, 3), min_size=n_times, max_size=n_times)))
    start: list[int] = []
    end: list[int] = []
    for day in days:
        for _ in range(draw(st.integers(1, 3))):
            start.append(int(day))
            end.append(int(day) + draw(st.integers(0, 5)))
    order = draw(st.permutations(range(len(start))))
    return Samples(start=[start[i] for i in order], end=[end[i] for i in order])


def overlaps(samples: Samples, i: int, window: tuple[int, int]) -> bool:
    return samples.start[i] <= window[1] and samples.end[i] >= window[0]


def expected_kfold(samples: Samples, n_splits: int, embargo: float) -> Partition:
    """(train, test) per fold from the documented rules, one sample at a time."""
    times = samples.times
    m = math.ceil(embargo * len(times))
    result = []
    for fold_times in np.array_split(np.asarray(times), n_splits):
        fold = set(fold_times.tolist())
        test = {i for i, d in enumerate(samples.start) if d in fold}
        window = (min(samples.start[i] for i in test), max(samples.end[i] for i in test))
        embargoed = set([d for d in times if d > window[1]][:m])
        train = {
            i
            for i in range(len(samples.start))
            if i not in test
            and not overlaps(samples, i, window)
            and samples.start[i] not in embargoed
        }
        result.append((train, test))
    return result


def as_sets(splits: list[Split]) -> Partition:
    return [(set(s.train.tolist()), set(s.test.tolist())) for s in splits]


# --------------------------------------------------------------------------- purged k-fold


def test_kfold_on_one_series_purges_label_spans_and_embargoes_after_the_window() -> None:
    # 20 days, labels span 2 days, 4 folds of 5 days, embargo ceil(0.1 * 20) = 2 days.
    splits = purged_kfold(series(20, span=2).t0, series(20, span=2).t1, n_splits=4, embargo=0.1)
    assert [s.test.tolist() for s in splits] == [list(range(k, k + 5)) for k in (0, 5, 10, 15)]
    # Fold 1 tests days 5-9, window [5, 11]: days 3, 4 end inside it (purged), days 10, 11
    # start inside it (purged), days 12, 13 are the embargo.
    assert splits[1].train.tolist() == [0, 1, 2, *range(14, 20)]
    # The last fold has nothing after it to embargo.
    assert splits[3].train.tolist() == list(range(13))


def test_kfold_embargo_removes_exactly_ceil_share_of_timestamps_when_labels_are_points() -> None:
    samples = series(50)
    plain = purged_kfold(samples.t0, samples.t1, n_splits=5, embargo=0.0)
    embargoed = purged_kfold(samples.t0, samples.t1, n_splits=5, embargo=0.05)
    for k, (a, b) in enumerate(zip(plain, embargoed, strict=True)):
        removed = sorted(set(a.train.tolist()) - set(b.train.tolist()))
        first_after = 10 * (k + 1)
        assert removed == [d for d in (first_after, first_after + 1, first_after + 2) if d < 50]
        assert set(b.train.tolist()) <= set(a.train.tolist())


@settings(max_examples=120, deadline=None)
@given(
    samples=panels(),
    n_splits=st.integers(2, 5),
    embargo=st.sampled_from([0.0, 0.01, 0.1, 0.25]),
)
def test_kfold_folds_partition_time_and_train_sets_follow_the_purge_rules(
    samples: Samples, n_splits: int, embargo: float
) -> None:
    if len(samples.times) < n_splits:
        with pytest.raises(ValueError, match="distinct timestamp"):
            purged_kfold(samples.t0, samples.t1, n_splits=n_splits, embargo=embargo)
        return
    expected = expected_kfold(samples, n_splits, embargo)
    if any(not train for train, _ in expected):
        with pytest.raises(ValueError, match="no training sample"):
            purged_kfold(samples.t0, samples.t1, n_splits=n_splits, embargo=embargo)
        return
    splits = purged_kfold(samples.t0, samples.t1, n_splits=n_splits, embargo=embargo)
    assert as_sets(splits) == expected

    tests = [s.test for s in splits]
    # Disjoint and covering every sample.
    assert sorted(np.concatenate(tests).tolist()) == list(range(len(samples.start)))
    start = np.asarray(samples.start)
    end = np.asarray(samples.end)
    for k, split in enumerate(splits):
        # Ordered in time: every fold ends before the next begins, so equal
        # timestamps can never sit in two folds.
        if k:
            assert start[tests[k - 1]].max() < start[split.test].min()
        window = (start[split.test].min(), end[split.test].max())
        assert not ((start[split.train] <= window[1]) & (end[split.train] >= window[0])).any()
        assert np.all(np.diff(split.train) > 0)
        assert np.all(np.diff(split.test) > 0)


# --------------------------------------------------------------------------- walk-forward


def test_walk_forward_expanding_on_one_series_by_hand() -> None:
    samples = series(12, span=1)
    splits = walk_forward(samples.t0, samples.t1, n_splits=3, test_size=2)
    assert [s.test.tolist() for s in splits] == [[6, 7], [8, 9], [10, 11]]
    # Day 5's label ends on day 6, inside the first test block: purged.
    assert [s.train.tolist() for s in splits] == [
        list(range(5)),
        list(range(7)),
        list(range(9)),
    ]


def test_walk_forward_rolling_window_and_gap_by_hand() -> None:
    samples = series(12)
    splits = walk_forward(
        samples.t0, samples.t1, n_splits=2, test_size=2, train_size=3, embargo=0.1
    )
    # Gap ceil(0.1 * 12) = 2 days before each block, then the last 3 days before the gap.
    assert [s.test.tolist() for s in splits] == [[8, 9], [10, 11]]
    assert [s.train.tolist() for s in splits] == [[3, 4, 5], [5, 6, 7]]


@settings(max_examples=120, deadline=None)
@given(
    samples=panels(),
    n_splits=st.integers(2, 4),
    test_size=st.integers(1, 4),
    train_size=st.one_of(st.none(), st.integers(1, 8)),
    embargo=st.sampled_from([0.0, 0.1]),
)
def test_walk_forward_trains_only_on_labels_known_before_each_test_block(
    samples: Samples, n_splits: int, test_size: int, train_size: int | None, embargo: float
) -> None:
    times = samples.times
    gap = math.ceil(embargo * len(times))
    first_test = len(times) - n_splits * test_size
    kwargs = {"n_splits": n_splits, "test_size": test_size, "train_size": train_size}
    if first_test - gap < 1:
        with pytest.raises(ValueError, match="distinct timestamp"):
            walk_forward(samples.t0, samples.t1, embargo=embargo, **kwargs)  # type: ignore[arg-type]
        return
    expected = []
    for block in range(n_splits):
        block_times = times[first_test + block * test_size : first_test + (block + 1) * test_size]
        stop = first_test + block * test_size - gap
        allowed = set(
            times[:stop] if train_size is None else times[max(0, stop - train_size) : stop]
        )
        test = {i for i, d in enumerate(samples.start) if d in block_times}
        train = {
            i
            for i, d in enumerate(samples.start)
            if d in allowed and samples.end[i] < block_times[0]
        }
        expected.append((train, test))
    if any(not train for train, _ in expected):
        with pytest.raises(ValueError, match="no training sample"):
            walk_forward(samples.t0, samples.t1, embargo=embargo, **kwargs)  # type: ignore[arg-type]
        return
    splits = walk_forward(samples.t0, samples.t1, embargo=embargo, **kwargs)  # type: ignore[arg-type]
    assert as_sets(splits) == expected

    start = np.asarray(samples.start)
    end = np.asarray(samples.end)
    for split in splits:
        test_start = start[split.test].min()
        assert end[split.train].max() < test_start
        assert len(set(start[split.test].tolist())) == test_size
    # The blocks are consecutive and end with the data.
    covered = np.concatenate([s.test for s in splits])
    assert sorted(set(start[covered].tolist())) == times[first_test:]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("n_splits", [0, 1])
def test_fewer_than_two_splits_are_refused(n_splits: int) -> None:
    samples = series(10)
    with pytest.raises(ValueError, match="n_splits"):
        purged_kfold(samples.t0, samples.t1, n_splits=n_splits)
    with pytest.raises(ValueError, match="n_splits"):
        walk_forward(samples.t0, samples.t1, n_splits=n_splits, test_size=1)


def test_labels_known_before_their_features_are_refused() -> None:
    samples = Samples(start=[0, 1, 2, 3], end=[0, 0, 2, 3])
    with pytest.raises(ValueError, match="t1 < t0"):
        purged_kfold(samples.t0, samples.t1, n_splits=2)
    with pytest.raises(ValueError, match="t1 < t0"):
        walk_forward(samples.t0, samples.t1, n_splits=2, test_size=1)


def test_too_few_samples_missing_outcomes_and_bad_sizes_are_refused() -> None:
    samples = series(3)
    with pytest.raises(ValueError, match="distinct timestamp"):
        purged_kfold(samples.t0, samples.t1, n_splits=4)
    with pytest.raises(ValueError, match="distinct timestamp"):
        walk_forward(samples.t0, samples.t1, n_splits=3, test_size=1)
    with_nat = pd.Series([BASE, pd.NaT, BASE + 2 * DAY])
    with pytest.raises(ValueError, match="NaT"):
        purged_kfold(samples.t0, with_nat, n_splits=2)
    with pytest.raises(ValueError, match="same length"):
        purged_kfold(samples.t0, samples.t1.iloc[:2], n_splits=2)
    with pytest.raises(ValueError, match="embargo"):
        purged_kfold(samples.t0, samples.t1, n_splits=2, embargo=1.0)
    with pytest.raises(ValueError, match="test_size"):
        walk_forward(samples.t0, samples.t1, n_splits=2, test_size=0)
    with pytest.raises(ValueError, match="train_size"):
        walk_forward(samples.t0, samples.t1, n_splits=2, test_size=1, train_size=0)


def test_a_fold_left_without_training_samples_is_refused() -> None:
    # Every label spans the whole data set, so purging empties every training set.
    samples = Samples(start=[0, 1, 2, 3], end=[3, 3, 3, 3])
    with pytest.raises(ValueError, match="no training sample"):
        purged_kfold(samples.t0, samples.t1, n_splits=2)
