"""The correlation breaker's compiled kernels: one row into the rolling sums, and the reading.

Kept apart from :mod:`alphagate.risk.breaker` so that importing the risk
package does not import numba; :class:`~alphagate.risk.breaker.RollingCorrelation`
loads this module when the first one is built.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@njit(cache=True)
def add_row(  # noqa: PLR0917 (a numba kernel takes its state as positional arrays)
    ring: FloatArray,
    anchor: FloatArray,
    sums: FloatArray,
    cross: FloatArray,
    finite: IntArray,
    repeats: IntArray,
    values: FloatArray,
    added: int,
) -> float:
    """Put row number ``added`` into the state, in place; the mean correlation, NaN for none."""
    window, n = ring.shape
    slot = added % window
    before = ring[slot - 1]  # the previous row (row -1 of the ring is the last)
    for i in range(n):
        same = math.isfinite(values[i]) and values[i] == before[i]
        repeats[i] = repeats[i] + 1 if same else 0
    if added >= window:  # the row in this slot leaves the window
        _accumulate(ring[slot], anchor, sums, cross, finite, -1.0)
    ring[slot] = values
    if slot == window - 1:
        _recompute(ring, anchor, sums, cross, finite)
    else:
        _accumulate(values, anchor, sums, cross, finite, 1.0)
    if added + 1 < window:
        return math.nan
    return _reading(sums, cross, finite, repeats, window)


@njit(cache=True)
def _accumulate(  # noqa: PLR0917 (a numba kernel takes its state as positional arrays)
    row: FloatArray,
    anchor: FloatArray,
    sums: FloatArray,
    cross: FloatArray,
    finite: IntArray,
    sign: float,
) -> None:
    """Add (``sign`` 1) or take away (-1) one row's deviations, products and finite counts."""
    n = row.size
    deviations = np.zeros(n)
    for i in range(n):
        if math.isfinite(row[i]):
            deviations[i] = row[i] - anchor[i]
            finite[i] += int(sign)
    for i in range(n):
        sums[i] += sign * deviations[i]
        for j in range(n):
            cross[i, j] += sign * (deviations[i] * deviations[j])


@njit(cache=True)
def _recompute(
    ring: FloatArray, anchor: FloatArray, sums: FloatArray, cross: FloatArray, finite: IntArray
) -> None:
    """The sums from the window itself, as deviations from its mean per column."""
    window, n = ring.shape
    for i in range(n):
        count, total = 0, 0.0
        for t in range(window):
            if math.isfinite(ring[t, i]):
                count += 1
                total += ring[t, i]
        anchor[i] = total / count if count else 0.0
        finite[i] = count
    deviations = np.zeros((window, n))
    for t in range(window):
        for i in range(n):
            if math.isfinite(ring[t, i]):
                deviations[t, i] = ring[t, i] - anchor[i]
    sums[:] = 0.0
    cross[:, :] = 0.0
    for t in range(window):
        for i in range(n):
            sums[i] += deviations[t, i]
            for j in range(n):
                cross[i, j] += deviations[t, i] * deviations[t, j]


@njit(cache=True)
def _reading(
    sums: FloatArray, cross: FloatArray, finite: IntArray, repeats: IntArray, window: int
) -> float:
    """Mean correlation over the pairs of usable columns (see the class); NaN with fewer than 2."""
    n = sums.size
    columns = np.empty(n, dtype=np.int64)
    variances = np.empty(n)
    k = 0
    for i in range(n):
        if finite[i] == window and repeats[i] < window - 1:
            variance = cross[i, i] - sums[i] * sums[i] / window
            if variance > 0.0:  # values not all equal whose spread still rounds to nothing: out
                columns[k] = i
                variances[k] = variance
                k += 1
    if k < 2:
        return math.nan
    total = 0.0
    for a in range(k):
        i = columns[a]
        for b in range(a + 1, k):
            j = columns[b]
            covariance = cross[i, j] - sums[i] * sums[j] / window
            correlation = covariance / math.sqrt(variances[a] * variances[b])
            total += min(1.0, max(-1.0, correlation))
    return total / (k * (k - 1) / 2)
