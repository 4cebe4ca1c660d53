"""Tests for out-of-fold predictions.

A recording fake stands in for a model: it remembers the rows it was trained
on and predicts a constant identifying its own fold, so each assertion can say
which model scored which sample and what it had seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from alphagate.models.logistic import LogisticModel
from alphagate.models.oof import out_of_fold_predictions
from alphagate.training.splits import Split, purged_kfold, walk_forward

N = 60
T0 = pd.date_range("2024-01-01 21:00", periods=N, freq="D", tz="UTC")
T1 = pd.Series(T0 + pd.Timedelta(days=3))  # every label spans three bars


@dataclass
class RecordingModel:
    """Implements the ``Model`` protocol; records what it saw, predicts ``fold / 10``."""

    fold: int
    log: list[RecordingModel]
    name: str = "recording"
    trained_on: pd.Index = field(default_factory=lambda: pd.Index([]))
    weighted_on: pd.Index | None = None
    predicted_on: pd.Index = field(default_factory=lambda: pd.Index([]))
    feature_names: list[str] = field(default_factory=list)
    wrong_shape: bool = False

    def fit(
        self,
        X: pd.DataFrame,  # noqa: N803
        y: pd.Series,
        sample_weight: pd.Series | None = None,
        eval_set: tuple[pd.DataFrame, pd.Series] | None = None,
    ) -> Self:
        assert eval_set is None, "out-of-fold fitting must not early-stop on the test fold"
        assert y.index.equals(X.index)
        self.trained_on = X.index
        self.weighted_on = None if sample_weight is None else sample_weight.index
        self.feature_names = list(X.columns)
        self.log.append(self)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        self.predicted_on = X.index
        size = len(X) + 1 if self.wrong_shape else len(X)
        return np.full(size, self.fold / 10.0)

    def save(self, directory: Path) -> None:
        raise NotImplementedError("the fake is never persisted")

    @classmethod
    def load(cls, directory: Path) -> Self:
        raise NotImplementedError("the fake is never persisted")


def recording_factory(
    wrong_shape: bool = False,
) -> tuple[list[RecordingModel], Callable[[], RecordingModel]]:
    log: list[RecordingModel] = []

    def factory() -> RecordingModel:
        return RecordingModel(fold=len(log), log=log, wrong_shape=wrong_shape)

    return log, factory


def frame() -> tuple[pd.DataFrame, pd.Series]:
    """Sixty samples whose index labels (500..559) differ from their positions."""
    index = pd.Index(range(500, 500 + N), name="sample")
    features = pd.DataFrame({"a": np.arange(N, dtype=float), "b": 1.0}, index=index)
    return features, pd.Series(np.arange(N) % 2, index=index)


def test_every_test_sample_gets_exactly_one_prediction_from_its_own_folds_model() -> None:
    features, target = frame()
    splits = purged_kfold(T0, T1, n_splits=4, embargo=0.05)
    log, factory = recording_factory()
    oof = out_of_fold_predictions(factory, features, target, splits)

    assert len(log) == len(splits)
    assert oof.index.equals(features.index)
    assert oof.name == "oof_proba"
    assert not oof.isna().any()
    for fold, split in enumerate(splits):
        assert (oof.iloc[split.test] == fold / 10.0).all()
        assert log[fold].predicted_on.equals(features.index[split.test])


def test_no_fold_model_ever_trains_on_its_own_test_rows() -> None:
    features, target = frame()
    splits = purged_kfold(T0, T1, n_splits=5, embargo=0.05)
    weights = pd.Series(1.0, index=features.index)
    log, factory = recording_factory()
    out_of_fold_predictions(factory, features, target, splits, sample_weight=weights)

    for model, split in zip(log, splits, strict=True):
        test_labels = features.index[split.test]
        assert model.trained_on.intersection(test_labels).empty
        assert model.trained_on.equals(features.index[split.train])
        assert model.weighted_on is not None
        assert model.weighted_on.equals(model.trained_on)


def test_samples_in_no_test_fold_are_nan_and_the_rest_are_not() -> None:
    features, target = frame()
    splits = walk_forward(T0, T1, n_splits=3, test_size=10)
    _, factory = recording_factory()
    oof = out_of_fold_predictions(factory, features, target, splits)

    tested = np.concatenate([split.test for split in splits])
    assert oof.iloc[tested].notna().all()
    untested = np.setdiff1d(np.arange(N), tested)
    assert untested.size == N - 30
    assert oof.iloc[untested].isna().all()


def test_overlapping_test_sets_are_refused_before_any_model_is_fitted() -> None:
    features, target = frame()
    splits = [
        Split(train=np.arange(20, 60), test=np.arange(0, 20)),
        Split(train=np.arange(30, 60), test=np.arange(15, 30)),
    ]
    log, factory = recording_factory()
    with pytest.raises(ValueError, match="split 1 tests position 15 again"):
        out_of_fold_predictions(factory, features, target, splits)
    assert log == []


def test_a_split_that_trains_on_its_test_rows_or_points_outside_the_data_is_refused() -> None:
    features, target = frame()
    _, factory = recording_factory()
    leaking = [Split(train=np.arange(0, 40), test=np.arange(30, 60))]
    with pytest.raises(ValueError, match="trains on some of its own test rows"):
        out_of_fold_predictions(factory, features, target, leaking)
    outside = [Split(train=np.arange(0, 30), test=np.arange(30, 61))]
    with pytest.raises(ValueError, match=r"outside \[0, 60\)"):
        out_of_fold_predictions(factory, features, target, outside)
    with pytest.raises(ValueError, match="splits is empty"):
        out_of_fold_predictions(factory, features, target, [])


def test_a_model_returning_the_wrong_number_of_probabilities_is_refused() -> None:
    features, target = frame()
    _, factory = recording_factory(wrong_shape=True)
    splits = purged_kfold(T0, T1, n_splits=3, embargo=0.0)
    with pytest.raises(ValueError, match=r"split 0: recording returned shape \(21,\) for 20"):
        out_of_fold_predictions(factory, features, target, splits)


def test_out_of_fold_logistic_predictions_rank_a_learnable_target_well() -> None:
    rng = np.random.default_rng(0)
    n = 1500
    t0 = pd.date_range("2020-01-01 21:00", periods=n, freq="D", tz="UTC")
    t1 = pd.Series(t0 + pd.Timedelta(days=5))
    features = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x1", "x2", "x3"], index=t0)
    target = pd.Series(
        ((features["x1"] + 0.5 * features["x2"] + rng.normal(scale=0.5, size=n)) > 0).astype(int),
        index=t0,
    )
    oof = out_of_fold_predictions(
        LogisticModel, features, target, purged_kfold(t0, t1, n_splits=5, embargo=0.01)
    )
    assert not oof.isna().any()
    assert roc_auc_score(target, oof) > 0.85
