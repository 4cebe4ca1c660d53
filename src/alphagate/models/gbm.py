"""Gradient-boosted trees: LightGBM and CatBoost behind the ``Model`` protocol.

**Reproducibility.** A model that changes when refitted on the same data
cannot be audited, and a search that compares two configurations must not be
comparing two random draws. Both families therefore run single-threaded with
every random seed tied to the model's ``seed``:

* LightGBM: ``deterministic=True``, ``force_row_wise=True`` (the col-wise
  histogram path picks its layout by timing), ``num_threads=1``, and
  ``seed``, ``bagging_seed``, ``feature_fraction_seed``, ``data_random_seed``,
  ``drop_seed``, ``extra_seed`` all set to ``seed``. LightGBM's ``seed`` alone
  does not override the other seeds' defaults, so each is set explicitly.
* CatBoost: ``random_seed``, ``thread_count=1``; ``allow_writing_files=False``
  so fitting never drops a ``catboost_info`` directory into the working tree.

These settings, plus the loss, the round count and early stopping, are owned
by the constructor arguments. Passing them (or a library alias of them) in
``params`` raises, rather than letting a stray ``n_jobs`` undo determinism.

The defaults subsample rows and columns (LightGBM bagging and feature
fraction, CatBoost Bernoulli bootstrap), which regularises on noisy market
data and is also why two seeds give two different models.

**Early stopping** happens only on an explicit ``eval_set``, which must come
after the training data in time. It is never taken from a cross-validation
test fold (``alphagate.models.oof`` passes none): stopping on the fold that is
then scored would tune the model to it.

**Persistence** uses each library's own format (``model.txt``, ``model.cbm``)
and the ``model.json`` sidecar; the saved model keeps only the trees that
prediction uses, so a loaded model predicts bit for bit as the fitted one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from alphagate.models.protocol import (
    FloatArray,
    check_fitted,
    check_json_params,
    prepare_prediction_data,
    prepare_training_data,
    read_sidecar,
    save_directory,
    write_sidecar,
)

LIGHTGBM_FAMILY = "lightgbm"
CATBOOST_FAMILY = "catboost"
LIGHTGBM_FILE = "model.txt"
CATBOOST_FILE = "model.cbm"

LIGHTGBM_DEFAULTS: Mapping[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "metric": "binary_logloss",
}
"""Hyperparameters a caller's ``params`` may override."""

CATBOOST_DEFAULTS: Mapping[str, Any] = {
    "learning_rate": 0.05,
    "depth": 6,
    "l2_leaf_reg": 3.0,
    "bootstrap_type": "Bernoulli",
    "subsample": 0.8,
}
"""Hyperparameters a caller's ``params`` may override."""

_LIGHTGBM_RESERVED: Mapping[str, str] = {
    **dict.fromkeys(
        (
            "seed",
            "random_seed",
            "random_state",
            "bagging_seed",
            "bagging_fraction_seed",
            "feature_fraction_seed",
            "data_random_seed",
            "data_seed",
            "drop_seed",
            "extra_seed",
            "objective_seed",
        ),
        "set the seed with seed=",
    ),
    **dict.fromkeys(
        (
            "num_threads",
            "num_thread",
            "nthread",
            "nthreads",
            "n_jobs",
            "deterministic",
            "force_row_wise",
            "force_col_wise",
            "device_type",
            "device",
            "verbose",
            "verbosity",
        ),
        "it is fixed for reproducibility",
    ),
    **dict.fromkeys(
        (
            "num_iterations",
            "num_iteration",
            "n_iter",
            "num_tree",
            "num_trees",
            "num_round",
            "num_rounds",
            "nrounds",
            "num_boost_round",
            "n_estimators",
            "max_iter",
        ),
        "use num_boost_round=",
    ),
    **dict.fromkeys(
        ("early_stopping_round", "early_stopping_rounds", "early_stopping", "n_iter_no_change"),
        "use early_stopping_rounds=",
    ),
    **dict.fromkeys(
        ("objective", "objective_type", "app", "application", "loss"),
        "the objective is always binary",
    ),
}

_CATBOOST_RESERVED: Mapping[str, str] = {
    **dict.fromkeys(("random_seed", "random_state"), "set the seed with seed="),
    **dict.fromkeys(
        (
            "thread_count",
            "n_jobs",
            "allow_writing_files",
            "train_dir",
            "verbose",
            "verbose_eval",
            "logging_level",
            "silent",
            "metric_period",
            "task_type",
            "devices",
        ),
        "it is fixed for reproducibility",
    ),
    **dict.fromkeys(
        ("iterations", "n_estimators", "num_boost_round", "num_trees"), "use iterations="
    ),
    **dict.fromkeys(
        ("early_stopping_rounds", "od_wait", "od_type", "od_pval", "use_best_model"),
        "use early_stopping_rounds=",
    ),
    **dict.fromkeys(("loss_function", "objective"), "the loss is always Logloss"),
}

