"""Tests for the Optuna search: storage, resuming, determinism, the objective it minimises."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from alphagate.models.calibration_metrics import log_loss
from alphagate.models.factory import make_model
from alphagate.training.dataset import TrainingSet, make_dataset
from alphagate.training.search import search_hyperparameters
from alphagate.training.splits import purged_kfold

H = 2


@pytest.fixture(scope="module")
def data() -> TrainingSet:
    """One symbol, 160 days; the 2-bar return is built from feature x0 plus noise."""
    rng = np.random.default_rng(11)
    n = 160
    ts = pd.date_range("2023-01-02 21:00", periods=n, freq="D", tz="UTC")
    index = pd.MultiIndex.from_product([["AAA"], ts], names=["symbol", "ts"])
    x = rng.normal(size=(n, 2))
    ret = 0.01 * x[:, 0] + rng.normal(0.0, 0.01, n)
    known = np.arange(n) + H < n
    ret[~known] = np.nan
    sign = pd.array(np.where(ret > 0, 1, 0), dtype="Int8")
    sign[~known] = pd.NA
    t1 = pd.Series(ts[np.minimum(np.arange(n) + H, n - 1)], index=index).where(known)
    labels = pd.DataFrame({f"ret_{H}": ret, f"sign_{H}": sign, f"t1_{H}": t1}, index=index)
    return make_dataset(pd.DataFrame(x, index=index, columns=["x0", "x1"]), labels, horizon=H)


def _storage(directory: Path) -> str:
    return f"sqlite:///{directory / 'optuna.db'}"


def test_a_study_in_sqlite_finds_c_and_resumes_to_ten_trials(
    data: TrainingSet, tmp_path: Path
) -> None:
    url = _storage(tmp_path)
    first = search_hyperparameters(
        data, family="logreg", n_trials=5, seed=0, storage_url=url, study_name="s", n_splits=3
    )
    assert set(first.best_params) == {"C"}
    assert 1e-3 <= first.best_params["C"] <= 1e2
    assert first.n_trials == 5
    assert first.study_name == "s"
    second = search_hyperparameters(
        data, family="logreg", n_trials=5, seed=0, storage_url=url, study_name="s", n_splits=3
    )
    assert second.n_trials == 10
    assert second.best_score <= first.best_score
    study = optuna.load_study(study_name="s", storage=url)
    c_values = [trial.params["C"] for trial in study.trials]
    assert len(set(c_values)) == 10  # the resumed half did not replay the first half


def test_the_same_seed_on_fresh_storage_gives_the_same_best(
    data: TrainingSet, tmp_path: Path
) -> None:
    results = []
    for name in ("a", "b"):
        directory = tmp_path / name
        directory.mkdir()
        results.append(
            search_hyperparameters(
                data,
                family="logreg",
                n_trials=5,
                seed=42,
                storage_url=_storage(directory),
                study_name="same",
                n_splits=3,
            )
        )
    assert results[0] == results[1]


def test_best_score_is_the_mean_purged_cv_log_loss_of_the_best_params(data: TrainingSet) -> None:
    result = search_hyperparameters(
        data, family="logreg", n_trials=3, seed=1, study_name="memory", n_splits=3
    )
    losses = []
    for split in purged_kfold(data.t0, data.t1, n_splits=3, embargo=0.01):
        model = make_model("logreg", seed=1, params=result.best_params)
        model.fit(
            data.X.iloc[split.train],
            data.y.iloc[split.train],
            sample_weight=data.weights.iloc[split.train],
        )
        p = model.predict_proba(data.X.iloc[split.test])
        losses.append(log_loss(p, data.y.iloc[split.test].to_numpy()))
    assert result.best_score == pytest.approx(float(np.mean(losses)))


def test_an_unknown_family_is_refused(data: TrainingSet) -> None:
    with pytest.raises(ValueError, match="no search space"):
        search_hyperparameters(
            data,
            family="forest",  # type: ignore[arg-type]
            n_trials=1,
            seed=0,
            study_name="x",
        )


def test_every_complete_trial_reported_one_running_loss_per_fold(
    data: TrainingSet, tmp_path: Path
) -> None:
    url = _storage(tmp_path)
    search_hyperparameters(
        data, family="logreg", n_trials=4, seed=5, storage_url=url, study_name="r", n_splits=3
    )
    trials = optuna.load_study(study_name="r", storage=url).trials
    for trial in trials:
        assert sorted(trial.intermediate_values) == [0, 1, 2]
        assert trial.value == pytest.approx(trial.intermediate_values[2])


@pytest.mark.parametrize(
    ("family", "names"),
    [
        (
            "lightgbm",
            {"num_leaves", "learning_rate", "min_data_in_leaf", "feature_fraction", "lambda_l2"},
        ),
        ("catboost", {"depth", "learning_rate", "l2_leaf_reg"}),
    ],
)
def test_booster_search_spaces_are_accepted_by_their_models(
    data: TrainingSet, family: str, names: set[str]
) -> None:
    result = search_hyperparameters(
        data,
        family=family,  # type: ignore[arg-type]
        n_trials=1,
        seed=0,
        study_name=family,
        n_splits=2,
    )
    assert set(result.best_params) == names
