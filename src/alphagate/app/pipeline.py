"""Composition of ``alphagate pipeline``: the concrete stages, from bars to a validation report.

The generic machinery (checkpoints, manifests, skipping) is ``alphagate.pipeline``;
this module only says what each stage computes, and sits in ring 8 with the
other composition modules because it wires data, research, training and the
gates together. The list in ``build_stages`` is the pipeline; adding a stage
is one more entry.

Choices that keep a run honest and reproducible:

* **The data stage snapshots the bars** it selected into ``data/bars.parquet``
  and every later stage reads that file, not the store, so an ingest made
  between two stages (or two runs) can never mix data under one manifest.
* **Barriers are chosen on the training part only**, cut before the earliest
  instant any horizon's holdout can start (see ``training_end``).
* **The train stage is a function of its inputs.** It searches afresh each
  time it runs: a study left half-done by an interrupted attempt is deleted
  first, so a resumed stage finds the same parameters as an uninterrupted one.
* **The calibrator is chosen on out-of-fold predictions only**
  (``training.calibration_choice``); the holdout only reports the result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import alphagate
from alphagate.app import data as app
from alphagate.app.pipeline_stages import (
    backtest_stage,
    calibrate_stage,
    candidate_stage,
    data_stage,
    features_stage,
    labels_stage,
    report_stage,
    stress_stage,
    train_stage,
    validate_stage,
)
from alphagate.config import Settings, config_hash, masked_dump
from alphagate.pipeline import (
    PipelineError,
    PipelineResult,
    Stage,
    StageState,
    inspect_run,
    run_pipeline,
)
from alphagate.pipeline.runner import Reporter
from alphagate.runs import read_json_or_none
from alphagate.runs.layout import (
    RUN_INFO,
)


@dataclass(frozen=True)
class Selection:
    """Which bars a run uses: the source and the symbols and dates cut from the store."""

    source: app.SourceKind
    timeframe: str
    symbols: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain data for the run's configuration and ``run.json``."""
        return {**asdict(self), "symbols": list(self.symbols)}


def selection_of(
    settings: Settings,
    symbols: Sequence[str] = (),
    start: str | None = None,
    end: str | None = None,
) -> Selection:
    """The selection a command line asks for; dates are checked here, not mid-run."""
    app.parse_instant(start)
    app.parse_instant(end)
    return Selection(
        source=settings.data.source,
        timeframe=settings.data.timeframe,
        symbols=tuple(dict.fromkeys(s for s in symbols if s)),
        start=start,
        end=end,
    )


def default_run_id(settings: Settings, selection: Selection) -> str:
    """A stable name from the configuration hash and the selection.

    Running the same command again lands in the same run and reuses every
    unchanged stage; any other configuration or selection gets its own run.
    """
    payload = json.dumps([config_hash(settings), selection.to_json()], sort_keys=True)
    return f"pipeline-{selection.source}-{hashlib.sha256(payload.encode()).hexdigest()[:10]}"


def run_config(settings: Settings, selection: Selection) -> dict[str, Any]:
    """The nested configuration the stages' keys point into: settings plus ``selection``."""
    return {**masked_dump(settings), "selection": selection.to_json()}


