"""How much to trust one horizon's signal now: IC * freshness * capacity * stability.

Each factor answers one question and lies in [0, 1] (the IC is clipped there
in the product), so the product is a confidence that only shrinks a position:

``ic``
    Has this signal ranked outcomes correctly lately? The rolling Spearman
    rank correlation between predictions and their *realised* outcomes.
``freshness``
    Is the prediction still current? e^(-age/tau): a prediction ``tau`` old keeps
    37 % of its weight, one ``3tau`` old 5 %.
``capacity``
    Can the market absorb the order? min(1, ADV*participation / |order size|).
``stability``
    Has the IC itself been steady? 1 / (1 + std of the rolling IC).
"""

from __future__ import annotations

import bisect
import math
from typing import overload

import numpy as np
import numpy.typing as npt
import pandas as pd
from numba import njit

from alphagate.decision.standardise import per_symbol

FloatArray = npt.NDArray[np.float64]


def rolling_ic(
    predictions: pd.Series,
    realised: pd.Series,
    t1: pd.Series,
    window: int,
    min_periods: int | None = None,
) -> pd.Series:
    """Return at each decision time ``t`` the Spearman IC of the latest outcomes known by ``t``.

    A prediction made at ``t0`` is scored against the return it forecast, which
    is only known at ``t1 > t0`` (``labels`` gives both). Scoring every
    prediction up to ``t`` against its outcome would read returns realised
    after ``t``, the commonest look-ahead in IC monitoring. So the estimate at
    ``t`` uses only pairs with ``t1 <= t``: of those, the ``window`` latest by
    ``t0`` (row order), and

        IC_t = corr(rank(pred), rank(realised))   (Pearson on average ranks)

    Parameters
    ----------
    predictions, realised, t1
        Aligned series on the same index: the prediction made at the row's
        ``ts`` (``t0``), the return it forecast and the instant that return
        became known (NaT or NaN: not known yet, never used). With a
        ``(symbol, ts)`` MultiIndex each symbol is scored on its own history;
        otherwise the index must be the time-ordered ``t0`` itself.
    window
        Most recent resolved pairs per estimate (at least 3).
    min_periods
        Fewest resolved pairs for an estimate (default ``window``; 3 to
        ``window``); before that the IC is NaN.

    Returns
    -------
    pandas.Series
        float64 IC in [-1, 1] on the predictions' index. When either side is
        constant over the window the ranks carry no ordering, no skill is
        shown, and the IC is 0 rather than an undefined 0/0.
    """
    if window < 3:
        raise ValueError(f"window must be at least 3, got {window}")
    periods = window if min_periods is None else min_periods
    if not 3 <= periods <= window:
        raise ValueError(f"min_periods must be between 3 and window={window}, got {periods}")
    if not (predictions.index.equals(realised.index) and predictions.index.equals(t1.index)):
        raise ValueError("predictions, realised and t1 must share one index")
    frame = pd.DataFrame({"pred": predictions, "real": realised, "t1": pd.to_datetime(t1)})

    def one(rows: pd.Series) -> pd.Series:
        part = frame.loc[rows.index]
        t0 = pd.DatetimeIndex(
            part.index.get_level_values("ts") if "ts" in part.index.names else part.index
        )
        known = pd.DatetimeIndex(part["t1"])
        if t0.tz != known.tz:
            raise ValueError(f"t1 is in time zone {known.tz}, the decision times in {t0.tz}")
        values = _ic_one(
            t0.as_unit("ns").asi8,
            known.as_unit("ns").asi8,
            part["pred"].to_numpy(dtype=np.float64),
            part["real"].to_numpy(dtype=np.float64),
            window=window,
            periods=periods,
        )
        return pd.Series(values, index=rows.index, dtype="float64")

    return per_symbol(predictions, one)


def _ic_one(
    t0: npt.NDArray[np.int64],
    t1: npt.NDArray[np.int64],
    pred: FloatArray,
    real: FloatArray,
    *,
    window: int,
    periods: int,
) -> FloatArray:
    """One symbol's rolling IC; pairs enter in ``t1`` order, the estimate reads them by ``t0``."""
    n = len(t0)
    usable = (t1 != np.iinfo(np.int64).min) & np.isfinite(pred) & np.isfinite(real)
    by_t1 = [i for i in np.argsort(t1, kind="stable") if usable[i]]
    resolved: list[int] = []  # row positions (= t0 order) of pairs known so far
    out = np.full(n, np.nan)
    k = 0
    for i in range(n):
        while k < len(by_t1) and t1[by_t1[k]] <= t0[i]:
            bisect.insort(resolved, int(by_t1[k]))
            k += 1
        if len(resolved) < periods:
            continue
        rows = resolved[-window:]
        out[i] = spearman(pred[rows], real[rows])
    return out


TIE_TOLERANCE = 1e-12
"""Predictions closer than this rank as ties (relative to ``max(1, |value|)``)."""


