"""One horizon's training samples: finite features, a known outcome, its span and its weight.

Features and labels are built separately (``alphagate.features``,
``alphagate.labels``), both indexed by ``(symbol, ts)``. Training needs them
joined into samples a model, a splitter and an evaluation can all read, and
the join has three rules that are easy to get wrong by hand:

* **Only finite rows.** Feature warm-ups leave NaN at the start of every
  symbol and the last ``h`` bars of every symbol have no outcome yet. Models
  refuse non-finite input (``alphagate.models.protocol``), and an unknown
  outcome must never be read as a class, so both kinds of row are dropped and
  *counted*: a count that jumps between runs reveals a broken feature or feed.
* **Every sample keeps its span.** ``t0`` (the bar's ``ts``) and ``t1`` (when
  the label is known) travel with the sample so that the purged splits can
  drop training rows whose outcome overlaps a test window.
* **Overlapping labels weigh less.** An ``h``-bar label started on each bar
  shares most of its return with its neighbours; weights are the average
  uniqueness of each label among its own symbol's kept labels
  (``alphagate.labels.weights``), rescaled to mean 1 over all samples. Symbols
  are separate observations, so overlap is counted within a symbol only.

Samples are ordered by time (``ts``, then symbol), the order a splitter and a
holdout cut expect; the index stays ``(symbol, ts)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphagate.labels.weights import average_uniqueness


@dataclass(frozen=True, eq=False)
class TrainingSet:
    """Aligned samples of one horizon, in time order.

    Every series shares the index of ``X`` (``(symbol, ts)``, sorted by ``ts``
    then ``symbol``). ``eq=False``: frames are compared explicitly, not by ``==``.

    Attributes
    ----------
    X
        Feature matrix, all values finite.
    y
        Outcome ``sign_{h}`` as int64 0/1.
    t0, t1
        When the features and when the label are known (tz as in the inputs).
    weights
        Average uniqueness per symbol, rescaled to mean 1.
    forward_return
        The log return ``ret_{h}`` the label is the sign of; the evaluation's
        strategy earns it.
    horizon
        ``h``, in bars.
    n_dropped_features, n_dropped_labels
        Rows dropped for a non-finite feature, and (of the rest) for an
        unknown outcome.
    """

    X: pd.DataFrame
    y: pd.Series
    t0: pd.Series
    t1: pd.Series
    weights: pd.Series
    forward_return: pd.Series
    horizon: int
    n_dropped_features: int = 0
    n_dropped_labels: int = 0

    def __len__(self) -> int:
        """Number of samples."""
        return len(self.X)

    def take(self, positions: npt.ArrayLike) -> TrainingSet:
        """The samples at integer ``positions`` (kept in the order given), weights untouched.

        Weights are not renormalised: a subset used for training keeps the
        relative weights computed on the whole set, which is all a fit reads.
        The drop counts describe how the whole set was built, so a subset has 0.
        """
        rows = np.asarray(positions, dtype=np.int64)
        return TrainingSet(
            X=self.X.iloc[rows],
            y=self.y.iloc[rows],
            t0=self.t0.iloc[rows],
            t1=self.t1.iloc[rows],
            weights=self.weights.iloc[rows],
            forward_return=self.forward_return.iloc[rows],
            horizon=self.horizon,
        )


def _check_index(frame: pd.DataFrame, what: str) -> None:
    """Refuse a frame not indexed by ``(symbol, ts)``: the join would pair wrong rows."""
    names = list(frame.index.names)
    if names != ["symbol", "ts"]:
        raise ValueError(f"{what} must be indexed by ('symbol', 'ts'), got {names}")
    if not frame.index.is_unique:
        raise ValueError(f"{what} has duplicate (symbol, ts) rows")


def _weights(t0: pd.Series, t1: pd.Series, bars: pd.Index) -> pd.Series:
    """Average uniqueness within each symbol, rescaled to mean 1 over all rows.

    Concurrency is counted on the symbol's bars as the labels frame lists them
    (plus every ``t1``, should the frame have been trimmed), so a label's span
    covers the bars it really spans, dropped rows included.
    """
    symbols = t0.index.get_level_values("symbol")
    bar_symbols = bars.get_level_values("symbol")
    bar_times = bars.get_level_values("ts")
    uniqueness = pd.Series(np.nan, index=t0.index, dtype="float64")
    for symbol in pd.unique(symbols):
        mine = np.asarray(symbols == symbol)
        start, end = t0[mine], t1[mine]
        own_bars = pd.Series(bar_times[np.asarray(bar_symbols == symbol)])
        timeline = pd.DatetimeIndex(pd.concat([own_bars, start, end]).unique()).sort_values()
        uniqueness[mine] = average_uniqueness(start, end, timeline).to_numpy()
    return (uniqueness / uniqueness.mean()).rename("weight")


def make_dataset(features: pd.DataFrame, labels: pd.DataFrame, horizon: int) -> TrainingSet:
    """Join features and the ``horizon`` labels into finite, time-ordered, weighted samples.

    Parameters
    ----------
    features
        Feature columns indexed by ``(symbol, ts)`` (``build_features`` output).
    labels
        ``fixed_horizon_labels`` output on the same kind of index, holding
        ``ret_{h}``, ``sign_{h}`` and ``t1_{h}``. Feature rows without a
        labels row count as unknown outcomes.
    horizon
        ``h``: which label columns to use.

    Returns
    -------
    TrainingSet
        The samples; ``n_dropped_features`` counts rows with any NaN or
        infinite feature, ``n_dropped_labels`` rows (among the finite ones)
        whose sign, return or ``t1`` is unknown.

    Raises
    ------
    ValueError
        Wrong index, missing label columns, or no sample left.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
    _check_index(features, "features")
    _check_index(labels, "labels")
    columns = [f"sign_{horizon}", f"t1_{horizon}", f"ret_{horizon}"]
    missing = [name for name in columns if name not in labels.columns]
    if missing:
        raise ValueError(f"labels lack the horizon-{horizon} column(s) {missing}")
    sign_col, t1_col, ret_col = columns
    aligned = labels[columns].reindex(features.index)
    values = features.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(values).all(axis=1)
    known = (
        aligned[sign_col].notna().to_numpy()
        & aligned[t1_col].notna().to_numpy()
        & np.isfinite(aligned[ret_col].to_numpy(dtype=np.float64, na_value=np.nan))
    )
    keep = finite & known
    if not keep.any():
        raise ValueError(
            f"no sample left for horizon {horizon}: every row lacks a feature or label"
        )
    kept_features = features.loc[keep]
    kept_labels = aligned.loc[keep]
    ts = kept_features.index.get_level_values("ts")
    symbols = kept_features.index.get_level_values("symbol")
    order = np.lexsort((pd.factorize(symbols, sort=True)[0], ts.asi8))
    X = kept_features.iloc[order].astype("float64")  # noqa: N806 - a design matrix
    kept_labels = kept_labels.iloc[order]
    index = X.index
    t0 = pd.Series(index.get_level_values("ts"), index=index, name="t0")
    t1 = kept_labels[t1_col].rename("t1")
    weights = _weights(t0, t1, labels.index)
    return TrainingSet(
        X=X,
        y=kept_labels[sign_col].astype("int64").rename("y"),
        t0=t0,
        t1=t1,
        weights=weights,
        forward_return=kept_labels[ret_col].astype("float64").rename("forward_return"),
        horizon=horizon,
        n_dropped_features=int((~finite).sum()),
        n_dropped_labels=int((finite & ~known).sum()),
    )
