"""Sample weights from label uniqueness (López de Prado, *AFML* ch. 4).

Labels with overlapping spans ``[t0, t1]`` share the same realised returns:
twenty 20-bar labels started on consecutive days are mostly one observation
counted twenty times. Treating them as independent overstates how much the
data says and lets a model fit the overlap. Uniqueness measures how much of a
label is its own:

* the **concurrency** ``c_b`` of bar ``b`` is the number of labels whose closed
  span ``[t0, t1]`` contains ``b``;
* the **average uniqueness** of a label is the mean of ``1 / c_b`` over the bars
  ``b`` of its span.

A label alone on its bars scores 1; ``m`` labels sharing exactly the same span
score ``1/m`` each, so together they weigh as one.

The functions put every label on one timeline. For several symbols, call them
per symbol (their returns are different observations) or on the union of
timestamps, as the caller's notion of overlap requires.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _utc_ns(values: pd.DatetimeIndex | pd.Series, what: str) -> np.ndarray:
    """Return timestamps as int64 nanoseconds since the epoch (UTC for aware values)."""
    index = pd.DatetimeIndex(values)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    if index.hasnans:
        raise ValueError(f"{what} contains NaT; drop rows without a known outcome first")
    return index.as_unit("ns").to_numpy().view(np.int64)


def average_uniqueness(
    t0: pd.DatetimeIndex | pd.Series,
    t1: pd.Series,
    bar_index: pd.DatetimeIndex,
) -> pd.Series:
    """Average uniqueness of each label over the bars its span covers.

    Parameters
    ----------
    t0
        Start of each label (the entry bar's ``ts``), positionally aligned
        with ``t1``.
    t1
        End of each label (when its outcome is known, as ``fixed_horizon_labels``
        and ``triple_barrier_labels`` report it). Rows with NaT have no known
        outcome and get NaN uniqueness; they count towards no concurrency.
    bar_index
        The bars' timestamps: the timeline concurrency is counted on. Sorted
        and unique.

    Returns
    -------
    pandas.Series
        Uniqueness in ``(0, 1]``, indexed like ``t1``; NaN where ``t1`` is NaT.
    """
    if len(t0) != len(t1):
        raise ValueError(f"t0 and t1 must have the same length, got {len(t0)} and {len(t1)}")
    bars = _utc_ns(bar_index, "bar_index")
    if bars.size > 1 and not np.all(np.diff(bars) > 0):
        raise ValueError("bar_index must be sorted and unique")
    known = ~pd.isna(t1).to_numpy()
    start_ns = _utc_ns(pd.DatetimeIndex(t0)[known], "t0")
    end_ns = _utc_ns(pd.DatetimeIndex(t1)[known], "t1")
    if np.any(end_ns < start_ns):
        raise ValueError("every t1 must be >= its t0")

    first = np.searchsorted(bars, start_ns, side="left")
    stop = np.searchsorted(bars, end_ns, side="right")  # exclusive
    if np.any(stop <= first):
        raise ValueError("a label's span [t0, t1] contains no bar of bar_index")

    # Concurrency by a difference array: +1 where a span starts, -1 after it ends.
    delta = np.zeros(bars.size + 1, dtype=np.int64)
    np.add.at(delta, first, 1)
    np.add.at(delta, stop, -1)
    concurrency = np.cumsum(delta[:-1])
    inverse = np.zeros(bars.size, dtype=np.float64)
    covered = concurrency > 0
    inverse[covered] = 1.0 / concurrency[covered]
    # Mean of 1/c over each span from a prefix sum: O(labels + bars).
    prefix = np.concatenate(([0.0], np.cumsum(inverse)))
    result = np.full(len(t1), np.nan)
    result[known] = (prefix[stop] - prefix[first]) / (stop - first)
    return pd.Series(result, index=t1.index, name="uniqueness")


def sample_weights(
    t0: pd.DatetimeIndex | pd.Series,
    t1: pd.Series,
    bar_index: pd.DatetimeIndex,
) -> pd.Series:
    """Average uniqueness rescaled to mean 1 over the labels with a known outcome.

    Mean 1 keeps the effective sample size and the scale of losses and
    regularisation comparable to unweighted training; only the *relative*
    weights carry information. NaN where ``t1`` is NaT.
    """
    uniqueness = average_uniqueness(t0, t1, bar_index)
    mean = uniqueness.mean()  # skips NaN
    if not np.isfinite(mean) or mean <= 0:
        raise ValueError("no label with a known outcome to weight")
    return (uniqueness / mean).rename("weight")
