"""Composition of ``alphagate evaluate`` and ``alphagate calibrate``: look at a finished run again.

Both work on any run, made by ``alphagate train`` or by ``alphagate pipeline
run``: ``alphagate.runs`` finds it and says where its files are, and
``training.review`` fits the new calibrator. A calibrator fitted here never
replaces the one the run stands by; it is written beside it under its own
name (or, for a pipeline run, outside every stage, see ``Run.review_folder``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from alphagate.runs import Run, find_run
from alphagate.runs.layout import HOLDOUT, OOF, write_calibration
from alphagate.training.evaluation import to_json_dict
from alphagate.training.review import CalibrationKind, recalibrate


def run_evaluations(runs_dir: Path, run_id: str) -> dict[int, dict[str, Any]]:
    """Each horizon's holdout evaluation, ``{"raw": {...}, "calibrated": {...}}``, of any run."""
    return find_run(runs_dir, run_id).evaluations()


@dataclass(frozen=True)
class RecalibratedRun:
    """Per horizon the evaluation before (the run's calibrator) and after (the new one)."""

    run: Run
    kind: CalibrationKind
    before: dict[int, dict[str, Any]]
    after: dict[int, dict[str, float]]
    folders: dict[int, Path]


def recalibrate_run(runs_dir: Path, run_id: str, kind: CalibrationKind) -> RecalibratedRun:
    """Fit ``kind`` on each horizon's out-of-fold predictions and judge it on the holdout.

    Writes ``calibrator-<kind>.json`` and ``evaluation-<kind>.json`` per
    horizon into the run's review folder and returns both evaluations.
    """
    run = find_run(runs_dir, run_id)
    before = run.evaluations()
    after: dict[int, dict[str, float]] = {}
    folders: dict[int, Path] = {}
    for horizon, folder in run.horizons().items():
        fitted = recalibrate(
            pd.read_parquet(folder / OOF), pd.read_parquet(folder / HOLDOUT), horizon, kind
        )
        target = run.review_folder(horizon)
        write_calibration(
            target, kind, fitted.calibrator.to_dict(), to_json_dict(fitted.evaluation)
        )
        after[horizon], folders[horizon] = fitted.evaluation, target
    return RecalibratedRun(run, kind, before, after, folders)
