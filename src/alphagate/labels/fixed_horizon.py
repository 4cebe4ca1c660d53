"""Fixed-horizon labels: the log return over the next ``h`` bars of the same symbol.

Every label carries ``t1``, the close time of the bar that settles it. A label
at ``t`` is not known until ``t1``, so anything that trains on it must treat the
sample as living on ``[t, t1]``: purged cross-validation drops training rows
whose span overlaps a test window, and sample weights share out overlapping
spans (``labels.weights``). Without ``t1`` a model trained on day ``t`` would
silently learn from returns realised inside the test period.

Labels never cross symbols: the bar ``h`` rows further down a multi-symbol
frame may belong to the next symbol, and is never used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from alphagate.domain.bars import check_bars_frame


def symbol_end_positions(bars: pd.DataFrame) -> np.ndarray:
    """Return, for each row of ``bars``, the position of its symbol's last row.

    A canonical bars frame is sorted by ``(symbol, ts)``, so each symbol is one
    contiguous run of rows. Knowing where a row's run ends lets the labellers
    look ``h`` rows ahead with plain array indexing and still refuse to read
    into the next symbol: row ``i`` has a full horizon exactly when
    ``i + h <= end[i]``.

    Parameters
    ----------
    bars
        Canonical bars frame (sorted; its index is not re-checked here).

    Returns
    -------
    numpy.ndarray
        ``int64`` positions, one per row.
    """
    n = len(bars)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    codes, _ = pd.factorize(bars.index.get_level_values("symbol"))
    last_of_run = np.append(codes[1:] != codes[:-1], True)
    run_ends = np.flatnonzero(last_of_run)
    starts = np.insert(last_of_run[:-1], 0, True)
    run_id = np.cumsum(starts) - 1
    ends: np.ndarray = run_ends[run_id].astype(np.int64)
    return ends


def _check_horizons(horizons: Sequence[int]) -> tuple[int, ...]:
    """Return the horizons as a tuple, rejecting values that cannot be a look-ahead."""
    result = tuple(horizons)
    if not result:
        raise ValueError("horizons must name at least one horizon")
    for h in result:
        if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
            raise ValueError(f"horizons must be positive integers, got {h!r}")
    if len(set(result)) != len(result):
        raise ValueError(f"horizons must be distinct, got {result}")
    return tuple(int(h) for h in result)


def fixed_horizon_labels(bars: pd.DataFrame, horizons: Sequence[int] = (1, 5, 20)) -> pd.DataFrame:
    """Label each bar with its forward log return over each horizon, per symbol.

    Parameters
    ----------
    bars
        Canonical bars frame; may hold several symbols.
    horizons
        Look-aheads in bars (positive, distinct). A horizon counts *rows* of
        the symbol, not wall-clock time, so a gap in the data makes a label
        span a longer time; ``t1`` records the true span.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``bars``, with for each ``h`` the columns

        ``ret_{h}``
            ``log(close[t+h] / close[t])`` (float64).
        ``sign_{h}``
            ``1`` when ``ret_{h} > 0`` else ``0``, as nullable ``Int8``. A
            zero return is ``0`` (not an up move).
        ``t1_{h}``
            close time of bar ``t+h``: when the label becomes known.

        Rows whose symbol has fewer than ``h`` bars left have an unknown
        outcome: ``ret`` is NaN, ``sign`` is ``<NA>`` and ``t1`` is NaT. The
        sign uses a nullable integer rather than float NaN so a class label can
        never be averaged into ``0.5`` or compared as a float by accident, and
        so ``dropna`` removes exactly the rows without an outcome.
    """
    check_bars_frame(bars)
    hs = _check_horizons(horizons)
    n = len(bars)
    close = bars["close"].to_numpy(dtype=np.float64)
    ts = pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns")
    end = symbol_end_positions(bars)
    positions = np.arange(n, dtype=np.int64)

    columns: dict[str, pd.Series] = {}
    for h in hs:
        target = positions + h
        known = target <= end
        safe = np.where(known, target, positions)
        with np.errstate(divide="ignore", invalid="ignore"):
            ret = np.where(known, np.log(close[safe] / close), np.nan)
        sign = pd.array(np.where(ret > 0, 1, 0), dtype="Int8")
        sign[~known] = pd.NA
        columns[f"ret_{h}"] = pd.Series(ret, index=bars.index, dtype="float64")
        columns[f"sign_{h}"] = pd.Series(sign, index=bars.index)
        columns[f"t1_{h}"] = pd.Series(ts[safe], index=bars.index).where(known)
    return pd.DataFrame(columns, index=bars.index)
