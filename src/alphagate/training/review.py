"""Fit a different calibrator for a finished training run, and judge it on the holdout.

``alphagate train`` calibrates and evaluates as it goes; ``alphagate
calibrate`` and the pipeline's calibrate stage let a user (or the pipeline)
try another calibrator without retraining. The new calibrator is fitted on
the run's out-of-fold predictions only, never on the holdout labels, so the
holdout stays a fair judge of it.

This module computes on frames and touches no files: where a run keeps its
predictions and where a new calibrator goes is the run layout's business
(``alphagate.runs``), which this ring may not import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from alphagate.models.calibration import Calibrator, fit_out_of_fold
from alphagate.training.evaluation import evaluate

CalibrationKind = Literal["isotonic", "sigmoid", "temperature"]


@dataclass(frozen=True, eq=False)
class Recalibration:
    """A calibrator fitted after training and its evaluation on the holdout."""

    calibrator: Calibrator
    evaluation: dict[str, float]


def recalibrate(
    oof: pd.DataFrame, holdout: pd.DataFrame, horizon: int, kind: CalibrationKind
) -> Recalibration:
    """Fit ``kind`` on one horizon's out-of-fold predictions; evaluate it on the holdout.

    Parameters
    ----------
    oof
        The run's ``oof.parquet``: ``p_oof`` and ``y`` of the training part.
    holdout
        The run's ``holdout_predictions.parquet``: ``symbol``, ``ts``,
        ``p_raw``, ``y`` and ``forward_return``.
    horizon, kind
        The label horizon in bars (the evaluation's holding period) and the
        calibrator to fit.
    """
    calibrator = fit_out_of_fold(kind, oof["p_oof"], oof["y"])
    calibrated = calibrator.transform(holdout["p_raw"].to_numpy(dtype="float64"))
    evaluation = evaluate(
        calibrated,
        holdout["y"].to_numpy(),
        holdout["forward_return"].to_numpy(),
        pd.DatetimeIndex(holdout["ts"]),
        symbols=holdout["symbol"].to_numpy(),
        horizon=horizon,
    )
    return Recalibration(calibrator, evaluation)
