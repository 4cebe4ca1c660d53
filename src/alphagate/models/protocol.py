"""The ``Model`` protocol every model family meets, and the checks they all share.

A model here is a binary classifier of up/down outcomes: ``fit`` on a feature
frame and a 0/1 target, ``predict_proba`` returns P(class = 1) per row. Three
families implement it (``logistic``, ``gbm``); calibration, search and the
decision path only ever see this protocol, so a family can be swapped without
touching them.

Every family runs the same input checks before its library sees the data,
because the libraries disagree about bad input in ways that hide bugs:

* **No non-finite feature reaches a model** (RELIABILITY BD-01). LightGBM and
  CatBoost accept NaN and route it down a learned branch, so a feature that
  silently went missing in live data would still produce a confident
  probability. A NaN here always means an upstream bug (warm-up rows not
  dropped, a broken feed) and is refused, naming the column and row.
* **The target is strictly binary.** A label frame's ``sign_h`` column is
  nullable; an unknown outcome must be dropped, never read as a class.
* **Prediction uses exactly the training columns in the training order.** The
  boosters work on positions, so a reordered frame would be scored with
  every feature in the wrong slot and no error.

Persistence uses each library's own format plus a JSON sidecar
(``model.json``) naming the family, feature names and parameters; nothing is
pickled, so loading a model directory never executes code from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

SIDECAR_NAME = "model.json"
"""The JSON file in every saved model directory; its ``family`` picks the loader."""

FORMAT_VERSION = 1
"""Version of the saved-model layout; bumped when a loader can no longer read old files."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Model(Protocol):
    """A binary classifier that can be fitted, asked for P(up), saved and loaded.

    ``name`` is the model's family (``"logreg"``, ``"lightgbm"``,
    ``"catboost"``), recorded in the saved sidecar so that
    ``alphagate.models.factory.load_model`` can pick the class to load with.
    ``feature_names`` are the training columns in training order (empty before
    ``fit``).
    """

    @property
    def name(self) -> str:
        """The model family, as written to the sidecar."""
        ...

    @property
    def feature_names(self) -> list[str]:
        """The columns ``fit`` saw, in order; ``predict_proba`` requires the same."""
        ...

    def fit(
        self,
        X: pd.DataFrame,  # noqa: N803 - the conventional name for a design matrix
        y: pd.Series,
        sample_weight: pd.Series | None = None,
        eval_set: tuple[pd.DataFrame, pd.Series] | None = None,
    ) -> Self:
        """Fit on ``X``/``y`` (0/1); ``eval_set`` may drive early stopping."""
        ...

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        """Return P(class = 1) for each row of ``X``, shape ``(len(X),)``."""
        ...

    def save(self, directory: Path) -> None:
        """Write the fitted model into ``directory`` (created if missing)."""
        ...

    @classmethod
    def load(cls, directory: Path) -> Self:
        """Read a model written by ``save``; it predicts exactly as the saved one did."""
        ...


@dataclass(frozen=True)
class TrainingData:
    """Validated training inputs as arrays, ready for any library.

    Attributes
    ----------
    features
        ``(n, p)`` float64, all finite.
    target
        ``(n,)`` int64 in ``{0, 1}``, both classes present.
    weight
        ``(n,)`` float64, finite and non-negative with a positive sum, or ``None``.
    feature_names
        The columns of ``features``, in order.
    eval_features, eval_target
        The validated ``eval_set``, same columns as ``features``, or ``None``.
    """

    features: FloatArray
    target: IntArray
    weight: FloatArray | None
    feature_names: list[str]
    eval_features: FloatArray | None
    eval_target: IntArray | None


def _row_label(index: pd.Index, position: int) -> str:
    """Describe a row by its index label and position, for error messages."""
    return f"row index {index[position]!r} (position {position})"


def _check_column_names(frame: pd.DataFrame, what: str) -> list[str]:
    """Return the column names, refusing non-string or repeated names.

    Names identify features across fit, predict and the saved sidecar (a JSON
    list of strings), so they must be strings and unique.
    """
    names = list(frame.columns)
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"{what} column names must be strings, got {name!r}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{what} has repeated column names: {repeated}")
    return [str(name) for name in names]