_JSON_SPECIAL = frozenset('[]{}:,"')


def _check_seed(seed: int) -> int:
    """Seeds go to C++ as 32-bit signed integers, so they must fit one."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise ValueError(f"seed must be an integer in [0, 2**31), got {seed!r}")
    return seed


def _check_rounds(value: int, what: str) -> int:
    """Validate a positive round count."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return value


def _check_patience(value: int | None) -> int | None:
    """Validate ``early_stopping_rounds``: a positive integer, or ``None`` for no stopping."""
    return None if value is None else _check_rounds(value, "early_stopping_rounds")


def _user_params(
    params: Mapping[str, Any] | None, reserved: Mapping[str, str], family: str
) -> dict[str, Any]:
    """Validate a caller's hyperparameters: JSON-storable, none of the reserved keys."""
    plain = check_json_params(params or {}, family)
    for key in plain:
        reason = reserved.get(key.lower())
        if reason is not None:
            raise ValueError(f"{family} parameter {key!r} cannot be passed in params: {reason}")
    return plain


def _saved_arguments(body: Mapping[str, Any], rounds: str) -> dict[str, Any]:
    """The constructor arguments a booster's sidecar recorded, to rebuild it in ``load``.

    Both families record the same four, their round count under its own
    name (``rounds``), so one reader serves both: a sidecar missing the round
    count or the seed fails the same way for either.
    """
    return {
        "params": body.get("params"),
        rounds: body[rounds],
        "seed": body["seed"],
        "early_stopping_rounds": body.get("early_stopping_rounds"),
    }


