"""Tests for ``train_horizon`` on a synthetic problem a model can learn.

Features are drawn first and the forward return is built *from* them (plus
noise), the way a real edge would look: today's features say something about
the next ``h`` bars. Nothing in the features is computed from the future.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphagate.models.calibration import make_calibrator
from alphagate.training.dataset import TrainingSet, make_dataset
from alphagate.training.trainer import holdout_split, train_horizon

H = 3


def learnable(
    n_days: int = 250, symbols: tuple[str, ...] = ("AAA", "BBB"), seed: int = 7
) -> TrainingSet:
    """Features x0..x2 ~ N(0, 1); ret_h = 0.02 x0 - 0.01 x1 + N(0, 0.01); x2 is noise."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2022-01-03 21:00", periods=n_days, freq="D", tz="UTC")
    index = pd.MultiIndex.from_product([list(symbols), ts], names=["symbol", "ts"])
    x = rng.normal(size=(len(index), 3))
    features = pd.DataFrame(x, index=index, columns=["x0", "x1", "x2"])
    ret = 0.02 * x[:, 0] - 0.01 * x[:, 1] + rng.normal(0.0, 0.01, len(index))
    position = np.tile(np.arange(n_days), len(symbols))
    known = position + H < n_days
    ret[~known] = np.nan
    sign = pd.array(np.where(ret > 0, 1, 0), dtype="Int8")
    sign[~known] = pd.NA
    t1 = pd.Series(ts[np.minimum(position + H, n_days - 1)], index=index).where(known)
    labels = pd.DataFrame({f"ret_{H}": ret, f"sign_{H}": sign, f"t1_{H}": t1}, index=index)
    return make_dataset(features, labels, horizon=H)


@pytest.fixture(scope="module")
def data() -> TrainingSet:
    return learnable()


def test_logistic_model_learns_the_signal_on_the_holdout(data: TrainingSet) -> None:
    result = train_horizon(data, family="logreg", seed=0, params={"C": 1.0})
    assert result.evaluation_raw["roc_auc"] > 0.7
    assert result.evaluation["roc_auc"] > 0.7
    assert result.evaluation["n"] == len(result.holdout_positions)
    assert result.holdout_calibrated.between(0.0, 1.0).all()


def test_no_training_label_overlaps_the_holdout_window(data: TrainingSet) -> None:
    result = train_horizon(data, family="logreg", seed=0, calibration="sigmoid")
    train, holdout = result.train_positions, result.holdout_positions
    assert np.intersect1d(train, holdout).size == 0
    holdout_start = data.t0.iloc[holdout].min()
    assert (data.t1.iloc[train] < holdout_start).all()
    assert (data.t0.iloc[train] < holdout_start).all()
    # the holdout is the last 20 % of distinct timestamps, all symbols included
    times = data.t0.drop_duplicates().sort_values()
    n_hold = int(np.ceil(0.2 * len(times)))
    assert set(data.t0.iloc[holdout]) == set(times.iloc[-n_hold:])
    assert len(holdout) == n_hold * 2
    # rows before the holdout whose label ends inside it were purged, and only those
    before = np.flatnonzero((data.t0 < holdout_start).to_numpy())
    purged = np.setdiff1d(before, train)
    assert (data.t1.iloc[purged] >= holdout_start).all()
    assert purged.size == H * 2


def test_holdout_split_refuses_a_fraction_outside_the_open_unit_interval(data: TrainingSet) -> None:
    with pytest.raises(ValueError, match="holdout_fraction"):
        holdout_split(data.t0, data.t1, 1.0)


@pytest.mark.parametrize("kind", ["isotonic", "temperature"])
def test_calibrator_is_fitted_on_the_out_of_fold_predictions_only(
    data: TrainingSet, kind: str
) -> None:
    result = train_horizon(data, family="logreg", seed=0, calibration=kind)  # type: ignore[arg-type]
    train_index = data.X.index[result.train_positions]
    assert result.oof.index.equals(train_index)
    usable = result.oof.notna()
    assert usable.sum() == len(train_index)  # purged k-fold tests every training row once
    y_train = data.y.iloc[result.train_positions]
    refit = make_calibrator(kind).fit(  # type: ignore[arg-type]
        result.oof[usable].to_numpy(), y_train[usable].to_numpy()
    )
    assert result.calibrator.to_dict() == refit.to_dict()
    assert np.array_equal(
        result.holdout_calibrated.to_numpy(),
        refit.transform(result.holdout_raw.to_numpy()),
    )


def test_two_runs_with_the_same_seed_are_identical(data: TrainingSet) -> None:
    first = train_horizon(data, family="logreg", seed=3)
    second = train_horizon(data, family="logreg", seed=3)
    assert np.array_equal(first.oof.to_numpy(), second.oof.to_numpy())
    assert np.array_equal(first.holdout_raw.to_numpy(), second.holdout_raw.to_numpy())
    assert first.evaluation == second.evaluation


def test_a_small_lightgbm_run_trains_and_beats_chance() -> None:
    small = learnable(n_days=150)
    params = {"num_boost_round": 30, "num_leaves": 8, "min_data_in_leaf": 20}
    first = train_horizon(small, family="lightgbm", seed=1, params=params, n_splits=3)
    second = train_horizon(small, family="lightgbm", seed=1, params=params, n_splits=3)
    assert first.evaluation_raw["roc_auc"] > 0.6
    assert np.array_equal(first.holdout_raw.to_numpy(), second.holdout_raw.to_numpy())
