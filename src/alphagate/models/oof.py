"""Out-of-fold predictions: every sample scored by a model that never trained on it.

A calibrator fitted on in-sample predictions learns how over-confident a
model is on data it has memorised, which says nothing about new data. The
honest training set for a calibrator (and for any stacked model) is the
out-of-fold prediction: for each split, a fresh model is fitted on the
split's training rows and scores only its test rows. With purged, embargoed
splits (``alphagate.training.splits``) those test rows share no label span
with the rows that trained the model. This function is therefore the only
way calibration should get its data.

No ``eval_set`` is passed to the models: early stopping on the test fold would
choose the number of rounds by looking at the very rows being scored.

The splits are taken structurally (anything with ``train`` and ``test``
position arrays, as ``alphagate.training.splits.Split`` has) because the
import contract keeps ``models`` and ``training`` independent of each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphagate.models.protocol import Model


class FoldPositions(Protocol):
    """One train/test partition as integer positions (``iloc``) into the samples."""

    @property
    def train(self) -> npt.NDArray[np.int64]:
        """Positions of the training samples."""
        ...

    @property
    def test(self) -> npt.NDArray[np.int64]:
        """Positions of the test samples."""
        ...


def _positions(values: npt.ArrayLike, n: int, what: str) -> npt.NDArray[np.int64]:
    """Validate integer positions into ``n`` samples: in range, no repeats."""
    array = np.asarray(values)
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{what} must be a 1-d array of integer positions")
    positions = array.astype(np.int64)
    if positions.size and (positions.min() < 0 or positions.max() >= n):
        raise ValueError(f"{what} has positions outside [0, {n})")
    if np.unique(positions).size != positions.size:
        raise ValueError(f"{what} repeats a position")
    return positions


def out_of_fold_predictions(
    model_factory: Callable[[], Model],
    X: pd.DataFrame,  # noqa: N803
    y: pd.Series,
    splits: Sequence[FoldPositions],
    sample_weight: pd.Series | None = None,
) -> pd.Series:
    """Fit a fresh model per split on its training rows and predict its test rows.

    Parameters
    ----------
    model_factory
        Called once per split; must return a new, unfitted model each time so
        no fold's fit can leak into another's.
    X, y
        Features and 0/1 target, aligned (the models check both).
    splits
        Train/test positions, e.g. from ``purged_kfold``. Test sets must be
        disjoint across splits, and each split's train and test disjoint.
    sample_weight
        Optional weights, aligned with ``X``; each fold trains with its rows'.

    Returns
    -------
    pandas.Series
        float64, indexed like ``X``, named ``"oof_proba"``: P(class = 1) from
        the one model whose test set held the sample; NaN where a sample was
        in no test set (e.g. before the first walk-forward block).

    Raises
    ------
    ValueError
        No splits; a position out of range or repeated; overlapping test
        sets; a split that trains on its own test rows; a model returning
        the wrong number of probabilities or values outside [0, 1].
    """
    if not isinstance(X, pd.DataFrame):
        raise ValueError(f"X must be a pandas DataFrame, got {type(X).__name__}")
    if len(y) != len(X):
        raise ValueError(f"y has {len(y)} rows but X has {len(X)}")
    if sample_weight is not None and len(sample_weight) != len(X):
        raise ValueError(f"sample_weight has {len(sample_weight)} rows but X has {len(X)}")
    if not splits:
        raise ValueError("splits is empty: nothing to predict out of fold")
    n = len(X)
    predicted = np.full(n, np.nan, dtype=np.float64)
    tested = np.zeros(n, dtype=bool)
    folds = []
    for number, split in enumerate(splits):
        train = _positions(split.train, n, f"split {number} train")
        test = _positions(split.test, n, f"split {number} test")
        if train.size == 0 or test.size == 0:
            raise ValueError(f"split {number} has an empty train or test set")
        if np.intersect1d(train, test).size:
            raise ValueError(f"split {number} trains on some of its own test rows")
        if tested[test].any():
            first = int(test[tested[test]][0])
            raise ValueError(
                f"split {number} tests position {first} again: test sets must be disjoint "
                f"so each sample gets exactly one out-of-fold prediction"
            )
        tested[test] = True
        folds.append((train, test))
    for number, (train, test) in enumerate(folds):
        model = model_factory()
        weight = None if sample_weight is None else sample_weight.iloc[train]
        model.fit(X.iloc[train], y.iloc[train], sample_weight=weight)
        probabilities = np.asarray(model.predict_proba(X.iloc[test]), dtype=np.float64)
        if probabilities.shape != (test.size,):
            raise ValueError(
                f"split {number}: {model.name} returned shape {probabilities.shape} for "
                f"{test.size} test rows"
            )
        if not ((probabilities >= 0.0) & (probabilities <= 1.0)).all():
            raise ValueError(f"split {number}: {model.name} returned values outside [0, 1]")
        predicted[test] = probabilities
    return pd.Series(predicted, index=X.index, name="oof_proba")