def tolerant_ranks(values: FloatArray, tolerance: float = TIE_TOLERANCE) -> FloatArray:
    """Average ranks in which values within ``tolerance`` of their sorted neighbour are tied.

    Online and batch predictions agree to 1e-12, not to the last bit (a model
    scoring one row and many rows sums in another order). An isotonic
    calibrator maps many predictions to one plateau value, so exact ties are
    common, and a plain rank would turn a last-bit difference into a changed
    ordering, a changed IC and a changed order. Ranking within a tolerance
    makes the IC of the two paths the same.

    Ties chain: sorted neighbours within the tolerance of each other form one
    group, even when its ends are further apart.
    """
    return _tolerant_ranks(_float_vector(values), tolerance)


def spearman(x: FloatArray, y: FloatArray) -> float:
    """Pearson correlation of average ranks; 0 when either side is constant (see ``rolling_ic``).

    Both sides are ranked within :data:`TIE_TOLERANCE` (:func:`tolerant_ranks`):
    a difference below it is arithmetic noise, not an ordering.

    The decision path calls this for every bar and every prediction column,
    so it is one compiled kernel (:func:`_spearman`) rather than a dozen
    small NumPy calls. Its value does not depend on how the pairs are ordered
    (see the kernel), so a caller may keep its window in a ring buffer.

    Raises
    ------
    ValueError
        When ``x`` and ``y`` are not two vectors of one length.
    """
    a, b = _float_vector(x), _float_vector(y)
    if a.shape != b.shape:
        raise ValueError(f"spearman needs two vectors of one length, got {a.shape} and {b.shape}")
    return float(_spearman(a, b, TIE_TOLERANCE)) if a.size else math.nan