def build_stages(settings: Settings, selection: Selection) -> list[Stage]:
    """The pipeline, in order."""
    return [
        Stage(
            "data",
            partial(data_stage, settings, selection),
            config=("data", "selection"),
            description="ingest the source (or use the store) and snapshot the selected bars",
        ),
        Stage(
            "features",
            partial(features_stage, settings),
            inputs=("data",),
            config=("features.profile", "data.calendar"),
            description="point-in-time features of the configured profile",
        ),
        Stage(
            "labels",
            partial(labels_stage, settings),
            inputs=("data",),
            config=(
                "labels.horizons",
                "labels.barrier_horizon",
                "labels.vol_span",
                "labels.target_balance",
            ),
            description="fixed-horizon labels and triple-barrier labels, barriers from training",
        ),
        Stage(
            "train",
            partial(train_stage, settings),
            inputs=("data", "features", "labels"),
            config=(
                "pipeline.model",
                "pipeline.members",
                "pipeline.trials",
                "pipeline.seed",
                "pipeline.calibration_methods",
                "labels.horizons",
                "features.profile",
                "data.calendar",
            ),
            description="one model per horizon: search, purged CV, OOF calibration, holdout",
        ),
        Stage(
            "calibrate",
            partial(calibrate_stage, settings),
            inputs=("train",),
            config=("pipeline.calibration_methods", "pipeline.calibration_folds"),
            description="choose each horizon's calibrator on out-of-fold predictions",
        ),
        Stage(
            "backtest",
            partial(backtest_stage, settings),
            inputs=("data", "train", "calibrate"),
            config=("pipeline.backtest", "features.profile", "data.calendar", "labels.horizons"),
            description="the models through the decision path and risk guard, out of sample only",
        ),
        Stage(
            "validate",
            partial(validate_stage, settings),
            inputs=("data", "train", "calibrate", "backtest"),
            config=("pipeline.validation", "features.profile", "data.calendar"),
            description="every check with its threshold, and the verdict",
        ),
        Stage(
            "stress",
            partial(stress_stage, settings),
            inputs=("data", "train", "calibrate"),
            config=(
                "stress",
                "pipeline.backtest",
                "execution",
                "risk",
                "decision",
                "features.profile",
                "data.calendar",
            ),
            description="the models through seeded scenarios, and the stress gate",
        ),
        Stage(
            "report",
            report_stage,
            inputs=("data", "train", "calibrate", "backtest", "validate"),
            optional_inputs=("stress",),
            description="one self-contained HTML page: verdict, evidence, provenance",
        ),
        Stage(
            "candidate",
            partial(candidate_stage, settings),
            inputs=("data", "train", "calibrate", "stress"),
            config=(
                "gates",
                "pipeline.validation",
                "pipeline.backtest",
                "execution",
                "risk",
                "decision",
                "features.profile",
                "data.calendar",
            ),
            description="submitted to the promotion gates and moved until it stops: where and why",
        ),
    ]


def run(
    settings: Settings,
    selection: Selection,
    *,
    run_id: str | None = None,
    only: str | None = None,
    from_stage: str | None = None,
    reporter: Reporter | None = None,
) -> PipelineResult:
    """Run the pipeline for ``selection`` under ``pipeline.runs_dir/<run_id>``."""
    chosen = run_id or default_run_id(settings, selection)
    return run_pipeline(
        build_stages(settings, selection),
        root=settings.pipeline.runs_dir,
        run_id=chosen,
        config=run_config(settings, selection),
        seed=settings.pipeline.seed,
        code_version=alphagate.code_version(),
        only=only,
        from_stage=from_stage,
        run_info={
            "run_id": chosen,
            "selection": selection.to_json(),
            "config_hash": config_hash(settings),
            "code_version": alphagate.code_version(),
        },
        reporter=reporter,
    )


def status(
    settings: Settings, selection: Selection | None, run_id: str | None
) -> tuple[str, list[StageState]]:
    """Each stage's state for a run against the current configuration.

    With a run id and no selection, the selection the run was started with
    (its ``run.json``) is used, so ``status --run-id X`` judges X as it was asked.

    Raises
    ------
    PipelineError
        When the run does not exist, naming the runs that do.
    """
    root = settings.pipeline.runs_dir
    if run_id is not None and selection is None:
        selection = _recorded_selection(root / run_id) or selection_of(settings)
    selection = selection or selection_of(settings)
    chosen = run_id or default_run_id(settings, selection)
    if not (root / chosen).is_dir():
        known = sorted(p.parent.name for p in root.glob(f"*/{RUN_INFO}"))
        raise PipelineError(
            f"no pipeline run {chosen!r} in {root}; runs there: "
            + (", ".join(known) or "none (run `alphagate pipeline run` first)")
        )
    states = inspect_run(
        build_stages(settings, selection),
        root=root,
        run_id=chosen,
        config=run_config(settings, selection),
        code_version=alphagate.code_version(),
    )
    return chosen, states


def _recorded_selection(run_dir: Path) -> Selection | None:
    try:
        recorded = (read_json_or_none(run_dir / RUN_INFO) or {})["selection"]
        return Selection(
            source=recorded["source"],
            timeframe=str(recorded["timeframe"]),
            symbols=tuple(recorded["symbols"]),
            start=recorded["start"],
            end=recorded["end"],
        )
    except (KeyError, TypeError):
        return None
