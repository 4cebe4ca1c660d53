"""Where things are inside one run directory: the names every writer and reader share.

Two commands make runs, with one layout underneath:

* ``alphagate train`` writes ``<runs>/<id>/train/``: ``manifest.json`` (the
  training manifest: horizons, bars, hashes) and one ``h<h>/`` folder per
  horizon with ``model/``, ``calibrator.json``, ``evaluation.json``,
  ``oof.parquet``, ``holdout_predictions.parquet`` and
  ``feature_profiles.json`` (each feature's training distribution, for the
  staleness monitor's PSI; runs trained before it have none).
* ``alphagate pipeline run`` writes ``<runs>/<id>/run.json`` and one folder
  per stage, each with its stage manifest (``manifest.json``, ``status:
  complete``). Its ``train/`` is a training stage as above, the training
  manifest kept as ``training.json``; its ``calibrate/h<h>/`` holds the
  calibrator the pipeline chose.

The names live here so a writer and a reader can never disagree on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alphagate.runs.json_files import read_json_or_none, write_json

MANIFEST = "manifest.json"
"""Every stage's manifest (a training run's ``train/`` too), written last."""
COMPLETE = "complete"
"""A pipeline stage manifest's ``status`` once the stage finished."""
RUN_INFO = "run.json"
"""What a pipeline run was asked for; its presence marks a pipeline run."""
TRAIN = "train"
CALIBRATE = "calibrate"
TRAINING_MANIFEST = "training.json"
"""A pipeline train stage's copy of the training manifest (``manifest.json`` is the stage's)."""
CALIBRATOR = "calibrator.json"
EVALUATION = "evaluation.json"
MODEL = "model"
OOF = "oof.parquet"
HOLDOUT = "holdout_predictions.parquet"
FEATURE_PROFILES = "feature_profiles.json"


def horizon_name(horizon: int) -> str:
    """The folder name of one horizon's files: ``h5``."""
    return f"h{horizon}"


def horizon_folders(directory: Path) -> dict[int, Path]:
    """Each ``h<h>/`` folder in ``directory`` by horizon, in numeric order (h5 before h20)."""
    found = (p for p in directory.glob("h*") if p.is_dir() and p.name[1:].isdigit())
    return dict(sorted((int(p.name[1:]), p) for p in found))


def calibration_names(kind: str) -> tuple[str, str]:
    """The calibrator and evaluation files of a calibrator fitted after training, by kind."""
    return f"calibrator-{kind}.json", f"evaluation-{kind}.json"


def read_stage_manifest(directory: Path, stage: str) -> dict[str, Any] | None:
    """The manifest of a finished pipeline stage in ``directory``, or ``None``.

    ``None`` when there is no manifest, it is not valid JSON, names another
    stage, or does not say ``complete``: all of these mean "not a finished
    stage", never an error, so a damaged stage is simply run again.
    """
    manifest = read_json_or_none(directory / MANIFEST)
    if manifest is None or manifest.get("stage") != stage or manifest.get("status") != COMPLETE:
        return None
    return manifest


def write_calibration(
    folder: Path, kind: str, calibrator: Mapping[str, Any], evaluation: Mapping[str, Any]
) -> tuple[Path, Path]:
    """Save a calibrator fitted after training and its holdout evaluation into ``folder``.

    Named by kind (``calibration_names``), so the calibrator the run was
    trained with stays untouched.
    """
    calibrator_name, evaluation_name = calibration_names(kind)
    return (
        write_json(folder / calibrator_name, calibrator),
        write_json(folder / evaluation_name, evaluation),
    )
