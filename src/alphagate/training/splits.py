"""Time-ordered cross-validation splits with purging and embargo (López de Prado, *AFML* ch. 7).

A sample is not a point in time but a span: its features are known at ``t0``
and its label at ``t1`` (see ``alphagate.labels``). Plain k-fold breaks on such
data twice over: shuffled folds train on the future, and even ordered folds
train on samples whose label was realised inside the test window. Here:

* **Folds are contiguous in time and never shuffled.**
* **Purge.** A training sample is dropped when its closed span
  ``[t0_i, t1_i]`` overlaps the test window ``[min t0 of test, max t1 of
  test]``: its label would share returns with a test label.
* **Embargo** (k-fold only). Features read trailing windows, so a training
  sample whose ``t0`` falls just after the test window still sees prices that
  settled test labels. After purging, the first ``ceil(embargo * T)`` distinct
  timestamps *after the test window's end* (``max t1`` of the test fold) are
  dropped from training too, where ``T`` is the number of distinct ``t0``
  timestamps. For one series (one sample per timestamp) that is exactly
  ``ceil(embargo * n)`` samples, fewer only where the data ends first. Counting
  from the window's end rather than the fold's last ``t0`` (as *AFML*'s
  ``PurgedKFold`` does) keeps the embargo from vanishing inside the purged
  zone whenever labels span more bars than the embargo.

**Several symbols.** ``t0`` may repeat (one sample per symbol per bar) and need
not be sorted (a bars frame is ordered by symbol first). Splitting is by time:
samples with equal ``t0`` always land in the same fold, otherwise one symbol's
bar would be tested while another symbol's bar at the same instant, driven by
the same market, is trained on. Fold sizes, ``test_size`` and ``train_size``
therefore count **distinct timestamps**, not rows.

Positions returned index into ``t0``/``t1`` as given (``iloc`` positions), sorted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True, eq=False)
class Split:
    """One train/test partition, as sorted integer positions into the samples.

    ``eq=False``: comparing arrays element-wise is not what ``==`` on a split
    should mean; compare ``train`` and ``test`` explicitly.
    """

    train: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class _Timeline:
    """Samples mapped onto their distinct timestamps."""

    start: np.ndarray  # int64 ns of t0, per sample
    end: np.ndarray  # int64 ns of t1, per sample
    group: np.ndarray  # index of the sample's t0 among the sorted distinct timestamps
    times: np.ndarray  # the sorted distinct t0 timestamps, int64 ns

    @property
    def n_times(self) -> int:
        """Number of distinct ``t0`` timestamps."""
        return int(self.times.size)


def _as_ns(values: pd.DatetimeIndex, what: str) -> np.ndarray:
    """Int64 nanoseconds (UTC for tz-aware input); NaT is refused."""
    if values.hasnans:
        raise ValueError(f"{what} contains NaT; drop samples without a known outcome first")
    if values.tz is not None:
        values = values.tz_convert("UTC").tz_localize(None)
    return values.as_unit("ns").to_numpy().view(np.int64)


def _timeline(t0: pd.DatetimeIndex | pd.Series, t1: pd.Series) -> _Timeline:
    """Validate ``t0``/``t1`` and map every sample to its distinct-timestamp group."""
    start_index = pd.DatetimeIndex(t0)
    end_index = pd.DatetimeIndex(t1)
    if len(start_index) != len(end_index):
        raise ValueError(
            f"t0 and t1 must have the same length, got {len(start_index)} and {len(end_index)}"
        )
    if (start_index.tz is None) != (end_index.tz is None):
        raise ValueError("t0 and t1 must both be tz-aware or both be naive")
    start = _as_ns(start_index, "t0")
    end = _as_ns(end_index, "t1")
    bad = np.flatnonzero(end < start)
    if bad.size:
        raise ValueError(
            f"t1 < t0 for {bad.size} sample(s), first at position {bad[0]}: "
            f"a label cannot be known before its features"
        )
    times, group = np.unique(start, return_inverse=True)
    return _Timeline(start=start, end=end, group=group.astype(np.int64), times=times)


def _check_n_splits(n_splits: int) -> None:
    if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 2:
        raise ValueError(f"n_splits must be an integer >= 2, got {n_splits!r}")


def _check_embargo(embargo: float) -> None:
    if not 0.0 <= embargo < 1.0:
        raise ValueError(f"embargo must be in [0, 1), got {embargo}")


def purged_kfold(
    t0: pd.DatetimeIndex | pd.Series,
    t1: pd.Series,
    n_splits: int = 5,
    embargo: float = 0.01,
) -> list[Split]:
    """Contiguous k-fold splits with purging and an embargo after each test fold.

    Parameters
    ----------
    t0
        When each sample's features are known (its bar's ``ts``).
    t1
        When each sample's label is known, positionally aligned with ``t0``;
        ``t1 >= t0`` and no NaT.
    n_splits
        Number of folds (``>= 2``). The distinct timestamps are cut into
        ``n_splits`` contiguous runs of (near) equal length, earliest first.
    embargo
        Share of distinct timestamps, in ``[0, 1)``, dropped from training right
        after each test window: ``ceil(embargo * T)`` of them.

    Returns
    -------
    list[Split]
        One split per fold, in time order. Test folds are disjoint and cover
        every sample.

    Raises
    ------
    ValueError
        Fewer distinct timestamps than folds, ``n_splits < 2``, ``t1 < t0``, NaT,
        or a fold left with no training sample after purging.
    """
    _check_n_splits(n_splits)
    _check_embargo(embargo)
    line = _timeline(t0, t1)
    if line.n_times < n_splits:
        raise ValueError(
            f"{line.n_times} distinct timestamp(s) cannot make {n_splits} folds "
            f"(equal timestamps stay in one fold)"
        )
    embargo_times = math.ceil(embargo * line.n_times)
    all_samples = np.arange(line.group.size, dtype=np.int64)
    splits: list[Split] = []
    for fold, times in enumerate(np.array_split(np.arange(line.n_times), n_splits)):
        first, last = int(times[0]), int(times[-1])
        in_test = (line.group >= first) & (line.group <= last)
        window_start = line.start[in_test].min()
        window_end = line.end[in_test].max()
        overlaps = (line.start <= window_end) & (line.end >= window_start)
        after = int(np.searchsorted(line.times, window_end, side="right"))
        embargoed = (line.group >= after) & (line.group < after + embargo_times)
        test = all_samples[in_test]
        train = all_samples[~in_test & ~overlaps & ~embargoed]
        if train.size == 0:
            raise ValueError(
                f"fold {fold} has no training sample left after purging and embargo; "
                f"use fewer folds or shorter label spans"
            )
        splits.append(Split(train=train, test=test))
    return splits


def walk_forward(
    t0: pd.DatetimeIndex | pd.Series,
    t1: pd.Series,
    *,
    n_splits: int,
    test_size: int,
    train_size: int | None = None,
    embargo: float = 0.0,
) -> list[Split]:
    """Walk-forward splits: each test block follows its training block in time.

    The test blocks are the last ``n_splits * test_size`` distinct timestamps,
    cut into ``n_splits`` consecutive blocks of ``test_size``. For each block:

    * candidates for training are the samples before the block, less a gap of
      ``ceil(embargo * T)`` distinct timestamps just before it (``embargo``
      here guards against features that read ahead of ``t0``, e.g. from slow
      data revisions; the usual embargo *after* a test fold has nothing to
      protect when training precedes testing);
    * with ``train_size`` set, only the last ``train_size`` distinct timestamps
      of those candidates are kept (rolling window); ``None`` keeps them all
      (expanding window);
    * samples whose ``t1 >= `` the block's first ``t0`` are purged: their label
      is only known once the test period has begun.

    Parameters
    ----------
    t0, t1
        As for ``purged_kfold``.
    n_splits
        Number of test blocks (``>= 2``).
    test_size
        Distinct timestamps per test block (``>= 1``).
    train_size
        Rolling window length in distinct timestamps, or ``None`` for expanding.
    embargo
        Share of distinct timestamps, in ``[0, 1)``, left out between training
        and each test block.

    Returns
    -------
    list[Split]
        One split per block, in time order.

    Raises
    ------
    ValueError
        Too few distinct timestamps for the blocks plus at least one training
        timestamp, invalid sizes, ``t1 < t0``, NaT, or a block left with no
        training sample after purging.
    """
    _check_n_splits(n_splits)
    _check_embargo(embargo)
    if isinstance(test_size, bool) or not isinstance(test_size, int) or test_size < 1:
        raise ValueError(f"test_size must be a positive integer, got {test_size!r}")
    if train_size is not None and (
        isinstance(train_size, bool) or not isinstance(train_size, int) or train_size < 1
    ):
        raise ValueError(f"train_size must be a positive integer or None, got {train_size!r}")
    line = _timeline(t0, t1)
    gap = math.ceil(embargo * line.n_times)
    first_test = line.n_times - n_splits * test_size
    if first_test - gap < 1:
        raise ValueError(
            f"{line.n_times} distinct timestamp(s) cannot hold {n_splits} test blocks of "
            f"{test_size} after a gap of {gap} and at least one training timestamp"
        )
    all_samples = np.arange(line.group.size, dtype=np.int64)
    splits: list[Split] = []
    for block in range(n_splits):
        test_first = first_test + block * test_size
        test_last = test_first + test_size - 1
        in_test = (line.group >= test_first) & (line.group <= test_last)
        train_stop = test_first - gap  # exclusive, in distinct-timestamp groups
        train_start = 0 if train_size is None else max(0, train_stop - train_size)
        candidate = all_samples[(line.group >= train_start) & (line.group < train_stop)]
        test = all_samples[in_test]
        window_start = line.start[test].min()
        train = candidate[line.end[candidate] < window_start]
        if train.size == 0:
            raise ValueError(
                f"test block {block} has no training sample left after purging; "
                f"use a longer training window or shorter label spans"
            )
        splits.append(Split(train=train, test=test))
    return splits
