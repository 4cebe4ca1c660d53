"""Tests for the model families, their shared input checks, persistence and the factory.

The synthetic problem is learnable by construction (``y = 1[x1 + 0.5 x2 +
noise > 0]``, with two pure-noise columns), so a family that cannot beat the
accuracy and AUC bars below is broken, not unlucky.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from alphagate.models.factory import Family, load_model, make_model
from alphagate.models.gbm import CatBoostModel, LightGBMModel
from alphagate.models.logistic import LogisticModel
from alphagate.models.protocol import Model

FAMILIES: tuple[Family, ...] = ("logreg", "lightgbm", "catboost")
SMALL: dict[str, dict[str, int]] = {
    "logreg": {},
    "lightgbm": {"num_boost_round": 80},
    "catboost": {"iterations": 80},
}
SAVED_FILES = {
    "logreg": {"model.json"},
    "lightgbm": {"model.json", "model.txt"},
    "catboost": {"model.cbm", "model.json"},
}
N_TRAIN = 2000


def learnable(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Features x1..x4 and ``y = 1[x1 + 0.5 x2 + noise > 0]``; x3, x4 are noise."""
    rng = np.random.default_rng(seed)
    features = pd.DataFrame(
        rng.normal(size=(n, 4)),
        columns=["x1", "x2", "x3", "x4"],
        index=pd.RangeIndex(1000, 1000 + n, name="sample"),
    )
    signal = features["x1"] + 0.5 * features["x2"] + rng.normal(scale=0.5, size=n)
    return features, (signal > 0).astype(np.int64).rename("sign")


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    return learnable()


def fitted(family: Family, data: tuple[pd.DataFrame, pd.Series], seed: int = 0) -> Model:
    features, target = data
    model = make_model(family, seed=seed, params=SMALL[family])
    return model.fit(features.iloc[:N_TRAIN], target.iloc[:N_TRAIN])


def held_out(data: tuple[pd.DataFrame, pd.Series]) -> tuple[pd.DataFrame, pd.Series]:
    features, target = data
    return features.iloc[N_TRAIN:], target.iloc[N_TRAIN:]


# --- learning, determinism, persistence -------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_beats_accuracy_0_8_and_auc_0_85_out_of_sample(
    family: Family, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    model = fitted(family, data)
    test_x, test_y = held_out(data)
    proba = model.predict_proba(test_x)
    assert proba.shape == (len(test_x),)
    assert proba.dtype == np.float64
    assert ((proba >= 0) & (proba <= 1)).all()
    assert accuracy_score(test_y, proba > 0.5) > 0.8
    assert roc_auc_score(test_y, proba) > 0.85


