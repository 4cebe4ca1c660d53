"""The mean and sample standard deviation of a trailing window, as NumPy gives them, compiled.

The signal tape standardises every prediction against its trailing window and
measures the spread of its trailing ICs, at every bar for every column. With
NumPy that is a dozen calls on a few dozen values, and the calls cost more
than the arithmetic; one compiled call does it here.

The values must stay the ones ``np.mean`` and ``np.std(ddof=1)`` give, bit
for bit, or a backtest would drift from the one recorded before. NumPy sums a
float64 array pairwise (eight running sums over blocks of eight values, the
halves summed apart above 128 values; ``numpy/_core/src/umath/loops_utils.h.src``),
not left to right, so a plain loop would round differently. :func:`pairwise_sum`
follows it step for step; the tests hold it to ``np.add.reduce`` and these
statistics to ``np.mean`` and ``np.std`` on random windows.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]

_BLOCK = 128
"""NumPy's ``PW_BLOCKSIZE``: above this many values the sum splits in two halves."""


@njit(cache=True)
def _block_sum(values: FloatArray, start: int, count: int) -> float:
    """NumPy's sum of at most :data:`_BLOCK` values: eight running sums, then the rest in turn."""
    if count < 8:
        total = 0.0
        for i in range(start, start + count):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    r4, r5, r6, r7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    i = 8
    whole = count - count % 8
    while i < whole:
        j = start + i
        r0 += values[j]
        r1 += values[j + 1]
        r2 += values[j + 2]
        r3 += values[j + 3]
        r4 += values[j + 4]
        r5 += values[j + 5]
        r6 += values[j + 6]
        r7 += values[j + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < count:
        total += values[start + i]
        i += 1
    return float(total)


@njit(cache=True)
def pairwise_sum(values: FloatArray, start: int, count: int) -> float:
    """``np.add.reduce(values[start:start + count])`` for a contiguous float64 array, less its 0.0.

    Above :data:`_BLOCK` values NumPy sums each half apart (the first half a
    multiple of eight long) and adds the two. That recursion runs here on an
    explicit stack, in the same order: numba cannot cache a recursive function.
    """
    if count <= _BLOCK:
        return _block_sum(values, start, count)
    depth = 64  # every split halves the count, so no deeper than its bits
    starts = np.empty(depth, dtype=np.int64)
    counts = np.empty(depth, dtype=np.int64)
    stages = np.zeros(depth, dtype=np.int64)  # 0: split, 1: left done, 2: both done
    sums = np.empty(depth, dtype=np.float64)  # finished sums waiting for their sibling
    top, waiting = 0, 0
    starts[0], counts[0] = start, count
    while top >= 0:
        first, length = starts[top], counts[top]
        if length <= _BLOCK:
            sums[waiting] = _block_sum(values, first, length)
            waiting += 1
            top -= 1
            continue
        half = length // 2
        half -= half % 8
        if stages[top] == 0:
            stages[top] = 1
            top += 1
            starts[top], counts[top], stages[top] = first, half, 0
        elif stages[top] == 1:
            stages[top] = 2
            top += 1
            starts[top], counts[top], stages[top] = first + half, length - half, 0
        else:
            waiting -= 1
            sums[waiting - 1] = sums[waiting - 1] + sums[waiting]
            top -= 1
    return float(sums[0])


@njit(cache=True)
def _reduce(values: FloatArray, count: int) -> float:
    # A reduction starts from add's identity, 0.0: it turns an all -0.0 sum into 0.0.
    return 0.0 + pairwise_sum(values, 0, count)


@njit(cache=True)
def finite_mean_std(window: FloatArray) -> tuple[int, float, float]:
    """How many of ``window``'s values are finite, and their mean and sample std (``ddof=1``).

    ``np.mean(f)`` and ``np.std(f, ddof=1)`` of ``f = window[np.isfinite(window)]``,
    bit for bit; NaN for a statistic with too few values (none; fewer than two).
    """
    finite = np.empty(window.size, dtype=np.float64)
    n = 0
    for value in window:
        if math.isfinite(value):
            finite[n] = value
            n += 1
    if n == 0:
        return 0, math.nan, math.nan
    mean = _reduce(finite, n) / n
    if n < 2:
        return n, mean, math.nan
    for i in range(n):
        deviation = finite[i] - mean
        finite[i] = deviation * deviation
    return n, mean, math.sqrt(_reduce(finite, n) / (n - 1))