def as_feature_matrix(X: pd.DataFrame, what: str = "X") -> FloatArray:  # noqa: N803
    """Convert a feature frame to a finite float64 matrix or raise naming the bad cell.

    Parameters
    ----------
    X
        Numeric (float, integer, boolean, nullable) columns only.
    what
        The argument's name in error messages.

    Returns
    -------
    numpy.ndarray
        ``(len(X), X.shape[1])`` float64.

    Raises
    ------
    ValueError
        ``X`` is not a DataFrame, is empty, has a non-numeric column, or holds
        a non-finite value: the message names the first such column (in column
        order) and the first bad row in it.
    """
    if not isinstance(X, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame, got {type(X).__name__}")
    _check_column_names(X, what)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{what} must have at least one row and one column, got shape {X.shape}")
    for name, dtype in X.dtypes.items():
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_complex_dtype(dtype):
            raise ValueError(f"{what} column {name!r} is not numeric (dtype {dtype})")
    matrix: FloatArray = X.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(matrix)
    if not finite.all():
        bad_columns = np.flatnonzero(~finite.all(axis=0))
        column = int(bad_columns[0])
        row = int(np.flatnonzero(~finite[:, column])[0])
        count = int((~finite).sum())
        raise ValueError(
            f"{what} column {X.columns[column]!r} holds a non-finite value "
            f"({matrix[row, column]!r}) at {_row_label(X.index, row)}; "
            f"{count} non-finite value(s) in {bad_columns.size} column(s) in all. "
            f"Models never see NaN or inf: drop warm-up rows and fix the source first"
        )
    return matrix


def as_binary_target(y: pd.Series, index: pd.Index, what: str = "y") -> IntArray:
    """Convert a 0/1 target aligned with ``index`` to int64, or raise.

    Parameters
    ----------
    y
        Boolean, integer or float values that are exactly 0 or 1; nullable
        dtypes are fine as long as no value is missing.
    index
        The feature frame's index: ``y`` must have the same length and the same
        labels in the same order, so a label can never be paired with another
        row's features.
    what
        The argument's name in error messages.

    Raises
    ------
    ValueError
        Wrong type, length or index; a missing value; a value other than 0/1.
    """
    if not isinstance(y, pd.Series):
        raise ValueError(f"{what} must be a pandas Series, got {type(y).__name__}")
    if len(y) != len(index):
        raise ValueError(f"{what} has {len(y)} rows but the features have {len(index)}")
    if not y.index.equals(index):
        raise ValueError(
            f"{what}'s index differs from the features' index; align them "
            f"(same labels, same order) so each label sits with its own features"
        )
    if not (pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype)):
        raise ValueError(f"{what} must be numeric 0/1, got dtype {y.dtype}")
    values = y.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.flatnonzero(np.isnan(values))
    if missing.size:
        raise ValueError(
            f"{what} has {missing.size} missing value(s), first at "
            f"{_row_label(y.index, int(missing[0]))}; drop samples without an outcome"
        )
    bad = np.flatnonzero((values != 0.0) & (values != 1.0))
    if bad.size:
        position = int(bad[0])
        raise ValueError(
            f"{what} must be binary (0/1); found {values[position]!r} at "
            f"{_row_label(y.index, position)}"
        )
    target: IntArray = values.astype(np.int64)
    return target


def as_sample_weight(sample_weight: pd.Series, index: pd.Index) -> FloatArray:
    """Convert sample weights aligned with ``index`` to float64, or raise.

    Weights must be finite and non-negative with a positive sum: a NaN weight
    would poison every library's loss silently, and an all-zero weight vector
    leaves nothing to learn from.
    """
    if not isinstance(sample_weight, pd.Series):
        raise ValueError(
            f"sample_weight must be a pandas Series, got {type(sample_weight).__name__}"
        )
    if len(sample_weight) != len(index) or not sample_weight.index.equals(index):
        raise ValueError("sample_weight must have the features' index (same labels, same order)")
    values = sample_weight.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0.0))
    if bad.size:
        position = int(bad[0])
        raise ValueError(
            f"sample_weight must be finite and >= 0; found {values[position]!r} at "
            f"{_row_label(sample_weight.index, position)}"
        )
    if not values.sum() > 0.0:
        raise ValueError("sample_weight sums to zero: no sample would count")
    return values


