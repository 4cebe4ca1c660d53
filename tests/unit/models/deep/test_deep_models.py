"""The three deep families behind the Model protocol, at tiny sizes.

Each test fits on a few hundred rows with a handful of hidden units, so the
file runs in seconds on one core; what they check does not depend on size:
learning, valid Beta parameters, exact persistence, point in time, seeding.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from alphagate.features.pit import PointInTimeError, assert_point_in_time
from alphagate.models.deep.model import (
    CnnLstmModel,
    DeepModel,
    NBeatsModel,
    TftModel,
    make_deep_model,
    validation_split,
)
from alphagate.models.factory import load_model, make_model

FAMILIES = ("cnn_lstm", "tft", "nbeats")
TINY: dict[str, Any] = {
    "window": 4,
    "hidden_size": 8,
    "heads": 2,
    "dropout": 0.0,
    "epochs": 25,
    "patience": 25,
    "batch_size": 64,
    "learning_rate": 2e-2,
    "device": "cpu",
}


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """One intra-op thread: the suite shares its cores, and timings stay predictable."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def separable(n: int = 80, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Two symbols whose label is the sign of feature ``a`` on the same row."""
    rng = np.random.default_rng(seed)
    index = pd.MultiIndex.from_product(
        [["AAA", "BBB"], pd.date_range("2020-01-01", periods=n, tz="UTC")],
        names=["symbol", "ts"],
    )
    features = pd.DataFrame(rng.normal(size=(len(index), 3)), index=index, columns=["a", "b", "c"])
    target = pd.Series((features["a"] > 0).astype("int64"), index=index)
    return features, target


@pytest.fixture(scope="module")
def fitted(one_thread: None) -> dict[str, DeepModel]:
    """One model per family, fitted once on the separable data."""
    X, y = separable()  # noqa: N806
    models = {}
    for family in FAMILIES:
        models[family] = make_deep_model(family, seed=3, params=TINY).fit(X, y)  # type: ignore[arg-type]
    return models


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_overfits_a_tiny_separable_dataset(
    fitted: dict[str, DeepModel], family: str
) -> None:
    X, y = separable()  # noqa: N806
    p = fitted[family].predict_proba(X)
    assert p.shape == (len(X),)
    assert ((p > 0.5) == y.to_numpy()).mean() > 0.95


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("value", [1e6, -1e6, 0.0])
def test_beta_parameters_stay_finite_and_positive_under_extreme_inputs(
    fitted: dict[str, DeepModel], family: str, value: float
) -> None:
    X, _ = separable(20)  # noqa: N806
    extreme = pd.DataFrame(value, index=X.index, columns=X.columns)
    beta = fitted[family].predict_beta(extreme)
    values = beta[["alpha", "beta", "concentration"]].to_numpy()
    assert np.isfinite(values).all()
    assert (values > 0).all()
    assert ((beta["p_up"] > 0) & (beta["p_up"] < 1)).all()


@pytest.mark.parametrize("family", FAMILIES)
def test_save_and_load_give_identical_probabilities(
    fitted: dict[str, DeepModel], family: str, tmp_path: Path
) -> None:
    X, _ = separable(30, seed=9)  # noqa: N806
    fitted[family].save(tmp_path / family)
    loaded = load_model(tmp_path / family)
    assert loaded.name == family
    assert loaded.feature_names == ["a", "b", "c"]
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted[family].predict_proba(X))


@pytest.mark.parametrize("family", FAMILIES)
def test_a_prediction_does_not_change_when_later_rows_are_removed(
    fitted: dict[str, DeepModel], family: str
) -> None:
    X, _ = separable(40, seed=5)  # noqa: N806
    model = fitted[family]

    def build(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"p": model.predict_proba(frame)}, index=frame.index)

    assert_point_in_time(build, X, cuts=4)


def test_the_truncation_check_would_catch_a_window_that_reads_the_next_row(
    fitted: dict[str, DeepModel],
) -> None:
    X, _ = separable(40, seed=5)  # noqa: N806
    model = fitted["nbeats"]

    def peeking(frame: pd.DataFrame) -> pd.DataFrame:
        ahead = frame.groupby(level="symbol").shift(-1).fillna(0.0)
        return pd.DataFrame({"p": model.predict_proba(ahead)}, index=frame.index)

    with pytest.raises(PointInTimeError):
        assert_point_in_time(peeking, X, cuts=4)