class LightGBMModel:
    """LightGBM binary classifier trained with ``lightgbm.train``, reproducibly.

    Parameters
    ----------
    params
        LightGBM hyperparameters overriding ``LIGHTGBM_DEFAULTS``. Seeds,
        threading, the objective, the round count and early stopping are set
        by the other arguments and may not appear here.
    num_boost_round
        Maximum number of boosting rounds.
    seed
        The seed of every random choice (bagging, feature fraction, binning).
    early_stopping_rounds
        Stop when the first metric on ``eval_set`` has not improved for this
        many rounds, keeping the best round; ``None`` trains every round.
        Without an ``eval_set`` every round is trained regardless.
    """

    def __init__(
        self,
        params: Mapping[str, Any] | None = None,
        num_boost_round: int = 200,
        seed: int = 0,
        early_stopping_rounds: int | None = 20,
    ) -> None:
        self.params = _user_params(params, _LIGHTGBM_RESERVED, LIGHTGBM_FAMILY)
        self.num_boost_round = _check_rounds(num_boost_round, "num_boost_round")
        self.seed = _check_seed(seed)
        self.early_stopping_rounds = _check_patience(early_stopping_rounds)
        self._feature_names: list[str] = []
        self._booster: Any = None
        self._best_iteration = 0

    @property
    def name(self) -> str:
        """``"lightgbm"``."""
        return LIGHTGBM_FAMILY

    @property
    def feature_names(self) -> list[str]:
        """Training columns in order (a copy; empty before ``fit``)."""
        return list(self._feature_names)

    @property
    def best_iteration(self) -> int:
        """Number of boosting rounds prediction uses (the best one under early stopping)."""
        return self._best_iteration

    def training_params(self) -> dict[str, Any]:
        """The full parameter dict given to ``lightgbm.train``: defaults, overrides, fixed."""
        return {
            **LIGHTGBM_DEFAULTS,
            **self.params,
            "objective": "binary",
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 1,
            "verbose": -1,
            "seed": self.seed,
            "bagging_seed": self.seed,
            "feature_fraction_seed": self.seed,
            "data_random_seed": self.seed,
            "drop_seed": self.seed,
            "extra_seed": self.seed,
        }

    def fit(
        self,
        X: pd.DataFrame,  # noqa: N803
        y: pd.Series,
        sample_weight: pd.Series | None = None,
        eval_set: tuple[pd.DataFrame, pd.Series] | None = None,
    ) -> Self:
        """Train on ``X``/``y``; with ``eval_set``, stop early on its first metric.

        Raises
        ------
        ValueError
            Shared input checks fail, or a column name holds a character
            LightGBM cannot store in its model file (``[]{}:,"``).
        """
        import lightgbm

        data = prepare_training_data(X, y, sample_weight, eval_set)
        for feature in data.feature_names:
            if _JSON_SPECIAL.intersection(feature):
                raise ValueError(
                    f"LightGBM cannot store feature name {feature!r}: rename it without "
                    f"any of {''.join(sorted(_JSON_SPECIAL))}"
                )
        params = self.training_params()
        train_set = lightgbm.Dataset(
            data.features,
            label=data.target,
            weight=data.weight,
            feature_name=data.feature_names,
            params=params,
        )
        valid_sets = []
        callbacks: list[Callable[..., Any]] = []
        if data.eval_features is not None:
            valid_sets.append(
                lightgbm.Dataset(data.eval_features, label=data.eval_target, reference=train_set)
            )
            if self.early_stopping_rounds is not None:
                callbacks.append(
                    lightgbm.early_stopping(
                        self.early_stopping_rounds, first_metric_only=True, verbose=False
                    )
                )
        booster = lightgbm.train(
            params,
            train_set,
            num_boost_round=self.num_boost_round,
            valid_sets=valid_sets,
            valid_names=["eval"] * len(valid_sets),
            callbacks=callbacks,
        )
        best = int(booster.best_iteration)
        self._best_iteration = best if best > 0 else int(booster.current_iteration())
        self._booster = booster
        self._feature_names = data.feature_names
        return self

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        """Return P(class = 1) per row from the first ``best_iteration`` rounds."""
        matrix = prepare_prediction_data(X, self._feature_names, LIGHTGBM_FAMILY)
        raw = self._booster.predict(matrix, num_iteration=self._best_iteration)
        probabilities: FloatArray = np.asarray(raw, dtype=np.float64)
        return probabilities

    def feature_importances(self) -> pd.Series:
        """Total split gain per feature over the rounds prediction uses.

        Gain rather than split counts: a feature split on often for tiny
        improvements is not what drives the predictions.
        """
        check_fitted(self._feature_names, LIGHTGBM_FAMILY)
        gain = self._booster.feature_importance(
            importance_type="gain", iteration=self._best_iteration
        )
        return pd.Series(np.asarray(gain, dtype=np.float64), index=self._feature_names, name="gain")

    def save(self, directory: Path) -> None:
        """Write ``model.txt`` (LightGBM's text format, best rounds only) and ``model.json``."""
        import lightgbm

        directory = save_directory(directory, self._feature_names, LIGHTGBM_FAMILY)
        self._booster.save_model(directory / LIGHTGBM_FILE, num_iteration=self._best_iteration)
        write_sidecar(
            directory,
            {
                "family": LIGHTGBM_FAMILY,
                "feature_names": self._feature_names,
                "params": self.params,
                "num_boost_round": self.num_boost_round,
                "seed": self.seed,
                "early_stopping_rounds": self.early_stopping_rounds,
                "best_iteration": self._best_iteration,
                "library": {"lightgbm": lightgbm.__version__},
            },
        )

    @classmethod
    def load(cls, directory: Path) -> Self:
        """Rebuild a saved model from ``model.txt`` and its sidecar."""
        import lightgbm

        directory = Path(directory)
        body = read_sidecar(directory, family=LIGHTGBM_FAMILY)
        model = cls(**_saved_arguments(body, "num_boost_round"))
        booster = lightgbm.Booster(model_file=directory / LIGHTGBM_FILE)
        best = body.get("best_iteration")
        if best != booster.current_iteration():
            raise ValueError(
                f"{directory / LIGHTGBM_FILE} holds {booster.current_iteration()} rounds but "
                f"the sidecar says {best!r}: the files do not belong together"
            )
        if booster.num_feature() != len(body["feature_names"]):
            raise ValueError(
                f"{directory / LIGHTGBM_FILE} has {booster.num_feature()} features but the "
                f"sidecar names {len(body['feature_names'])}"
            )
        model._booster = booster
        model._best_iteration = int(best)
        model._feature_names = list(body["feature_names"])
        return model


