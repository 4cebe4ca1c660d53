"""Composition of ``alphagate train``: bars in, one tracked, registered model per horizon out.

Kept apart from ``research.py`` (features, labels) so each composition module
stays one room; it sits in ring 8 and only wires lower rings and the MLflow
adapter together. The choices that make a run trustworthy afterwards:

* **Everything a number depends on is recorded.** The manifest names the
  configuration hash, a hash of the exact bars, the code version, the seed
  and the searched parameters, so a result can be reproduced or refuted.
* **The search never sees the holdout.** Hyperparameters are searched on the
  purged training part of each horizon only; the holdout that judges the
  model is cut by the same rule ``train_horizon`` uses.
* **All or nothing on disk.** The stage is built in ``train.tmp-<uuid>`` and
  renamed to ``train`` only when every file is written, so a crash never
  leaves a ``train/`` that looks finished; the temporary directory is removed.
  The HTML summary (``report.html``, ``training_report``) is one of those
  files: it is rendered from the finished manifest inside the temporary
  directory, so every stage that exists has its report.
* **Models are registered last,** after every horizon trained, so a failed
  run adds no half a set of versions to the registry.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import resource
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

import alphagate
from alphagate import parallel
from alphagate.adapters.tracking import MlflowTracker
from alphagate.app.research import build_feature_frame, build_label_frame
from alphagate.config import Settings, config_hash
from alphagate.engine.drift import profile_features
from alphagate.errors import AlphagateError
from alphagate.models.calibration_metrics import plot_reliability_diagram
from alphagate.models.deep import DEEP_FAMILIES
from alphagate.models.factory import Family
from alphagate.runs import horizon_name, write_feature_profiles, write_json
from alphagate.runs.layout import (
    CALIBRATOR,
    EVALUATION,
    HOLDOUT,
    MANIFEST,
    MODEL,
    OOF,
    TRAIN,
)
from alphagate.training.dataset import TrainingSet, make_dataset
from alphagate.training.evaluation import to_json_dict
from alphagate.training.report import render_training_report
from alphagate.training.search import TaskMap, search_hyperparameters, serial_map
from alphagate.training.trainer import HorizonResult, holdout_split, train_horizon

CalibrationKind = Literal["isotonic", "sigmoid", "temperature"]
HOLDOUT_FRACTION = 0.2
EXPERIMENT = "alphagate-train"


@dataclass(frozen=True)
class TrainingRunResult:
    """What ``run_training`` left behind.

    The stage directory and its manifest, the MLflow run holding the same
    metrics and artifacts, and per horizon the registered model's name and version.
    """

    run_id: str
    directory: Path
    manifest: dict[str, Any]
    mlflow_run_id: str
    model_versions: dict[int, tuple[str, int]]


def data_hash(bars: pd.DataFrame) -> str:
    """SHA-256 of the bars' values and index: the same hash means the same training data."""
    rows = pd.util.hash_pandas_object(bars, index=True).to_numpy()
    return hashlib.sha256(rows.tobytes()).hexdigest()