class RankWindow:
    """The latest ``size`` resolved (prediction, outcome) pairs and their rank IC.

    A ring buffer: a new pair overwrites the oldest, so each bar costs one
    store and one :func:`spearman` over at most ``size`` pairs, however long
    the history. The ring keeps the pairs out of arrival order, which the IC
    does not see (see :func:`_spearman`).
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a rank window holds at least one pair, got size={size}")
        self._predictions = np.empty(size, dtype=np.float64)
        self._outcomes = np.empty(size, dtype=np.float64)
        self._added = 0

    def __len__(self) -> int:
        return min(self._added, self._predictions.size)

    def add(self, prediction: float, outcome: float) -> None:
        """Add one resolved pair, dropping the oldest once the window is full."""
        slot = self._added % self._predictions.size
        self._predictions[slot] = prediction
        self._outcomes[slot] = outcome
        self._added += 1

    def ic(self) -> float:
        """:func:`spearman` of the pairs held; NaN while there are none."""
        n = len(self)
        if n == 0:
            return math.nan
        return float(_spearman(self._predictions[:n], self._outcomes[:n], TIE_TOLERANCE))


def _float_vector(values: FloatArray) -> FloatArray:
    vector = np.ascontiguousarray(values, dtype=np.float64)
    if vector.ndim != 1:
        raise ValueError(f"need a vector of values, got shape {vector.shape}")
    return vector


@njit(cache=True)
def _tolerant_ranks(values: FloatArray, tolerance: float) -> FloatArray:
    """The kernel of :func:`tolerant_ranks`: one sort, then one pass over the tied groups.

    Values that compare equal may sort in any order (the sort is not stable)
    but share one average rank, so the ranks are those of a stable sort.
    """
    n = values.size
    order = np.argsort(values)
    ranks = np.empty(n, dtype=np.float64)
    start = 0
    for end in range(1, n + 1):
        if end < n:
            upper = values[order[end]]
            scale = max(1.0, abs(upper))
            if not upper - values[order[end - 1]] > tolerance * scale:
                continue  # within the tolerance of its neighbour: the group goes on
        average = start + (end - start + 1) / 2.0  # 1-based mean rank of positions start..end-1
        for position in range(start, end):
            ranks[order[position]] = average
        start = end
    return ranks


@njit(cache=True)
def _spearman(x: FloatArray, y: FloatArray, tolerance: float) -> float:
    """The kernel of :func:`spearman`, exact up to its last two operations.

    Average ranks are multiples of 1/2 and their mean, (n + 1)/2, is one too,
    so every deviation, product and sum below is a multiple of 1/4 held
    exactly in a float64 (for n below about 2e5): the sums are the same
    whatever order they are added in, and the result is rounded only by the
    square root and the division. That is why the value is bit for bit the
    one the earlier NumPy formula gave, and independent of the pairs' order.
    """
    n = x.size
    rx = _tolerant_ranks(x, tolerance)
    ry = _tolerant_ranks(y, tolerance)
    total_x = 0.0
    total_y = 0.0
    for i in range(n):
        total_x += rx[i]
        total_y += ry[i]
    mean_x = total_x / n
    mean_y = total_y / n
    sxx = 0.0
    syy = 0.0
    sxy = 0.0
    for i in range(n):
        dx = rx[i] - mean_x
        dy = ry[i] - mean_y
        sxx += dx * dx
        syy += dy * dy
        sxy += dx * dy
    denominator = np.sqrt(sxx * syy)
    if denominator == 0.0:
        return 0.0
    return float(sxy / denominator)


@overload
def freshness(age: float, tau: float) -> float: ...
@overload
def freshness(age: FloatArray, tau: float) -> FloatArray: ...
def freshness(age: float | FloatArray, tau: float) -> float | FloatArray:
    """Return e^(-age/tau), the weight left to a prediction ``age`` after it was made.

    ``age`` and ``tau`` share one unit (bars or seconds). An exponential decay
    halves the weight every tau*ln 2 whatever the age, so stale signals fade
    smoothly instead of falling off a cliff at an arbitrary cut-off. A
    negative age would be a prediction from the future and raises.
    """
    if not tau > 0:
        raise ValueError(f"tau must be positive, got {tau}")
    if isinstance(age, float):
        # The decision path's case, once per bar and model: no array to build. The
        # same NumPy exp as for an array (math.exp differs from it in the last bit).
        if age < 0:
            raise ValueError(_FUTURE_AGE)
        return float(np.exp(-age / tau))
    values = np.asarray(age, dtype=np.float64)
    if np.any(values < 0):
        raise ValueError(_FUTURE_AGE)
    result: FloatArray = np.exp(-values / tau)
    return float(result) if result.ndim == 0 else result


_FUTURE_AGE = "age must not be negative (a prediction cannot come from the future)"


def capacity(adv: float, participation: float, order_size: float) -> float:
    """Return min(1, ADV*participation / |order size|): the share of the order the market absorbs.

    ``adv`` (average daily volume) and ``order_size`` share one unit (shares or
    notional); ``participation`` is the largest fraction of ADV we are willing
    to be. An order within that limit gets 1; one twice as large gets 0.5,
    because only half of it could trade without moving the price we modelled.
    An empty order needs no capacity and gets 1.
    """
    if adv < 0 or not 0 <= participation <= 1:
        raise ValueError(f"need adv >= 0 and 0 <= participation <= 1, got {adv}, {participation}")
    size = abs(order_size)
    if size == 0:
        return 1.0
    return min(1.0, adv * participation / size)


def stability(ic: pd.Series, window: int, min_periods: int | None = None) -> pd.Series:
    """Return 1 / (1 + s_t), s_t the sample std (``ddof=1``) of the last ``window`` ICs up to ``t``.

    An IC that swings between +0.3 and -0.3 averages like a steady one but is
    far less trustworthy; its spread shrinks the confidence. A constant IC
    gives 1, and the factor never reaches 0, so it discounts but never vetoes.
    Per symbol for a ``(symbol, ts)`` index; NaN until ``min_periods``
    (default ``window``, at least 2) ICs exist.
    """
    periods = window if min_periods is None else min_periods
    if not 2 <= periods <= window:
        raise ValueError(f"need 2 <= min_periods <= window, got {periods} and {window}")

    def one(values: pd.Series) -> pd.Series:
        spread = values.astype("float64").rolling(window, min_periods=periods).std(ddof=1)
        return 1.0 / (1.0 + spread)

    return per_symbol(ic, one)


@overload
def confidence(ic: float, freshness: float, capacity: float, stability: float) -> float: ...
@overload
def confidence(
    ic: FloatArray | float,
    freshness: FloatArray | float,
    capacity: FloatArray | float,
    stability: FloatArray | float,
) -> FloatArray | float: ...
def confidence(
    ic: FloatArray | float,
    freshness: FloatArray | float,
    capacity: FloatArray | float,
    stability: FloatArray | float,
) -> FloatArray | float:
    """Return clip(IC * freshness * capacity * stability, 0, 1), elementwise.

    A negative IC gives 0, not a flipped signal: a model that ranks backwards
    lately is broken, not a contrarian oracle, and betting against it is a
    decision for the research loop, not the live path. NaN (no IC yet) stays
    NaN so the caller decides explicitly how to treat an unscored signal.
    """
    if (
        isinstance(ic, float)
        and isinstance(freshness, float)
        and isinstance(capacity, float)
        and isinstance(stability, float)
    ):
        # The decision path's case, once per bar and model: float arithmetic is
        # NumPy's (IEEE) and the clip below is np.clip's, NaN and -0.0 included.
        value = ic * freshness * capacity * stability
        if math.isnan(value) or 0.0 <= value <= 1.0:
            return value
        return 0.0 if value < 0.0 else 1.0
    product = (
        np.asarray(ic, dtype=np.float64)
        * np.asarray(freshness, dtype=np.float64)
        * np.asarray(capacity, dtype=np.float64)
        * np.asarray(stability, dtype=np.float64)
    )
    result: FloatArray = np.clip(product, 0.0, 1.0)
    return float(result) if result.ndim == 0 else result
