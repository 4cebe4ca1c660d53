"""Build a model from a family name and flat parameters, or load any saved model.

Search, tracking and configuration describe a model as data (a family name, a
seed, a flat dict of hyperparameters), so this is the one place that turns
that data into an object and the one place that reads a saved directory back.
Each family's structural arguments (``C``, ``num_boost_round``,
``iterations``, ``early_stopping_rounds``, ``max_iter``) may be given in the
same flat dict as the library hyperparameters, which is the shape a
hyperparameter search produces; for the boosters everything else is passed
through as a library parameter.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, cast, get_args

from alphagate.models.deep import DEEP_FAMILIES, DeepFamily
from alphagate.models.gbm import CATBOOST_FAMILY, LIGHTGBM_FAMILY, CatBoostModel, LightGBMModel
from alphagate.models.logistic import FAMILY as LOGREG_FAMILY
from alphagate.models.logistic import LogisticModel
from alphagate.models.protocol import Model, read_sidecar

Family = Literal["logreg", "lightgbm", "catboost", "cnn_lstm", "tft", "nbeats", "ensemble"]
FAMILIES: tuple[str, ...] = get_args(Family)

_LOGREG_ARGUMENTS = ("C", "max_iter")
_LIGHTGBM_ARGUMENTS = ("num_boost_round", "early_stopping_rounds")
_CATBOOST_ARGUMENTS = ("iterations", "early_stopping_rounds")
_ENSEMBLE_FAMILY = "ensemble"


def _suggestion(name: object, options: tuple[str, ...]) -> str:
    """``"; did you mean 'x'?"`` for the closest option, ignoring case, or ``""``."""
    by_lower = {option.lower(): option for option in options}
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


def _unknown_family(family: object, where: str) -> ValueError:
    """A ValueError listing the families, with the closest one as a suggestion."""
    hint = _suggestion(family, FAMILIES)
    return ValueError(
        f"unknown model family {family!r}{where}{hint} (known: {', '.join(FAMILIES)})"
    )


def _split_arguments(
    params: Mapping[str, Any], arguments: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate constructor arguments from library hyperparameters."""
    structural = {key: value for key, value in params.items() if key in arguments}
    library = {key: value for key, value in params.items() if key not in arguments}
    return structural, library


def make_model(family: Family, *, seed: int, params: Mapping[str, Any] | None = None) -> Model:
    """Return an unfitted model of ``family`` with ``seed`` and ``params``.

    Parameters
    ----------
    family
        ``"logreg"``, ``"lightgbm"``, ``"catboost"``, a deep family
        (``"cnn_lstm"``, ``"tft"``, ``"nbeats"``) or ``"ensemble"`` (whose
        ``params`` are ``members``, ``horizon`` and the combination settings:
        ``alphagate.models.ensemble.EnsembleModel.from_params``).
    seed
        Seed of every random choice the family makes.
    params
        Flat hyperparameters. ``logreg`` takes only ``C`` and ``max_iter``;
        the boosters take their round count and ``early_stopping_rounds`` plus
        any library parameter (see ``alphagate.models.gbm``); the deep
        families take ``alphagate.models.deep.DeepParams``'s fields.

    Raises
    ------
    ValueError
        An unknown family (with the closest known one as a suggestion), an
        unknown ``logreg`` parameter, or a parameter the family refuses.
    """
    given = dict(params or {})
    if family == LOGREG_FAMILY:
        structural, rest = _split_arguments(given, _LOGREG_ARGUMENTS)
        if rest:
            unknown = sorted(rest)[0]
            hint = _suggestion(unknown, _LOGREG_ARGUMENTS)
            known = ", ".join(_LOGREG_ARGUMENTS)
            raise ValueError(f"unknown logreg parameter {unknown!r}{hint} (known: {known})")
        return LogisticModel(seed=seed, **structural)
    if family == LIGHTGBM_FAMILY:
        structural, rest = _split_arguments(given, _LIGHTGBM_ARGUMENTS)
        return LightGBMModel(params=rest, seed=seed, **structural)
    if family == CATBOOST_FAMILY:
        structural, rest = _split_arguments(given, _CATBOOST_ARGUMENTS)
        return CatBoostModel(params=rest, seed=seed, **structural)
    if family == _ENSEMBLE_FAMILY:
        # Imported here: the ensemble builds its members through this module.
        from alphagate.models.ensemble import EnsembleModel

        return EnsembleModel.from_params(seed=seed, params=given)
    if family in DEEP_FAMILIES:
        from alphagate.models.deep.model import make_deep_model

        return make_deep_model(cast(DeepFamily, family), seed=seed, params=given)
    raise _unknown_family(family, "")


def load_model(directory: Path) -> Model:
    """Load a model saved by any family, choosing the class from the sidecar's ``family``.

    Raises
    ------
    FileNotFoundError
        ``directory`` holds no ``model.json``.
    ValueError
        The sidecar names an unknown family or is malformed.
    """
    directory = Path(directory)
    family = read_sidecar(directory).get("family")
    if family == LOGREG_FAMILY:
        return LogisticModel.load(directory)
    if family == LIGHTGBM_FAMILY:
        return LightGBMModel.load(directory)
    if family == CATBOOST_FAMILY:
        return CatBoostModel.load(directory)
    if family == _ENSEMBLE_FAMILY:
        from alphagate.models.ensemble import EnsembleModel

        return EnsembleModel.load(directory)
    if family in DEEP_FAMILIES:
        from alphagate.models.deep.model import DeepModel

        return DeepModel.load(directory)
    raise _unknown_family(family, f" in {directory}")
