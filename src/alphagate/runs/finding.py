"""Finding a run by its id, whatever made it, and what a model needs from it.

``alphagate backtest --strategy model``, ``evaluate`` and ``calibrate`` take a
run id and must work the same for a run made by ``alphagate train`` and one
made by ``alphagate pipeline run`` (see ``layout`` for both layouts). A
``Run`` hides the difference: its horizons, the folder of each horizon's
model and predictions, the calibrator the run stands by, and the training
manifest. Missing pieces are the user's to fix, so each error says what to
run.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alphagate.errors import AlphagateError
from alphagate.runs.json_files import read_json, read_json_or_none
from alphagate.runs.layout import (
    CALIBRATE,
    EVALUATION,
    MANIFEST,
    RUN_INFO,
    TRAIN,
    TRAINING_MANIFEST,
    horizon_name,
    read_stage_manifest,
)

RunKind = Literal["training", "pipeline"]
REVIEW = "review"
"""A pipeline run's folder for calibrators fitted afterwards, outside every stage."""


class RunNotFoundError(AlphagateError):
    """No run of that id under the runs directory."""


class RunNotTrainedError(AlphagateError):
    """The run exists but has no finished models to load."""


@dataclass(frozen=True)
class Run:
    """One run directory and the command that made it."""

    run_id: str
    directory: Path
    kind: RunKind

    @property
    def train_dir(self) -> Path:
        """The folder holding the training manifest and one ``h<h>/`` per horizon."""
        return self.directory / TRAIN

    def stage_manifest(self, stage: str) -> dict[str, Any] | None:
        """A finished pipeline stage's manifest; ``None`` if unfinished or a training run."""
        if self.kind != "pipeline":
            return None
        return read_stage_manifest(self.directory / stage, stage)

    def training_manifest(self) -> dict[str, Any]:
        """The training manifest: horizons, family, the bars and their hash.

        Raises
        ------
        RunNotTrainedError
            When the run has no finished training, saying which command finishes it.
        """
        if self.kind == "pipeline":
            if self.stage_manifest(TRAIN) is None:
                raise RunNotTrainedError(
                    f"pipeline run {self.run_id!r} has no finished train stage, so no models; "
                    f"run `alphagate pipeline run --run-id {self.run_id}` (it resumes where it "
                    "stopped) and try again"
                )
            path = self.train_dir / TRAINING_MANIFEST
        else:
            path = self.train_dir / MANIFEST
        manifest = read_json_or_none(path)
        if manifest is None or "horizons" not in manifest:
            raise RunNotTrainedError(
                f"run {self.run_id!r} has no finished training ({path} is missing or has no "
                f"horizons); train it with `alphagate train --run-id <new id>` or "
                "`alphagate pipeline run`"
            )
        return manifest

    def horizons(self) -> dict[int, Path]:
        """Each trained horizon's folder (model, OOF and holdout predictions), by horizon.

        Raises
        ------
        RunNotTrainedError
            When the manifest names a horizon whose folder is missing.
        """
        folders: dict[int, Path] = {}
        for horizon in sorted(int(h) for h in self.training_manifest()["horizons"]):
            folder = self.train_dir / horizon_name(horizon)
            if not folder.is_dir():
                raise RunNotTrainedError(
                    f"run {self.run_id!r} names horizon {horizon} but {folder} is missing; "
                    "the run was changed after training, train it again"
                )
            folders[horizon] = folder
        return folders

    @property
    def uses_chosen_calibrators(self) -> bool:
        """Whether the calibrators are the pipeline's calibrate stage's, not training's."""
        return self.stage_manifest(CALIBRATE) is not None

    def calibrator_folder(self, horizon: int) -> Path:
        """Where the calibrator this run stands by for ``horizon`` lives.

        A pipeline run with a finished calibrate stage stands by the calibrator
        that stage chose; otherwise it is the one fitted during training.
        """
        chosen = self.directory / CALIBRATE if self.uses_chosen_calibrators else self.train_dir
        return chosen / horizon_name(horizon)

    def review_folder(self, horizon: int) -> Path:
        """Where ``alphagate calibrate`` writes a calibrator fitted after the run.

        Beside the trained files of a training run (as always); outside every
        stage of a pipeline run, since a finished stage's files are its hash
        and changing them would make the pipeline redo the later stages.
        """
        if self.kind == "pipeline":
            return self.directory / REVIEW / horizon_name(horizon)
        return self.train_dir / horizon_name(horizon)

    def evaluations(self) -> dict[int, dict[str, Any]]:
        """Per horizon the holdout evaluation: ``{"raw": {...}, "calibrated": {...}}``.

        ``calibrated`` is that of the calibrator the run stands by
        (``calibrator_folder``), so it describes the probabilities a backtest
        of the run uses.
        """
        found: dict[int, dict[str, Any]] = {}
        for horizon, folder in self.horizons().items():
            evaluation = read_json(folder / EVALUATION)
            if self.uses_chosen_calibrators:
                chosen = read_json(self.calibrator_folder(horizon) / EVALUATION)
                evaluation = {**evaluation, "calibrated": chosen}
            found[horizon] = evaluation
        return found


def list_runs(runs_dir: Path) -> list[str]:
    """The ids of the runs in ``runs_dir``, of either kind, sorted."""
    if not runs_dir.is_dir():
        return []
    return sorted(
        p.name
        for p in runs_dir.iterdir()
        if p.is_dir() and ((p / RUN_INFO).is_file() or (p / TRAIN).is_dir())
    )


LATEST = "latest"
"""The run id that names the run in ``runs_dir`` whose models were trained last."""


def find_run(runs_dir: Path, run_id: str) -> Run:
    """The run ``run_id`` in ``runs_dir``, whichever command made it; ``latest`` for the newest.

    Raises
    ------
    RunNotFoundError
        When there is no such run, listing the runs there and the closest id.
    """
    if run_id == LATEST:
        return _latest_run(runs_dir)
    directory = runs_dir / run_id
    plain = bool(run_id) and "/" not in run_id and not run_id.startswith(".")
    if plain and (
        (directory / RUN_INFO).is_file() or (directory / TRAIN / TRAINING_MANIFEST).is_file()
    ):
        return Run(run_id, directory, "pipeline")
    if plain and (directory / TRAIN).is_dir():
        return Run(run_id, directory, "training")
    known = list_runs(runs_dir)
    message = f"no run {run_id!r} in {runs_dir}"
    close = difflib.get_close_matches(run_id, known, n=1, cutoff=0.6)
    if close:
        message += f"; did you mean {close[0]!r}?"
    if known:
        message += f" Runs there: {', '.join(known)}."
    elif runs_dir.is_dir():
        message += (
            "; it holds no runs yet: make one with `alphagate train` or `alphagate pipeline run`"
        )
    else:
        message += " (the folder does not exist; pass --runs-dir where your runs are)"
    raise RunNotFoundError(message)


def _latest_run(runs_dir: Path) -> Run:
    """The run whose training finished last; a run without models does not count."""
    trained: list[tuple[int, str]] = []
    for run_id in list_runs(runs_dir):
        run = find_run(runs_dir, run_id)
        try:
            run.training_manifest()
        except RunNotTrainedError:
            continue
        trained.append((run.train_dir.stat().st_mtime_ns, run_id))
    if not trained:
        raise RunNotFoundError(
            f"no trained run in {runs_dir} for 'latest': make one with `make pipeline`, "
            "`alphagate pipeline run` or `alphagate train`"
        )
    return find_run(runs_dir, max(trained)[1])
