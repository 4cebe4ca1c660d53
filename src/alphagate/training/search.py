"""Hyperparameter search with Optuna, scored by purged cross-validated log loss.

Why these choices:

* **Purged k-fold, not a random split.** A random validation split on
  overlapping labels scores a model on returns it trained on; the search
  would then prefer whatever memorises best. The folds are those of
  ``alphagate.training.splits.purged_kfold``.
* **Log loss, minimised.** It is a proper scoring rule on the probability
  itself, which is what position sizing reads; accuracy is flat in most of
  the search space and would give the sampler nothing to follow.
* **TPE seeded, median pruning by fold.** The sampler is seeded so that the
  same data and seed propose the same trials; after each fold the trial
  reports its running mean loss, and a trial worse than the median of earlier
  trials at the same fold is stopped, saving most of the cost of bad regions.
* **Resumable storage.** With ``storage_url`` (e.g.
  ``sqlite:///runs/optuna.db``) and ``load_if_exists=True`` a second call
  with the same ``study_name`` adds trials to the same study, so an
  interrupted search loses only its running trial.

The search spaces are per family and deliberately narrow: wide ones mostly
find noise on financial data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from alphagate.models.calibration_metrics import log_loss
from alphagate.models.factory import Family, make_model
from alphagate.training.dataset import TrainingSet
from alphagate.training.splits import purged_kfold

optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass(frozen=True)
class SearchResult:
    """The outcome of a (possibly resumed) study.

    Attributes
    ----------
    best_params
        The flat parameters of the best complete trial, ready for ``make_model``.
    best_score
        Its mean purged-CV log loss.
    n_trials
        Trials in the study, all runs together (pruned and failed included).
    study_name
        The study's name in its storage.
    """

    best_params: dict[str, Any]
    best_score: float
    n_trials: int
    study_name: str


def _logreg_space(trial: optuna.Trial) -> dict[str, Any]:
    return {"C": trial.suggest_float("C", 1e-3, 1e2, log=True)}


def _lightgbm_space(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "num_leaves": trial.suggest_int("num_leaves", 8, 128),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 10, 200),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-8, 10.0, log=True),
    }


def _catboost_space(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "depth": trial.suggest_int("depth", 3, 8),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
        "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 1.0, 10.0),
    }


def _deep_space(trial: optuna.Trial) -> dict[str, Any]:
    """Architecture sizes of the PyTorch families, kept small: 2 heads divide every width."""
    return {
        "window": trial.suggest_categorical("window", [8, 16, 32]),
        "hidden_size": trial.suggest_categorical("hidden_size", [8, 16, 32]),
        "layers": trial.suggest_int("layers", 1, 2),
        "dropout": trial.suggest_float("dropout", 0.0, 0.3),
        "learning_rate": trial.suggest_float("learning_rate", 1e-3, 1e-2, log=True),
    }


SEARCH_SPACES: dict[str, Callable[[optuna.Trial], dict[str, Any]]] = {
    "logreg": _logreg_space,
    "lightgbm": _lightgbm_space,
    "catboost": _catboost_space,
    "cnn_lstm": _deep_space,
    "tft": _deep_space,
    "nbeats": _deep_space,
}


def _objective(
    ts: TrainingSet,
    *,
    family: Family,
    seed: int,
    n_splits: int,
    embargo: float,
    fixed_params: Mapping[str, Any],
) -> Callable[[optuna.Trial], float]:
    """The trial function: fit each purged fold, report the running mean loss, maybe prune."""
    splits = purged_kfold(ts.t0, ts.t1, n_splits=n_splits, embargo=embargo)
    space = SEARCH_SPACES[family]

    def objective(trial: optuna.Trial) -> float:
        params = {**fixed_params, **space(trial)}
        losses: list[float] = []
        for step, split in enumerate(splits):
            model = make_model(family, seed=seed, params=params)
            model.fit(
                ts.X.iloc[split.train],
                ts.y.iloc[split.train],
                sample_weight=ts.weights.iloc[split.train],
            )
            p = model.predict_proba(ts.X.iloc[split.test])
            losses.append(log_loss(p, ts.y.iloc[split.test].to_numpy()))
            trial.report(float(np.mean(losses)), step)
            if trial.should_prune():
                raise optuna.TrialPruned
        return float(np.mean(losses))

    return objective


def search_hyperparameters(
    ts: TrainingSet,
    *,
    family: Family,
    n_trials: int,
    seed: int,
    study_name: str,
    storage_url: str | None = None,
    n_splits: int = 5,
    embargo: float = 0.01,
    fixed_params: Mapping[str, Any] | None = None,
) -> SearchResult:
    """Run ``n_trials`` more trials of ``family``'s search space and return the best so far.

    Parameters
    ----------
    ts
        The samples to cross-validate on (the training part only: never
        search on the holdout that will judge the result).
    family
        A family of ``SEARCH_SPACES``.
    n_trials
        Trials to add in this call.
    seed
        Seeds the sampler and every model.
    study_name
        Name of the study; an existing one in ``storage_url`` is resumed.
    storage_url
        An Optuna storage URL, or ``None`` for an in-memory study.
    n_splits, embargo
        The purged k-fold.
    fixed_params
        Parameters every trial shares, under the searched ones (the deep
        families' epochs, patience, device from ``pipeline.deep``).

    Raises
    ------
    ValueError
        Unknown family or ``n_trials < 1``.
    """
    if family not in SEARCH_SPACES:
        raise ValueError(f"no search space for family {family!r}; known: {sorted(SEARCH_SPACES)}")
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    study = optuna.create_study(
        storage=storage_url,
        pruner=optuna.pruners.MedianPruner(),
        study_name=study_name,
        direction="minimize",
        load_if_exists=True,
    )
    # A resumed study would replay the first call's random start-up trials if its
    # sampler restarted from ``seed``; offsetting by the trials already stored
    # keeps a resume deterministic without repeating them.
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    objective = _objective(
        ts,
        family=family,
        seed=seed,
        n_splits=n_splits,
        embargo=embargo,
        fixed_params=fixed_params or {},
    )
    study.optimize(objective, n_trials=n_trials)
    best = study.best_trial
    return SearchResult(
        best_params=dict(best.params),
        best_score=float(best.value) if best.value is not None else float("nan"),
        n_trials=len(study.trials),
        study_name=study_name,
    )
