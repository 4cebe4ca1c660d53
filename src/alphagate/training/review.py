"""Look at a finished training run again: its evaluation, or a different calibrator.

``alphagate train`` calibrates and evaluates as it goes; these two commands
let a user come back to a run without retraining. Re-calibration reads only
the run's saved out-of-fold predictions, never the holdout labels, so the
holdout stays a fair judge of the new calibrator.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from alphagate.errors import AlphagateError
from alphagate.models.calibration import fit_out_of_fold
from alphagate.training.evaluation import evaluate, to_json_dict

CalibrationKind = Literal["isotonic", "sigmoid", "temperature"]


def stage_directory(runs_dir: Path, run_id: str) -> Path:
    """The ``train`` stage of a run, or an error naming the runs that exist."""
    directory = runs_dir / run_id / "train"
    if not (directory / "manifest.json").is_file():
        known = sorted(p.parent.parent.name for p in runs_dir.glob("*/train/manifest.json"))
        raise AlphagateError(
            f"no finished training run {run_id!r} in {runs_dir}; runs there: "
            + (", ".join(known) or "none (run `alphagate train` first)")
        )
    return directory


def run_evaluations(directory: Path) -> dict[int, dict[str, Any]]:
    """Each horizon's saved evaluation: ``{"calibrated": {...}, "raw": {...}}``."""
    return {
        horizon: json.loads((folder / "evaluation.json").read_text(encoding="utf-8"))
        for horizon, folder in _horizon_folders(directory)
    }


def recalibrate(directory: Path, kind: CalibrationKind) -> dict[int, dict[str, Any]]:
    """Fit ``kind`` on each horizon's out-of-fold predictions and re-evaluate the holdout.

    Writes ``calibrator-<kind>.json`` and ``evaluation-<kind>.json`` beside the
    originals (which stay untouched) and returns the new evaluations.
    """
    results: dict[int, dict[str, Any]] = {}
    for horizon, folder in _horizon_folders(directory):
        oof = pd.read_parquet(folder / "oof.parquet")
        calibrator = fit_out_of_fold(kind, oof["p_oof"], oof["y"])
        holdout = pd.read_parquet(folder / "holdout_predictions.parquet")
        calibrated = calibrator.transform(holdout["p_raw"].to_numpy(dtype="float64"))
        evaluation = evaluate(
            calibrated,
            holdout["y"].to_numpy(),
            holdout["forward_return"].to_numpy(),
            pd.DatetimeIndex(holdout["ts"]),
            symbols=holdout["symbol"].to_numpy(),
            horizon=horizon,
        )
        _write_json(folder / f"calibrator-{kind}.json", calibrator.to_dict())
        _write_json(folder / f"evaluation-{kind}.json", to_json_dict(evaluation))
        results[horizon] = evaluation
    return results


def _horizon_folders(directory: Path) -> list[tuple[int, Path]]:
    folders = [(int(p.name[1:]), p) for p in directory.glob("h*") if p.name[1:].isdigit()]
    return sorted(folders)


def _write_json(path: Path, payload: object) -> None:
    """Write JSON atomically: a reader sees the old file or the new one, never half."""
    temporary = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    temporary.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    temporary.replace(path)
