"""Train one horizon: holdout cut, out-of-fold calibration, final fit, honest evaluation.

The order of the steps is what keeps every reported number out of sample:

1. **Holdout.** The last ``holdout_fraction`` of distinct timestamps is set
   aside before anything is fitted. Training rows whose label is only known
   at or after the holdout's first ``t0`` (``t1 >= `` that instant) are
   purged, since their outcome is made of holdout-period returns. No embargo
   is needed: training lies wholly *before* the holdout, and the embargo
   guards the other side of a test window.
2. **Out-of-fold predictions** on the training part with purged, embargoed
   k-fold (``alphagate.training.splits``, ``alphagate.models.oof``).
3. **Calibrator** fitted on those out-of-fold predictions only
   (``alphagate.models.calibration.fit_out_of_fold``); in-sample predictions
   would teach it that the model is right more often than it is.
4. **Final model** fitted on all training rows (more data than any fold had),
   then the holdout is scored and calibrated by maps that never saw it.

Everything is seeded by ``seed`` and the families are single-threaded, so two
runs with the same inputs return identical probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphagate.models.calibration import Calibrator, CalibratorKind, fit_out_of_fold
from alphagate.models.factory import Family, make_model
from alphagate.models.oof import out_of_fold_predictions
from alphagate.models.protocol import Model
from alphagate.training.dataset import TrainingSet
from alphagate.training.evaluation import evaluate
from alphagate.training.splits import purged_kfold

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class HorizonResult:
    """What training one horizon produced.

    Attributes
    ----------
    model
        Fitted on every (purged) training row.
    calibrator
        Fitted on ``oof`` only.
    train_positions, holdout_positions
        Integer positions into the ``TrainingSet`` that was trained on and
        held out; the rows between them were purged.
    oof
        Out-of-fold P(up) on the training rows (indexed like them).
    holdout_raw, holdout_calibrated
        The final model's P(up) on the holdout, before and after calibration
        (indexed like the holdout rows).
    evaluation
        ``evaluate`` of the calibrated holdout probabilities.
    evaluation_raw
        The same for the raw ones, to show what calibration changed.
    """

    model: Model
    calibrator: Calibrator
    train_positions: IntArray
    holdout_positions: IntArray
    oof: pd.Series
    holdout_raw: pd.Series
    holdout_calibrated: pd.Series
    evaluation: dict[str, float]
    evaluation_raw: dict[str, float]


def holdout_split(
    t0: pd.Series, t1: pd.Series, holdout_fraction: float
) -> tuple[IntArray, IntArray]:
    """Positions of the purged training rows and of the last ``holdout_fraction`` of time.

    The holdout holds the last ``ceil(holdout_fraction * T)`` of the ``T``
    distinct timestamps (all symbols at a timestamp go together); training
    keeps the earlier rows whose ``t1`` is before the holdout's first ``t0``.

    Raises
    ------
    ValueError
        ``holdout_fraction`` outside ``(0, 1)``, or nothing left on one side.
    """
    if not 0.0 < holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {holdout_fraction}")
    start = pd.DatetimeIndex(t0)
    end = pd.DatetimeIndex(t1)
    times = start.unique().sort_values()
    n_holdout = math.ceil(holdout_fraction * len(times))
    if n_holdout >= len(times):
        raise ValueError(f"{len(times)} distinct timestamp(s) leave nothing to train on")
    cut = times[len(times) - n_holdout]
    positions = np.arange(len(start), dtype=np.int64)
    holdout = positions[np.asarray(start >= cut)]
    train = positions[np.asarray((start < cut) & (end < cut))]
    if train.size == 0:
        raise ValueError("no training row is left after purging labels that end in the holdout")
    return train, holdout


def train_horizon(
    ts: TrainingSet,
    *,
    family: Family,
    seed: int,
    params: Mapping[str, Any] | None = None,
    n_splits: int = 5,
    embargo: float = 0.01,
    calibration: CalibratorKind = "isotonic",
    holdout_fraction: float = 0.2,
    cost_bps: float = 10.0,
    periods_per_year: float = 252,
) -> HorizonResult:
    """Fit, calibrate and evaluate one model family on one horizon's samples.

    Parameters
    ----------
    ts
        The horizon's samples (``make_dataset``).
    family, seed, params
        The model, as ``alphagate.models.factory.make_model`` takes it.
    n_splits, embargo
        Purged k-fold on the training part, for the out-of-fold predictions.
    calibration
        ``"isotonic"``, ``"sigmoid"`` or ``"temperature"``.
    holdout_fraction
        Share of the latest distinct timestamps held out for evaluation.
    cost_bps, periods_per_year
        Passed to ``evaluate`` for the holdout strategy.

    Returns
    -------
    HorizonResult
    """
    train_rows, holdout_rows = holdout_split(ts.t0, ts.t1, holdout_fraction)
    train, holdout = ts.take(train_rows), ts.take(holdout_rows)

    def factory() -> Model:
        return make_model(family, seed=seed, params=params)

    splits = purged_kfold(train.t0, train.t1, n_splits=n_splits, embargo=embargo)
    oof = out_of_fold_predictions(factory, train.X, train.y, splits, sample_weight=train.weights)
    calibrator = fit_out_of_fold(calibration, oof, train.y)
    model = factory().fit(train.X, train.y, sample_weight=train.weights)
    raw = pd.Series(model.predict_proba(holdout.X), index=holdout.X.index, name="p_raw")
    calibrated = pd.Series(
        calibrator.transform(raw.to_numpy()), index=holdout.X.index, name="p_calibrated"
    )
    symbols = holdout.X.index.get_level_values("symbol")

    def judge(p: pd.Series) -> dict[str, float]:
        return evaluate(
            p.to_numpy(),
            holdout.y.to_numpy(),
            holdout.forward_return.to_numpy(),
            holdout.t0,
            symbols=symbols,
            horizon=ts.horizon,
            cost_bps=cost_bps,
            periods_per_year=periods_per_year,
        )

    return HorizonResult(
        model=model,
        calibrator=calibrator,
        train_positions=train_rows,
        holdout_positions=holdout_rows,
        oof=oof,
        holdout_raw=raw,
        holdout_calibrated=calibrated,
        evaluation=judge(calibrated),
        evaluation_raw=judge(raw),
    )