def check_columns(X: pd.DataFrame, feature_names: list[str], what: str = "X") -> None:  # noqa: N803
    """Require ``X``'s columns to be exactly ``feature_names``, in that order.

    Raises
    ------
    ValueError
        Naming the missing and the unexpected columns, or, when the set is
        right but the order is not, the first position where they differ.
    """
    if not isinstance(X, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame, got {type(X).__name__}")
    names = _check_column_names(X, what)
    if names == feature_names:
        return
    missing = [name for name in feature_names if name not in set(names)]
    extra = [name for name in names if name not in set(feature_names)]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing columns {missing}")
        if extra:
            parts.append(f"unexpected columns {extra}")
        raise ValueError(f"{what} does not match the training features: {'; '.join(parts)}")
    position = next(i for i, (a, b) in enumerate(zip(names, feature_names, strict=True)) if a != b)
    raise ValueError(
        f"{what} has the training columns in a different order: position {position} is "
        f"{names[position]!r}, training had {feature_names[position]!r}; "
        f"select X[model.feature_names] first"
    )


def prepare_training_data(
    X: pd.DataFrame,  # noqa: N803
    y: pd.Series,
    sample_weight: pd.Series | None,
    eval_set: tuple[pd.DataFrame, pd.Series] | None,
) -> TrainingData:
    """Run every shared ``fit`` check and return the inputs as arrays.

    Raises
    ------
    ValueError
        Any check of ``as_feature_matrix``, ``as_binary_target`` or
        ``as_sample_weight`` fails; ``y`` holds only one class; ``eval_set``
        is malformed or has other columns than ``X``.
    """
    features = as_feature_matrix(X)
    names = _check_column_names(X, "X")
    target = as_binary_target(y, X.index)
    classes = np.unique(target)
    if classes.size != 2:
        raise ValueError(
            f"y holds only class {int(classes[0])}; a binary classifier needs both 0 and 1"
        )
    weight = None if sample_weight is None else as_sample_weight(sample_weight, X.index)
    eval_features: FloatArray | None = None
    eval_target: IntArray | None = None
    if eval_set is not None:
        if not isinstance(eval_set, tuple) or len(eval_set) != 2:
            raise ValueError("eval_set must be a (features, target) tuple")
        eval_x, eval_y = eval_set
        check_columns(eval_x, names, what="eval_set features")
        eval_features = as_feature_matrix(eval_x, what="eval_set features")
        eval_target = as_binary_target(eval_y, eval_x.index, what="eval_set target")
    return TrainingData(
        features=features,
        target=target,
        weight=weight,
        feature_names=names,
        eval_features=eval_features,
        eval_target=eval_target,
    )


def prepare_prediction_data(X: pd.DataFrame, feature_names: list[str], family: str) -> FloatArray:  # noqa: N803
    """Check ``X`` against a fitted model's columns and return it as a finite matrix.

    Raises
    ------
    RuntimeError
        The model has not been fitted (``feature_names`` is empty).
    ValueError
        Column mismatch or a non-finite value (see ``check_columns`` and
        ``as_feature_matrix``).
    """
    check_fitted(feature_names, family)
    check_columns(X, feature_names)
    return as_feature_matrix(X)


def check_fitted(feature_names: list[str], family: str) -> None:
    """Refuse to use a model before ``fit`` or ``load``, with the message every family gives.

    A fitted model always knows its training columns, so an empty
    ``feature_names`` is what "not fitted" means for every family.

    Raises
    ------
    RuntimeError
        ``feature_names`` is empty.
    """
    if not feature_names:
        raise RuntimeError(f"{family} model is not fitted; call fit() or load() first")


def save_directory(directory: Path, feature_names: list[str], family: str) -> Path:
    """Create the folder a fitted model saves into and return it; every family's ``save`` starts so.

    An unfitted model is refused before anything is created, so a failed
    ``save`` leaves no empty model directory behind.

    Raises
    ------
    RuntimeError
        The model has not been fitted (``feature_names`` is empty).
    """
    if not feature_names:
        raise RuntimeError(f"{family} model is not fitted; nothing to save")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def check_json_params(params: Mapping[str, Any], family: str) -> dict[str, Any]:
    """Return ``params`` as a plain dict, refusing anything JSON cannot store exactly.

    Parameters go into the sidecar and must reload to the same values, so a
    numpy scalar or an object is refused now rather than at ``save`` time.
    """
    plain = dict(params)
    for key in plain:
        if not isinstance(key, str):
            raise ValueError(f"{family} parameter names must be strings, got {key!r}")
    try:
        encoded = json.dumps(plain, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{family} parameters must be plain JSON values: {error}") from error
    if json.loads(encoded) != plain:
        raise ValueError(f"{family} parameters do not survive a JSON round trip: {plain!r}")
    return plain


def write_sidecar(directory: Path, payload: Mapping[str, Any]) -> None:
    """Write ``model.json`` into ``directory``, atomically, after the model file.

    Families write their library file first and the sidecar last, through a
    temporary file and a rename, so a directory holding a sidecar always holds
    a complete model: an interrupted save leaves no loadable half.
    """
    body = {"format_version": FORMAT_VERSION, **payload}
    text = json.dumps(body, allow_nan=False, indent=2, sort_keys=True)
    temporary = directory / f".{SIDECAR_NAME}.tmp"
    temporary.write_text(text + "\n", encoding="utf-8")
    temporary.replace(directory / SIDECAR_NAME)


def read_sidecar(directory: Path, family: str | None = None) -> dict[str, Any]:
    """Read ``model.json`` from ``directory`` and check its version and family.

    Parameters
    ----------
    directory
        A directory written by some model's ``save``.
    family
        When given, the family the caller can load; a different one is refused
        (use ``alphagate.models.factory.load_model`` to load any family).

    Raises
    ------
    FileNotFoundError
        No sidecar: not a saved model directory, or a save that never finished.
    ValueError
        Unreadable JSON, another format version, or the wrong family.
    """
    path = Path(directory) / SIDECAR_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {directory} is not a saved model directory")
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(body, dict):
        raise ValueError(f"{path} must hold a JSON object")
    version = body.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path} has format_version {version!r}; this build reads {FORMAT_VERSION}"
        )
    if family is not None and body.get("family") != family:
        raise ValueError(f"{path} holds a {body.get('family')!r} model, not a {family!r} one")
    names = body.get("feature_names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{path} must list the model's feature_names as strings")
    return body
