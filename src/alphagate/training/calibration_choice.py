"""Choose a calibrator per horizon by cross-validation on out-of-fold predictions only.

Picking the calibrator that scores best on the holdout would make the holdout
part of the fit, and its calibration error would no longer be out of sample.
So the choice is made on the out-of-fold predictions of the training part,
which the calibrators are fitted on anyway: they are cut into contiguous
blocks of time; each candidate is fitted on all blocks but one and scored by
log loss (a proper scoring rule) on the one left out; the candidate with the
lowest pooled loss wins, ties going to the earlier one in the given order.

Blocks are contiguous, not shuffled, so a calibrator is always judged on a
stretch of time it did not see, as it will be live. No purge is applied
between blocks: a calibrator is a monotone map with one to a few dozen
parameters fitted on one number per row, and the few overlapping labels at
block edges cannot teach it anything about the block left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alphagate.models.calibration import CalibratorKind, fit_out_of_fold
from alphagate.models.calibration_metrics import log_loss


@dataclass(frozen=True)
class CalibrationChoice:
    """The chosen calibrator kind and every candidate's cross-validated log loss.

    A candidate that could not be fitted on some fold (too few rows, one
    class) scores ``inf`` and is never chosen.
    """

    kind: CalibratorKind
    scores: dict[str, float]


def cross_validated_log_loss(
    kind: CalibratorKind, p: pd.Series, y: pd.Series, times: pd.Series, n_folds: int
) -> float:
    """Pooled log loss of ``kind`` fitted on all time blocks but one, over every block.

    Parameters
    ----------
    kind
        The calibrator to score.
    p, y
        Out-of-fold probabilities and outcomes on one index (NaN ``p`` rows,
        which no fold predicted, are dropped).
    times
        Each row's timestamp, on the same index; rows sharing a timestamp
        stay in one block.
    n_folds
        Number of contiguous time blocks.
    """
    keep = p.notna().to_numpy()
    p, y, times = p.loc[keep], y.loc[keep], times.loc[keep]
    stamps = pd.DatetimeIndex(times).unique().sort_values()
    if len(stamps) < n_folds:
        raise ValueError(f"{len(stamps)} timestamps cannot make {n_folds} folds")
    block_of_stamp = np.arange(len(stamps)) * n_folds // len(stamps)
    blocks = pd.Series(block_of_stamp, index=stamps).reindex(pd.DatetimeIndex(times)).to_numpy()
    total = 0.0
    for block in range(n_folds):
        test = blocks == block
        try:
            calibrator = fit_out_of_fold(kind, p.loc[~test], y.loc[~test])
        except ValueError:
            return math.inf
        calibrated = calibrator.transform(p.loc[test].to_numpy(dtype=np.float64))
        total += log_loss(calibrated, y.loc[test].to_numpy()) * int(test.sum())
    return total / len(p)


def choose_calibration(
    p: pd.Series,
    y: pd.Series,
    times: pd.Series,
    kinds: Sequence[CalibratorKind],
    n_folds: int = 5,
) -> CalibrationChoice:
    """The calibrator among ``kinds`` with the lowest cross-validated log loss.

    Raises
    ------
    ValueError
        No kinds, or no kind could be fitted on every fold.
    """
    if not kinds:
        raise ValueError("no calibrator kinds to choose from")
    scores: dict[str, float] = {
        kind: cross_validated_log_loss(kind, p, y, times, n_folds) for kind in kinds
    }
    best = min(kinds, key=lambda kind: scores[kind])  # min keeps the first of equal scores
    if not math.isfinite(scores[best]):
        raise ValueError(
            f"no calibrator in {list(kinds)} could be fitted on every one of {n_folds} folds "
            f"of {int(p.notna().sum())} out-of-fold predictions"
        )
    return CalibrationChoice(kind=best, scores=scores)