@pytest.mark.parametrize("family", FAMILIES)
def test_two_fits_with_the_same_seed_and_data_predict_identically(
    family: Family, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    test_x, _ = held_out(data)
    first = fitted(family, data, seed=7).predict_proba(test_x)
    second = fitted(family, data, seed=7).predict_proba(test_x)
    assert np.array_equal(first, second)


@pytest.mark.parametrize("family", ["lightgbm", "catboost"])
def test_boosters_that_subsample_predict_differently_under_another_seed(
    family: Family, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    test_x, _ = held_out(data)
    first = fitted(family, data, seed=0).predict_proba(test_x)
    second = fitted(family, data, seed=1).predict_proba(test_x)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_saved_and_loaded_model_predicts_bit_for_bit_and_no_file_is_a_pickle(
    family: Family, data: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    model = fitted(family, data)
    test_x, _ = held_out(data)
    directory = tmp_path / "nested" / family
    model.save(directory)

    assert {path.name for path in directory.iterdir()} == SAVED_FILES[family]
    for path in directory.iterdir():
        assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"
    sidecar = json.loads((directory / "model.json").read_text())
    assert sidecar["family"] == family
    assert sidecar["feature_names"] == ["x1", "x2", "x3", "x4"]

    loaded = load_model(directory)
    assert type(loaded) is type(model)
    assert loaded.feature_names == model.feature_names
    assert np.array_equal(loaded.predict_proba(test_x), model.predict_proba(test_x))
    same_class = type(model).load(directory)
    assert np.array_equal(same_class.predict_proba(test_x), model.predict_proba(test_x))


@pytest.mark.parametrize("family", FAMILIES)
def test_feature_importances_rank_x1_first_and_survive_a_save(
    family: Family, data: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    model = fitted(family, data)
    assert isinstance(model, LogisticModel | LightGBMModel | CatBoostModel)
    importances = model.feature_importances()
    assert list(importances.index) == ["x1", "x2", "x3", "x4"]
    assert importances.idxmax() == "x1"
    assert importances["x2"] > max(importances["x3"], importances["x4"])
    model.save(tmp_path)
    loaded = type(model).load(tmp_path)
    pd.testing.assert_series_equal(loaded.feature_importances(), importances)


def test_logistic_scaler_learns_the_training_rows_means_not_those_of_all_data() -> None:
    a, a_y = learnable(500, seed=1)
    b, _ = learnable(500, seed=2)
    b = b + 5.0  # a different regime: pooling A and B would move the means by about 2.5
    model = LogisticModel().fit(a, a_y)
    np.testing.assert_allclose(model.scaler_mean, a.mean().to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.scaler_scale, a.std(ddof=0).to_numpy(), rtol=1e-12)
    pooled = pd.concat([a, b]).mean().to_numpy()
    assert np.abs(model.scaler_mean - pooled).min() > 1.0


def test_logistic_probabilities_match_a_scikit_learn_scaler_and_regression_pipeline(
    data: tuple[pd.DataFrame, pd.Series],
) -> None:
    features, target = data
    model = LogisticModel(C=0.3).fit(features.iloc[:N_TRAIN], target.iloc[:N_TRAIN])
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=1000))
    pipeline.fit(features.iloc[:N_TRAIN].to_numpy(), target.iloc[:N_TRAIN].to_numpy())
    test_x, _ = held_out(data)
    expected = pipeline.predict_proba(test_x.to_numpy())[:, 1]
    np.testing.assert_allclose(model.predict_proba(test_x), expected, rtol=1e-10, atol=1e-12)


def test_sample_weights_change_the_logistic_fit() -> None:
    features, target = learnable(400, seed=3)
    weights = pd.Series(np.where(target == 1, 5.0, 1.0), index=features.index)
    plain = LogisticModel().fit(features, target).predict_proba(features)
    weighted = LogisticModel().fit(features, target, sample_weight=weights).predict_proba(features)
    assert weighted.mean() > plain.mean() + 0.05  # up-weighting class 1 raises P(1)


# --- early stopping --------------------------------------------------------------------


def test_lightgbm_stops_early_on_the_eval_set_and_saves_only_the_kept_rounds(
    data: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    features, target = data
    model = LightGBMModel(
        params={"learning_rate": 0.3}, num_boost_round=400, early_stopping_rounds=10
    )
    model.fit(
        features.iloc[:1500],
        target.iloc[:1500],
        eval_set=(features.iloc[1500:N_TRAIN], target.iloc[1500:N_TRAIN]),
    )
    assert 1 <= model.best_iteration < 400
    model.save(tmp_path)
    loaded = LightGBMModel.load(tmp_path)
    assert loaded.best_iteration == model.best_iteration
    test_x, _ = held_out(data)
    assert np.array_equal(loaded.predict_proba(test_x), model.predict_proba(test_x))


def test_lightgbm_without_early_stopping_trains_every_round_despite_an_eval_set(
    data: tuple[pd.DataFrame, pd.Series],
) -> None:
    features, target = data
    model = LightGBMModel(num_boost_round=30, early_stopping_rounds=None)
    model.fit(
        features.iloc[:1500],
        target.iloc[:1500],
        eval_set=(features.iloc[1500:N_TRAIN], target.iloc[1500:N_TRAIN]),
    )
    assert model.best_iteration == 30


def test_catboost_stops_early_on_the_eval_set_and_keeps_the_best_trees(
    data: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    features, target = data
    model = CatBoostModel(params={"learning_rate": 0.5}, iterations=300, early_stopping_rounds=10)
    model.fit(
        features.iloc[:1500],
        target.iloc[:1500],
        eval_set=(features.iloc[1500:N_TRAIN], target.iloc[1500:N_TRAIN]),
    )
    assert 1 <= model.tree_count < 300
    model.save(tmp_path)
    assert CatBoostModel.load(tmp_path).tree_count == model.tree_count


# --- input checks ------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_feature_is_refused_at_fit_naming_its_column_and_row(
    family: Family, bad: float
) -> None:
    features, target = learnable(200)
    features.loc[1007, "x3"] = bad
    features.loc[1003, "x4"] = np.nan  # a later column: x3 is reported first
    with pytest.raises(ValueError, match=r"column 'x3'.*row index 1007 \(position 7\)"):
        make_model(family, seed=0, params=SMALL[family]).fit(features, target)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_non_finite_feature_is_refused_at_predict(
    family: Family, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    model = fitted(family, data)
    test_x, _ = held_out(data)
    test_x = test_x.copy()
    test_x.iloc[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"column 'x2'.*position 3"):
        model.predict_proba(test_x)


def test_a_missing_nullable_feature_value_is_refused_like_nan() -> None:
    features, target = learnable(100)
    features["x5"] = pd.array([1] * 99 + [None], dtype="Int64")
    with pytest.raises(ValueError, match=r"column 'x5'.*position 99"):
        LogisticModel().fit(features, target)


@pytest.mark.parametrize("family", FAMILIES)
def test_predict_refuses_a_frame_missing_a_training_column_and_names_it(
    family: Family, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    model = fitted(family, data)
    test_x, _ = held_out(data)
    with pytest.raises(ValueError, match=r"missing columns \['x2'\]"):
        model.predict_proba(test_x.drop(columns="x2"))


def test_predict_refuses_extra_and_reordered_columns(data: tuple[pd.DataFrame, pd.Series]) -> None:
    model = fitted("logreg", data)
    test_x, _ = held_out(data)
    with pytest.raises(ValueError, match=r"unexpected columns \['x9'\]"):
        model.predict_proba(test_x.assign(x9=1.0))
    with pytest.raises(ValueError, match=r"different order: position 0 is 'x2'"):
        model.predict_proba(test_x[["x2", "x1", "x3", "x4"]])


@pytest.mark.parametrize("family", FAMILIES)
def test_a_target_other_than_0_and_1_is_refused(family: Family) -> None:
    features, target = learnable(200)
    target = target.copy()
    target.iloc[5] = 2
    with pytest.raises(ValueError, match=r"binary.*2\.0.*position 5"):
        make_model(family, seed=0, params=SMALL[family]).fit(features, target)


def test_a_target_with_a_missing_outcome_or_one_class_is_refused() -> None:
    features, target = learnable(200)
    nullable = target.astype("Int8")
    nullable.iloc[4] = None  # becomes <NA> in the nullable dtype
    with pytest.raises(ValueError, match=r"1 missing value.*position 4"):
        LogisticModel().fit(features, nullable)
    with pytest.raises(ValueError, match="only class 1"):
        LogisticModel().fit(features, pd.Series(1, index=features.index))


def test_misaligned_or_short_targets_and_weights_are_refused() -> None:
    features, target = learnable(200)
    with pytest.raises(ValueError, match="199 rows but the features have 200"):
        LogisticModel().fit(features, target.iloc[1:])
    with pytest.raises(ValueError, match="index differs"):
        LogisticModel().fit(features, target.sort_index(ascending=False))
    negative = pd.Series(1.0, index=features.index)
    negative.iloc[2] = -1.0
    with pytest.raises(ValueError, match=r"sample_weight must be finite and >= 0.*position 2"):
        LogisticModel().fit(features, target, sample_weight=negative)


def test_an_eval_set_with_other_columns_is_refused() -> None:
    features, target = learnable(200)
    with pytest.raises(ValueError, match=r"eval_set features.*missing columns \['x4'\]"):
        LightGBMModel(num_boost_round=5).fit(
            features, target, eval_set=(features.drop(columns="x4"), target)
        )


@pytest.mark.parametrize("family", FAMILIES)
def test_an_unfitted_model_refuses_to_predict_or_save(family: Family, tmp_path: Path) -> None:
    model = make_model(family, seed=0)
    features, _ = learnable(10)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict_proba(features)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.save(tmp_path)
    assert not (tmp_path / "model.json").exists()


def test_booster_params_that_would_undo_determinism_are_refused() -> None:
    with pytest.raises(ValueError, match=r"'n_jobs'.*fixed for reproducibility"):
        LightGBMModel(params={"n_jobs": 4})
    with pytest.raises(ValueError, match=r"'bagging_seed'.*seed="):
        LightGBMModel(params={"bagging_seed": 4})
    with pytest.raises(ValueError, match=r"'num_iterations'.*num_boost_round="):
        LightGBMModel(params={"num_iterations": 4})
    with pytest.raises(ValueError, match=r"'thread_count'.*fixed for reproducibility"):
        CatBoostModel(params={"thread_count": 8})
    with pytest.raises(ValueError, match="plain JSON"):
        LightGBMModel(params={"num_leaves": object()})


def test_lightgbm_refuses_a_feature_name_its_model_file_cannot_hold() -> None:
    features, target = learnable(100)
    with pytest.raises(ValueError, match="cannot store feature name 'x1:lag'"):
        LightGBMModel(num_boost_round=3).fit(features.rename(columns={"x1": "x1:lag"}), target)


# --- factory -----------------------------------------------------------------------------


def test_make_model_routes_structural_arguments_and_passes_the_rest_to_the_library() -> None:
    booster = make_model("lightgbm", seed=3, params={"num_boost_round": 7, "num_leaves": 4})
    assert isinstance(booster, LightGBMModel)
    assert (booster.num_boost_round, booster.seed, booster.params) == (7, 3, {"num_leaves": 4})
    assert booster.training_params()["num_leaves"] == 4
    assert booster.training_params()["bagging_seed"] == 3
    catboost = make_model("catboost", seed=5, params={"iterations": 9, "depth": 3})
    assert isinstance(catboost, CatBoostModel)
    assert (catboost.iterations, catboost.seed, catboost.params) == (9, 5, {"depth": 3})
    logistic = make_model("logreg", seed=2, params={"C": 0.5})
    assert isinstance(logistic, LogisticModel)
    assert (logistic.C, logistic.seed) == (0.5, 2)


def test_make_model_suggests_the_closest_family_or_parameter() -> None:
    with pytest.raises(ValueError, match="did you mean 'lightgbm'"):
        make_model("lightgbn", seed=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="did you mean 'C'"):
        make_model("logreg", seed=0, params={"c": 1.0})


def test_load_model_refuses_an_unknown_family_in_the_sidecar_with_a_suggestion(
    data: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    fitted("logreg", data).save(tmp_path)
    sidecar = tmp_path / "model.json"
    body = json.loads(sidecar.read_text())
    body["family"] = "catbost"
    sidecar.write_text(json.dumps(body))
    with pytest.raises(ValueError, match="did you mean 'catboost'"):
        load_model(tmp_path)


def test_loading_with_the_wrong_class_or_from_an_empty_directory_is_refused(
    data: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    fitted("lightgbm", data).save(tmp_path / "gbm")
    with pytest.raises(ValueError, match="holds a 'lightgbm' model, not a 'logreg' one"):
        LogisticModel.load(tmp_path / "gbm")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="not a saved model directory"):
        load_model(tmp_path / "empty")