def test_the_same_seed_gives_identical_probabilities_and_another_seed_does_not() -> None:
    X, y = separable(40)  # noqa: N806
    params = {**TINY, "epochs": 3, "dropout": 0.2}
    first = TftModel(seed=1, params=params).fit(X, y).predict_proba(X)
    second = TftModel(seed=1, params=params).fit(X, y).predict_proba(X)
    other = TftModel(seed=2, params=params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_row_order_does_not_change_a_rows_prediction(fitted: dict[str, DeepModel]) -> None:
    X, _ = separable(30, seed=4)  # noqa: N806
    shuffled = X.sample(frac=1.0, random_state=1)
    model = fitted["cnn_lstm"]
    by_row = pd.Series(model.predict_proba(shuffled), index=shuffled.index).loc[X.index]
    np.testing.assert_allclose(by_row.to_numpy(), model.predict_proba(X), atol=1e-12)


def test_cnn_lstm_attention_and_tft_importances_are_readable_distributions(
    fitted: dict[str, DeepModel],
) -> None:
    X, _ = separable(10)  # noqa: N806
    cnn_lstm, tft = fitted["cnn_lstm"], fitted["tft"]
    assert isinstance(cnn_lstm, CnnLstmModel) and isinstance(tft, TftModel)
    assert not hasattr(fitted["nbeats"], "feature_importances")  # training writes none for it
    weights = cnn_lstm.attention_weights(X)
    assert weights.shape == (len(X), TINY["window"])
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-9)
    first_row = X.index.get_loc(("AAA", X.index.get_level_values("ts")[0]))
    assert np.all(weights[first_row, :-1] == 0.0)  # padding draws no attention
    importances = tft.feature_importances()
    assert list(importances.index) == ["a", "b", "c"]
    assert importances.sum() == pytest.approx(1.0)
    assert importances.idxmax() == "a"  # the only informative feature


def test_nbeats_regime_head_predicts_three_regimes_when_switched_on() -> None:
    X, y = separable(40)  # noqa: N806
    X = X.rename(columns={"b": "adx_14", "c": "rvol_20"})  # noqa: N806
    model = NBeatsModel(seed=0, params={**TINY, "epochs": 2, "regime_head": True})
    probabilities = model.fit(X, y).regime_proba(X)
    assert list(probabilities.columns) == ["trending", "ranging", "high_volatility"]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-9)
    with pytest.raises(ValueError, match="nbeats option"):
        TftModel(params={**TINY, "regime_head": True}).fit(X, y)


def test_eval_set_drives_early_stopping_and_the_best_epoch_is_restored() -> None:
    X, y = separable(60)  # noqa: N806
    train_x, valid_x = X.iloc[:60], X.iloc[60:]
    model = NBeatsModel(seed=0, params={**TINY, "epochs": 6, "patience": 6})
    model.fit(train_x, y.iloc[:60], eval_set=(valid_x, y.iloc[60:]))
    losses = [record.val_loss for record in model.history]
    assert len(losses) == 6
    p = np.clip(model.predict_proba(valid_x), 1e-7, 1 - 1e-7)
    target = y.iloc[60:].to_numpy()
    restored = -np.mean(target * np.log(p) + (1 - target) * np.log1p(-p))
    assert restored == pytest.approx(min(losses), abs=1e-4)


def test_validation_split_purges_the_gap_before_the_latest_timestamps() -> None:
    times = pd.Index(np.repeat(np.arange(10), 2))
    train, valid = validation_split(times, 0.2, purge=3)
    assert set(times[valid]) == {8, 9}
    assert set(times[train]) == {0, 1, 2, 3, 4}
    with pytest.raises(ValueError, match="too few"):
        validation_split(times, 0.2, purge=8)


def test_factory_builds_deep_families_and_suggests_a_misspelt_parameter() -> None:
    model = make_model("nbeats", seed=4, params={"hidden_size": 8, "heads": 2})
    assert model.name == "nbeats"
    with pytest.raises(ValueError, match="did you mean 'hidden_size'"):
        make_model("tft", seed=0, params={"hiden_size": 8})
    with pytest.raises(ValueError, match="must divide hidden_size"):
        make_model("tft", seed=0, params={"hidden_size": 9, "heads": 2})
    with pytest.raises(ValueError, match="did you mean 'nbeats'"):
        make_model("nbeat", seed=0)  # type: ignore[arg-type]


def test_training_threads_are_set_for_the_fit_only_and_do_not_change_the_result() -> None:
    X, y = separable(40)  # noqa: N806
    torch.set_num_threads(2)
    try:
        one = NBeatsModel(seed=2, params={**TINY, "epochs": 2, "threads": 1}).fit(X, y)
        assert torch.get_num_threads() == 2  # the caller's setting comes back
        two = NBeatsModel(seed=2, params={**TINY, "epochs": 2, "threads": 2}).fit(X, y)
    finally:
        torch.set_num_threads(1)
    np.testing.assert_allclose(one.predict_proba(X), two.predict_proba(X), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="threads must be >= 0"):
        NBeatsModel(params={"threads": -1})