class CatBoostModel:
    """CatBoost binary classifier (``Logloss``), reproducibly.

    Parameters
    ----------
    params
        CatBoost hyperparameters overriding ``CATBOOST_DEFAULTS``. Seeds,
        threading, logging, the loss, the iteration count and early stopping
        are set by the other arguments and may not appear here.
    iterations
        Maximum number of trees.
    seed
        CatBoost's ``random_seed``.
    early_stopping_rounds
        With an ``eval_set``: stop after this many iterations without
        improvement and keep the best model; ``None`` trains every iteration.
    """

    def __init__(
        self,
        params: Mapping[str, Any] | None = None,
        iterations: int = 300,
        seed: int = 0,
        early_stopping_rounds: int | None = 20,
    ) -> None:
        self.params = _user_params(params, _CATBOOST_RESERVED, CATBOOST_FAMILY)
        self.iterations = _check_rounds(iterations, "iterations")
        self.seed = _check_seed(seed)
        self.early_stopping_rounds = _check_patience(early_stopping_rounds)
        self._feature_names: list[str] = []
        self._model: Any = None

    @property
    def name(self) -> str:
        """``"catboost"``."""
        return CATBOOST_FAMILY

    @property
    def feature_names(self) -> list[str]:
        """Training columns in order (a copy; empty before ``fit``)."""
        return list(self._feature_names)

    @property
    def tree_count(self) -> int:
        """Number of trees prediction uses (after early stopping's shrink)."""
        return 0 if self._model is None else int(self._model.tree_count_)

    def training_params(self) -> dict[str, Any]:
        """The full parameter dict given to ``CatBoostClassifier``."""
        return {
            **CATBOOST_DEFAULTS,
            **self.params,
            "loss_function": "Logloss",
            "iterations": self.iterations,
            "random_seed": self.seed,
            "thread_count": 1,
            "allow_writing_files": False,
            "verbose": False,
        }

    def fit(
        self,
        X: pd.DataFrame,  # noqa: N803
        y: pd.Series,
        sample_weight: pd.Series | None = None,
        eval_set: tuple[pd.DataFrame, pd.Series] | None = None,
    ) -> Self:
        """Train on ``X``/``y``; with ``eval_set`` and early stopping, keep the best model."""
        from catboost import CatBoostClassifier, Pool

        data = prepare_training_data(X, y, sample_weight, eval_set)
        model = CatBoostClassifier(**self.training_params())
        train_pool = Pool(
            data.features,
            label=data.target,
            weight=data.weight,
            feature_names=data.feature_names,
        )
        if data.eval_features is not None and self.early_stopping_rounds is not None:
            eval_pool = Pool(
                data.eval_features, label=data.eval_target, feature_names=data.feature_names
            )
            model.fit(
                train_pool,
                eval_set=eval_pool,
                use_best_model=True,
                early_stopping_rounds=self.early_stopping_rounds,
            )
        else:
            model.fit(train_pool)
        self._model = model
        self._feature_names = data.feature_names
        return self

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        """Return P(class = 1) per row."""
        matrix = prepare_prediction_data(X, self._feature_names, CATBOOST_FAMILY)
        probabilities: FloatArray = np.asarray(
            self._model.predict_proba(matrix)[:, 1], dtype=np.float64
        )
        return probabilities

    def feature_importances(self) -> pd.Series:
        """CatBoost's ``PredictionValuesChange`` per feature (sums to 100).

        It measures how much predictions move when a feature's value changes,
        from the model alone, so a loaded model reports the same numbers.
        """
        check_fitted(self._feature_names, CATBOOST_FAMILY)
        values = self._model.get_feature_importance(type="PredictionValuesChange")
        return pd.Series(
            np.asarray(values, dtype=np.float64),
            index=self._feature_names,
            name="prediction_values_change",
        )

    def save(self, directory: Path) -> None:
        """Write ``model.cbm`` (CatBoost's binary format) and ``model.json``."""
        import catboost

        directory = save_directory(directory, self._feature_names, CATBOOST_FAMILY)
        self._model.save_model(str(directory / CATBOOST_FILE), format="cbm")
        write_sidecar(
            directory,
            {
                "family": CATBOOST_FAMILY,
                "feature_names": self._feature_names,
                "params": self.params,
                "iterations": self.iterations,
                "seed": self.seed,
                "early_stopping_rounds": self.early_stopping_rounds,
                "tree_count": self.tree_count,
                "library": {"catboost": catboost.__version__},
            },
        )

    @classmethod
    def load(cls, directory: Path) -> Self:
        """Rebuild a saved model from ``model.cbm`` and its sidecar."""
        from catboost import CatBoostClassifier

        directory = Path(directory)
        body = read_sidecar(directory, family=CATBOOST_FAMILY)
        model = cls(**_saved_arguments(body, "iterations"))
        path = directory / CATBOOST_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found next to the sidecar")
        loaded = CatBoostClassifier()
        loaded.load_model(str(path), format="cbm")
        if int(loaded.tree_count_) != body.get("tree_count"):
            raise ValueError(
                f"{path} holds {loaded.tree_count_} trees but the sidecar says "
                f"{body.get('tree_count')!r}: the files do not belong together"
            )
        if list(loaded.feature_names_) != body["feature_names"]:
            raise ValueError(f"{path} names other features than its sidecar")
        model._model = loaded
        model._feature_names = list(body["feature_names"])
        return model
