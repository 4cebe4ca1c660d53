"""L2-regularised logistic regression on standardised features: the baseline family.

A linear model is the yardstick every booster must beat, and the one whose
failure modes are easiest to read. Two choices matter more than the solver:

* **The scaler is fitted inside ``fit``, on the training rows only.** Fitted
  once on the whole data set, as is easy to do by accident, it would carry
  each cross-validation test fold's means and variances into training, a
  small but real leak. Inside ``fit`` each fold gets its own scaler. The scaler
  ignores ``sample_weight``: it only conditions the problem numerically, and
  an unweighted mean is the one a reader can check by hand.
* **Saving writes the fitted numbers, not the estimator.** The whole model is
  four arrays (scaler mean and scale, coefficients, intercept), stored in
  ``model.json`` with Python's shortest round-tripping float text, so a loaded
  model rebuilds every probability bit for bit, and loading runs no pickle.
  Both the fitted and the loaded model predict through the same NumPy code.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import sklearn
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from alphagate.models.protocol import (
    FloatArray,
    check_fitted,
    prepare_prediction_data,
    prepare_training_data,
    read_sidecar,
    save_directory,
    write_sidecar,
)

FAMILY = "logreg"


def _float_list(values: Any, what: str, length: int) -> FloatArray:
    """Read a JSON list of ``length`` finite floats back into an array."""
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (length,) or not np.isfinite(array).all():
        raise ValueError(f"saved logistic model has a malformed {what}: expected {length} floats")
    return array


class LogisticModel:
    """Standard scaling then ``LogisticRegression(solver="lbfgs")``, L2 penalty.

    Parameters
    ----------
    C
        Inverse regularisation strength (scikit-learn's meaning), ``> 0``.
    seed
        Recorded for a uniform interface; lbfgs itself is deterministic.
    max_iter
        lbfgs iteration cap; standardised inputs converge well within it.
    """

    def __init__(self, C: float = 1.0, seed: int = 0, max_iter: int = 1000) -> None:  # noqa: N803
        if isinstance(C, bool) or not isinstance(C, int | float) or not math.isfinite(C) or C <= 0:
            raise ValueError(f"C must be a positive finite number, got {C!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
        self.C = float(C)
        self.seed = seed
        self.max_iter = max_iter
        self._feature_names: list[str] = []
        self._mean: FloatArray = np.zeros(0)
        self._scale: FloatArray = np.ones(0)
        self._coef: FloatArray = np.zeros(0)
        self._intercept = 0.0

    @property
    def name(self) -> str:
        """``"logreg"``."""
        return FAMILY

    @property
    def feature_names(self) -> list[str]:
        """Training columns in order (a copy; empty before ``fit``)."""
        return list(self._feature_names)

    @property
    def scaler_mean(self) -> FloatArray:
        """Per-feature means the scaler learned from the training rows (a copy)."""
        return self._mean.copy()

    @property
    def scaler_scale(self) -> FloatArray:
        """Per-feature standard deviations (1 for constant columns), a copy."""
        return self._scale.copy()

    def fit(
        self,
        X: pd.DataFrame,  # noqa: N803
        y: pd.Series,
        sample_weight: pd.Series | None = None,
        eval_set: tuple[pd.DataFrame, pd.Series] | None = None,
    ) -> Self:
        """Fit the scaler and the regression on ``X``/``y``.

        ``eval_set`` is validated but not used: there is no early stopping to
        drive. ``sample_weight`` weights the regression's loss only.
        """
        data = prepare_training_data(X, y, sample_weight, eval_set)
        scaler = StandardScaler().fit(data.features)
        regression = LogisticRegression(
            C=self.C, solver="lbfgs", max_iter=self.max_iter, random_state=self.seed
        )
        regression.fit(scaler.transform(data.features), data.target, sample_weight=data.weight)
        if list(regression.classes_) != [0, 1]:
            raise RuntimeError(f"unexpected classes {regression.classes_!r}")
        self._mean = np.asarray(scaler.mean_, dtype=np.float64).copy()
        self._scale = np.asarray(scaler.scale_, dtype=np.float64).copy()
        self._coef = np.asarray(regression.coef_[0], dtype=np.float64).copy()
        self._intercept = float(regression.intercept_[0])
        self._feature_names = data.feature_names
        return self

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        """Return P(class = 1) per row: ``expit(((X - mean) / scale) @ coef + intercept)``."""
        matrix = prepare_prediction_data(X, self._feature_names, FAMILY)
        scaled = (matrix - self._mean) / self._scale
        probabilities: FloatArray = np.asarray(
            expit(scaled @ self._coef + self._intercept), dtype=np.float64
        )
        return probabilities

    def feature_importances(self) -> pd.Series:
        """Absolute coefficients on the standardised scale, by feature.

        Standardising first is what makes the magnitudes comparable: each is
        the change in log-odds for a one-standard-deviation move of its feature.
        """
        check_fitted(self._feature_names, FAMILY)
        return pd.Series(np.abs(self._coef), index=self._feature_names, name="abs_coef")

    def save(self, directory: Path) -> None:
        """Write ``model.json`` (the complete model) into ``directory``."""
        directory = save_directory(directory, self._feature_names, FAMILY)
        write_sidecar(
            directory,
            {
                "family": FAMILY,
                "feature_names": self._feature_names,
                "params": {"C": self.C, "seed": self.seed, "max_iter": self.max_iter},
                "scaler_mean": self._mean.tolist(),
                "scaler_scale": self._scale.tolist(),
                "coef": self._coef.tolist(),
                "intercept": self._intercept,
                "library": {"scikit-learn": sklearn.__version__},
            },
        )

    @classmethod
    def load(cls, directory: Path) -> Self:
        """Rebuild a saved model; its predictions equal the saved model's bit for bit."""
        body = read_sidecar(Path(directory), family=FAMILY)
        params = body.get("params")
        if not isinstance(params, dict):
            raise ValueError("saved logistic model has no params object")
        model = cls(C=params["C"], seed=params["seed"], max_iter=params["max_iter"])
        names: list[str] = body["feature_names"]
        model._mean = _float_list(body.get("scaler_mean"), "scaler_mean", len(names))
        model._scale = _float_list(body.get("scaler_scale"), "scaler_scale", len(names))
        if not (model._scale > 0.0).all():
            raise ValueError("saved logistic model has a non-positive scaler_scale")
        model._coef = _float_list(body.get("coef"), "coef", len(names))
        intercept = body.get("intercept")
        if isinstance(intercept, bool) or not isinstance(intercept, int | float):
            raise ValueError("saved logistic model has a malformed intercept")
        model._intercept = float(intercept)
        model._feature_names = list(names)
        return model