def peak_memory_mb() -> float:
    """This process's peak resident memory so far, in MiB (``ru_maxrss`` is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


@dataclass(frozen=True)
class _Plan:
    """What every horizon of one run shares: the choices, the hashes, where to log."""

    family: Family
    seed: int
    trials: int
    calibration: CalibrationKind
    config_hash: str
    data_hash: str
    optuna_url: str
    tracker: MlflowTracker
    say: Callable[[str], None]
    members: tuple[str, ...] = ()
    base_params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    deep_params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    searched: Mapping[int, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    workers: int = 1
    task_map: TaskMap = serial_map
    on_trial: Callable[[int, int, int], None] | None = None
    profile_bins: int = 10


def _members_with_sizes(
    members: Sequence[str], deep_params: Mapping[str, Any]
) -> list[str | dict[str, Any]]:
    """Ensemble members, a deep one sized by ``pipeline.deep`` as when it is trained alone."""
    return [
        {"family": m, "params": dict(deep_params)} if m in DEEP_FAMILIES else m for m in members
    ]


def _search(plan: _Plan, ts: TrainingSet) -> dict[str, Any]:
    """Best parameters of ``plan.trials`` more trials on the purged training part only.

    The study is named by family, horizon, configuration and data, so a rerun
    on the same inputs resumes it and a run on other bars starts afresh.
    """
    train_rows, _ = holdout_split(ts.t0, ts.t1, HOLDOUT_FRACTION)
    found = search_hyperparameters(
        ts.take(train_rows),
        family=plan.family,
        n_trials=plan.trials,
        seed=plan.seed,
        study_name=f"{plan.family}-h{ts.horizon}-{plan.config_hash}-{plan.data_hash[:12]}",
        storage_url=plan.optuna_url,
        fixed_params=plan.base_params,
        workers=plan.workers,
        task_map=plan.task_map,
        on_trial=functools.partial(plan.on_trial, ts.horizon) if plan.on_trial else None,
    )
    return dataclasses.asdict(found)


def _write_horizon(ts: TrainingSet, result: HorizonResult, directory: Path, *, bins: int) -> None:
    """Save one horizon's model, calibrator, evaluation, predictions, feature profiles and plots.

    The profiles are of the rows the final model was fitted on (the training
    part, not the holdout): the population a live feature is compared with.
    """
    directory.mkdir(parents=True)
    result.model.save(directory / MODEL)
    write_json(directory / CALIBRATOR, result.calibrator.to_dict())
    scores = {"calibrated": result.evaluation, "raw": result.evaluation_raw}
    write_json(directory / EVALUATION, {k: to_json_dict(v) for k, v in scores.items()})
    train = ts.take(result.train_positions)
    write_feature_profiles(directory, profile_features(train.X, bins), bins=bins)
    oof = pd.DataFrame({"p_oof": result.oof, "y": train.y})
    oof.reset_index().to_parquet(directory / OOF, index=False)
    holdout = ts.take(result.holdout_positions)
    columns = [result.holdout_raw, result.holdout_calibrated, holdout.y, holdout.forward_return]
    predictions = pd.concat(columns, axis=1)  # p_raw, p_calibrated, y, forward_return
    predictions.reset_index().to_parquet(directory / HOLDOUT, index=False)
    plot_reliability_diagram(
        result.holdout_raw.to_numpy(),
        holdout.y.to_numpy(),
        directory / "reliability.png",
        p_after=result.holdout_calibrated.to_numpy(),
    )
    importances = getattr(result.model, "feature_importances", None)
    if callable(importances):
        table = pd.Series(importances()).rename("importance").sort_values(ascending=False)
        table.rename_axis("feature").reset_index().to_csv(
            directory / "feature_importances.csv", index=False
        )


def _log_epochs(tracker: MlflowTracker, prefix: str, model: object) -> None:
    """Log a net's per-epoch losses of its final fit, ``step`` = epoch: MLflow's learning curve.

    A deep model keeps them in ``history``; an ensemble's deep members are
    logged under ``<prefix>.member-<i>-<family>``. Other families have no
    epochs and log nothing here.
    """
    for record in getattr(model, "history", ()):
        losses = {"train_loss": record.train_loss, "val_loss": record.val_loss}
        tracker.log_metrics({f"{prefix}.{k}": v for k, v in losses.items()}, step=record.epoch)
    labels = getattr(model, "member_names", ())
    for label, member in zip(labels, getattr(model, "members", ()), strict=True):
        _log_epochs(tracker, f"{prefix}.member-{label}", member)


def _one_horizon(plan: _Plan, ts: TrainingSet, directory: Path) -> dict[str, Any]:
    """Search (maybe), train, save and log one horizon; return its manifest entry."""
    h, search = ts.horizon, None
    if plan.trials > 0:
        plan.say(f"h={h}: searching {plan.trials} trial(s)")
        search = _search(plan, ts)
    elif h in plan.searched:
        search = dict(plan.searched[h])
        plan.say(f"h={h}: the parameters of study {search.get('study_name')}")
    if search:
        plan.tracker.log_params({f"h{h}.{k}": v for k, v in search["best_params"].items()})
    params = {**plan.base_params, **(search["best_params"] if search else {})} or None
    if plan.family == "ensemble":
        params = {"members": _members_with_sizes(plan.members, plan.deep_params), "horizon": h}
    plan.say(f"h={h}: training {plan.family} on {len(ts)} samples")
    result = train_horizon(
        ts,
        family=plan.family,
        seed=plan.seed,
        params=params,
        calibration=plan.calibration,
        holdout_fraction=HOLDOUT_FRACTION,
    )
    _write_horizon(ts, result, directory, bins=plan.profile_bins)
    plan.tracker.log_metrics({f"h{h}.{k}": v for k, v in result.evaluation.items()})
    plan.tracker.log_metrics({f"h{h}.raw.{k}": v for k, v in result.evaluation_raw.items()})
    _log_epochs(plan.tracker, f"h{h}", result.model)
    plan.tracker.log_model_dir(directory, horizon_name(h))
    return {
        "n_samples": len(ts),
        "train_end": _train_end(ts, result),
        "n_train": int(result.train_positions.size),
        "n_holdout": int(result.holdout_positions.size),
        "n_dropped_features": ts.n_dropped_features,
        "n_dropped_labels": ts.n_dropped_labels,
        "params": params or {},
        "search": search,
        "holdout": to_json_dict(result.evaluation),
        "holdout_raw": to_json_dict(result.evaluation_raw),
    }


def _train_end(ts: TrainingSet, result: HorizonResult) -> str:
    """The last bar any training sample read (its label's ``t1``), in ISO 8601.

    A model's age is measured from here: it knows the market up to this bar.
    """
    end = pd.Timestamp(ts.take(result.train_positions).t1.max())
    return end.tz_convert("UTC").isoformat()


def _bars_summary(bars: pd.DataFrame) -> dict[str, Any]:
    """Rows, symbols and time span, for a reader who wants more than the hash."""
    ts = bars.index.get_level_values("ts")
    symbols = sorted(map(str, bars.index.unique("symbol")))
    return {"rows": len(bars), "symbols": symbols, "start": str(ts.min()), "end": str(ts.max())}


def _check_members(family: Family, members: Sequence[str], trials: int) -> None:
    """Refuse members without an ensemble, an ensemble without valid members, or a searched one."""
    if family != "ensemble":
        if members:
            raise AlphagateError(f"members are for --model ensemble, not {family}; drop them")
        return
    from alphagate.models.ensemble import parse_members

    try:
        parse_members(list(members))
    except ValueError as error:
        raise AlphagateError(str(error)) from None
    if trials > 0:
        raise AlphagateError(
            "an ensemble has no search space; train it with --trials 0 (members use defaults)"
        )


def run_training(
    settings: Settings,
    bars: pd.DataFrame,
    *,
    family: Family = "lightgbm",
    horizons: Sequence[int] = (1, 5, 20),
    trials: int = 0,
    seed: int = 7,
    calibration: CalibrationKind = "isotonic",
    runs_dir: Path = Path("runs"),
    run_id: str | None = None,
    progress: Callable[[str], None] | None = None,
    members: Sequence[str] = (),
    searched: Mapping[int, Mapping[str, Any]] | None = None,
    workers: int = 1,
    on_trial: Callable[[int, int, int], None] | None = None,
) -> TrainingRunResult:
    """Train, evaluate, save, track and register one model per horizon.

    Parameters
    ----------
    settings
        Effective settings; features use its profile and cache, and its hash
        names the run and the search studies.
    bars
        Canonical bars (``research.load_bars``).
    family, seed, calibration
        The model family, the seed of every random choice, the calibrator.
    horizons
        Fixed-horizon label horizons, in bars.
    trials
        Optuna trials per horizon (0: the family's defaults). Studies live in
        ``training.optuna_storage`` (default ``runs_dir/optuna.db``) and
        resume when run again with the same name.
    runs_dir
        Root of runs, of ``mlflow.db`` and of MLflow's artifacts (``mlruns/``).
    run_id
        Name of the run; defaults to ``<UTC time>-<config hash[:6]>``.
    progress
        Called with one line per step, for a CLI to print.
    members
        With ``family="ensemble"``, the member families (each fitted with
        its defaults); refused with any other family.
    searched
        Per horizon, the record of a search already run (``SearchResult`` as a
        dict: ``best_params``, ``study_name``, ...): that horizon trains with
        its best parameters, not searching again. The gates' study watcher
        trains a study's new best trial this way; refused with ``trials``.
    workers
        Workers sharing each horizon's trials through the Optuna storage,
        where ``parallel.backend`` runs them (``training.search``: what a
        parallel search does not reproduce).
    on_trial
        Called with ``(horizon, finished, trials)`` as search trials finish.

    Raises
    ------
    AlphagateError
        When ``runs_dir/run_id/train`` already exists: a finished stage is
        never overwritten; when members are wrong for the family, or an
        ensemble is to be searched.
    """
    _check_members(family, members, trials)
    if searched and trials > 0:
        raise AlphagateError("give trials to search or searched parameters to train, not both")
    started = time.perf_counter()
    chash = config_hash(settings)
    run_id = run_id or f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{chash[:6]}"
    stage = runs_dir / run_id / TRAIN
    if stage.exists():
        raise AlphagateError(f"{stage} already exists; choose another run id")
    stage.parent.mkdir(parents=True, exist_ok=True)
    building = stage.parent / f"{TRAIN}.tmp-{uuid.uuid4().hex}"
    # An absolute path: MLflow keeps one database engine per URI string, so a relative
    # ``sqlite:///runs/mlflow.db`` would keep writing to the first folder it was opened in.
    root = runs_dir.resolve()
    tracker = MlflowTracker(f"sqlite:///{root / 'mlflow.db'}", root / "mlruns", EXPERIMENT)
    plan = _Plan(
        family=family,
        seed=seed,
        trials=trials,
        calibration=calibration,
        config_hash=chash,
        data_hash=data_hash(bars),
        optuna_url=settings.training.optuna_url(root),
        tracker=tracker,
        say=progress or (lambda _message: None),
        members=tuple(members),
        base_params=settings.pipeline.deep.model_dump() if family in DEEP_FAMILIES else {},
        deep_params=settings.pipeline.deep.model_dump(),
        searched=dict(searched or {}),
        workers=workers,
        task_map=functools.partial(
            parallel.map,
            workers=workers,
            backend=settings.parallel.backend,
            ray_address=settings.parallel.ray_address,
        ),
        on_trial=on_trial,
        profile_bins=settings.health.model.psi_bins,
    )
    choices: dict[str, Any] = {
        "seed": seed,
        "family": family,
        "trials": trials,
        "calibration": calibration,
    }
    if family == "ensemble":
        choices["members"] = list(members)
    if searched:  # counted through its study by the gates, not as one more configuration
        choices["from_study"] = {str(h): str(s.get("study_name")) for h, s in searched.items()}
    tags = {"alphagate.run_id": run_id, "config_hash": chash, "data_hash": plan.data_hash}
    try:
        building.mkdir()
        with tracker.start_run(run_id, tags) as mlflow_run_id:
            tracker.log_params(
                {**choices, "horizons": list(horizons), "code_version": alphagate.__version__}
            )
            plan.say("building features and labels")
            features = build_feature_frame(settings, bars, None)
            labels = build_label_frame(settings, bars, "fixed", horizons=horizons)
            per_horizon = {
                str(h): _one_horizon(
                    plan, make_dataset(features, labels, h), building / horizon_name(h)
                )
                for h in horizons
            }
            plan.say("registering models")
            names = {h: f"alphagate-{family}-h{h}" for h in horizons}
            versions = {
                h: (name, tracker.register_model(mlflow_run_id, f"{horizon_name(h)}/{MODEL}", name))
                for h, name in names.items()
            }
            manifest: dict[str, Any] = {
                "run_id": run_id,
                "stage": "train",
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "config_hash": chash,
                "data_hash": plan.data_hash,
                "code_version": alphagate.__version__,
                **choices,
                "horizons": list(horizons),
                "bars": _bars_summary(bars),
                "train_end": max(entry["train_end"] for entry in per_horizon.values()),
                "per_horizon": per_horizon,
                "mlflow": {
                    "tracking_uri": tracker.tracking_uri,
                    "experiment": EXPERIMENT,
                    "run_id": mlflow_run_id,
                    "models": {str(h): {"name": n, "version": v} for h, (n, v) in versions.items()},
                },
                "wall_seconds": round(time.perf_counter() - started, 3),
                "peak_memory_mb": round(peak_memory_mb(), 1),
            }
            # A search record may hold NaN scores: keep them rather than fail a finished run.
            write_json(building / MANIFEST, manifest, allow_nan=True)
            report = render_training_report(building)
            tracker.log_artifact(building / MANIFEST)
            tracker.log_artifact(report)
            tracker.log_metrics({key: manifest[key] for key in ("wall_seconds", "peak_memory_mb")})
            building.rename(stage)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    plan.say(f"wrote {stage}")
    return TrainingRunResult(run_id, stage, manifest, mlflow_run_id, versions)
