"""The search with several workers on one shared Optuna storage (SQLite and PostgreSQL).

Each worker is a spawned process (``parallel.map``), so what the tests check
went through the storage and nothing else: every trial asked for is stored
once, the result is the study's best, and a failing worker is named.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from sqlalchemy.engine import make_url

from alphagate import parallel
from alphagate.errors import AlphagateError
from alphagate.training.dataset import TrainingSet, make_dataset
from alphagate.training.search import search_hyperparameters, serial_map, trial_shares

H = 2
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


@pytest.fixture(scope="module")
def data() -> TrainingSet:
    """One symbol, 160 days; the 2-bar return is built from feature x0 plus noise."""
    rng = np.random.default_rng(5)
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


@pytest.fixture
def storage(database_url: str) -> str:
    """An empty Optuna storage on each backend (SQLite needs its folder to exist)."""
    database = make_url(database_url).database
    if database_url.startswith("sqlite") and database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    return database_url


def test_trials_are_cut_into_near_equal_shares_each_seeded_at_its_first_trial() -> None:
    shares = trial_shares(7, 3, first_seed=100)
    assert [s.n_trials for s in shares] == [3, 2, 2]
    assert [s.sampler_seed for s in shares] == [100, 103, 105]
    assert [s.n_trials for s in trial_shares(2, 4, 0)] == [1, 1]  # never an empty share
    assert trial_shares(5, 1, 9)[0].sampler_seed == 9  # one worker: the serial search's seed


def test_two_worker_processes_store_each_trial_once_and_return_the_study_s_best(
    data: TrainingSet, storage: str
) -> None:
    heard: list[tuple[int, int]] = []
    task_map = functools.partial(parallel.map, workers=2)
    result = search_hyperparameters(
        data, family="logreg", n_trials=6, seed=3, study_name="shared", storage_url=storage,
        n_splits=3, workers=2, task_map=task_map, on_trial=lambda d, t: heard.append((d, t)),
    )  # fmt: skip
    study = optuna.load_study(study_name="shared", storage=storage)
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 6 and result.n_trials == 6
    assert sorted(t.number for t in trials) == list(range(6))
    assert all(t.state in FINISHED for t in trials)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = min(complete, key=lambda t: t.value or np.inf)
    assert result.best_params == best.params == study.best_params
    assert result.best_score == best.value == study.best_value
    assert heard[-1] == (6, 6)
    # Each worker sampled its own start-up trials: no two trials share their C.
    assert len({t.params["C"] for t in trials}) == 6


def test_a_resumed_parallel_search_adds_exactly_its_trials(
    data: TrainingSet, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    common = {"family": "logreg", "seed": 0, "study_name": "s", "storage_url": url, "n_splits": 2}
    search_hyperparameters(data, n_trials=3, **common)  # type: ignore[arg-type]
    again = search_hyperparameters(
        data,
        n_trials=4,
        workers=2,
        task_map=serial_map,
        **common,  # type: ignore[arg-type]
    )
    assert again.n_trials == 7
    c_values = [t.params["C"] for t in optuna.load_study(study_name="s", storage=url).trials]
    assert len(set(c_values)) == 7  # the resumed workers replayed none of the first draws


def test_a_failing_worker_is_named_and_the_finished_trials_stay_stored(
    data: TrainingSet, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    with pytest.raises(AlphagateError, match=r"worker 0: .*worker 1: .*resumes the study"):
        search_hyperparameters(
            data, family="logreg", n_trials=4, seed=0, study_name="bad", storage_url=url,
            n_splits=2, workers=2, task_map=serial_map, fixed_params={"no_such_param": 1},
        )  # fmt: skip
    states = [t.state for t in optuna.load_study(study_name="bad", storage=url).trials]
    assert states == [optuna.trial.TrialState.FAIL] * 2  # each share stopped at its first


def test_several_workers_need_a_storage_they_can_share(data: TrainingSet) -> None:
    with pytest.raises(ValueError, match="in-memory study cannot be shared"):
        search_hyperparameters(data, family="logreg", n_trials=2, seed=0, study_name="m", workers=2)
