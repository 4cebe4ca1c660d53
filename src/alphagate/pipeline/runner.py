"""Run stages in order under ``<root>/<run_id>/``, reusing what is still valid.

The rules, and why:

* **Checkpoint by rename.** A stage writes into ``<stage>.tmp-<uuid>/``; the
  manifest is written last and synced, and only then is the directory renamed
  to ``<stage>/``. A crash or ``kill -9`` at any moment leaves either the old
  complete stage or a ``*.tmp-*`` directory, never a half-written ``<stage>/``.
  Scratch directories are removed when the next run of the same run id starts.
* **Skip by hash.** A stage is reused ("cached") when its manifest records
  the same input hashes (each upstream stage's output hash), the same hash of
  the configuration keys it declared, and the same code version. A changed
  input re-runs it; its new output hash then re-runs every stage after it
  that reads it, and so on down the line. An upstream stage that re-runs and
  writes identical bytes invalidates nothing.
* **``only`` runs one stage** (``--stage``) when its inputs are complete, and
  refuses, naming the missing stage, when they are not. **``from_stage``
  forces** that stage and every later one, cached or not.
* **One writer per run.** An exclusive ``flock`` on ``<run>/.lock`` keeps two
  processes from interleaving stages of one run (or deleting each other's
  scratch directories); a second process is refused at once.
* **A failure stops the run** and is reported, not hidden: the stage's
  scratch directory keeps what it wrote plus ``traceback.txt`` until the next
  run. ``KeyboardInterrupt`` is re-raised after the same bookkeeping.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import traceback
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from alphagate.atomic import fsync_directory
from alphagate.errors import AlphagateError
from alphagate.pipeline.manifest import (
    config_hash,
    directory_hash,
    read_manifest,
    write_manifest,
)
from alphagate.pipeline.memory import peak_mib, reset_peak
from alphagate.pipeline.stage import Stage, StageContext, check_stages
from alphagate.runs.json_files import write_json
from alphagate.runs.layout import COMPLETE, MANIFEST, RUN_INFO

Status = Literal["ran", "cached", "failed", "interrupted"]
State = Literal["complete", "stale", "missing", "interrupted"]
TEMP_MARK = ".tmp-"
LOCK = ".lock"


class PipelineError(AlphagateError):
    """The pipeline cannot start as asked: an unknown or unready stage, a busy run."""


@dataclass(frozen=True)
class StageOutcome:
    """What happened to one stage in this invocation.

    ``seconds`` and ``peak_mib`` are this invocation's for a stage that ran
    or failed, and the recorded ones of the run that made it for a cached stage.
    """

    name: str
    status: Status
    seconds: float | None
    peak_mib: float | None
    summary: str
    directory: Path
    error: str | None = None


@dataclass(frozen=True)
class PipelineResult:
    """Every stage this invocation looked at, in order, and the run's wall time."""

    run_id: str
    run_dir: Path
    outcomes: list[StageOutcome]
    seconds: float

    @property
    def failed(self) -> StageOutcome | None:
        """The stage that failed, if one did (the run stops there)."""
        return next((o for o in self.outcomes if o.status == "failed"), None)


@dataclass(frozen=True)
class StageState:
    """Where one stage of a run stands on disk, for ``pipeline status``."""

    name: str
    state: State
    reason: str
    manifest: Mapping[str, Any] | None


class Reporter(Protocol):
    """Receives progress; the CLI draws it, tests record it."""

    def stage_started(self, name: str) -> None:
        """A stage begins to run (not called for cached stages)."""

    def stage_message(self, name: str, text: str) -> None:
        """A running stage reports a step."""

    def stage_finished(self, outcome: StageOutcome) -> None:
        """A stage ran, was reused, failed or was interrupted."""


class _Silent:
    def stage_started(self, name: str) -> None:
        """Ignore."""

    def stage_message(self, name: str, text: str) -> None:
        """Ignore."""

    def stage_finished(self, outcome: StageOutcome) -> None:
        """Ignore."""


def run_pipeline(
    stages: Sequence[Stage],
    *,
    root: Path,
    run_id: str,
    config: Mapping[str, Any],
    seed: int,
    code_version: str,
    only: str | None = None,
    from_stage: str | None = None,
    run_info: Mapping[str, Any] | None = None,
    reporter: Reporter | None = None,
) -> PipelineResult:
    """Run ``stages`` (or ``only``, or from ``from_stage`` on) for run ``run_id``.

    Parameters
    ----------
    stages
        The pipeline, in order; see ``Stage``.
    root
        Directory holding one folder per run.
    run_id
        The run's folder name.
    config
        Nested, JSON-ready configuration the stages' ``config`` keys point into.
    seed, code_version
        Recorded in every manifest; the code version also decides reuse.
    only, from_stage
        ``--stage`` and ``--from-stage``; at most one.
    run_info
        Written to ``<run>/run.json`` at the start (what the run was asked for).
    reporter
        Progress sink; silent when omitted.

    Raises
    ------
    PipelineError
        Unknown stage names, both ``only`` and ``from_stage``, a run in use by
        another process, or an input of ``only`` that is not complete.
    KeyboardInterrupt
        Re-raised after the interrupted stage is reported; its scratch
        directory stays until the next run.
    """
    _check_request(stages, config, run_id, only, from_stage)
    report = reporter or _Silent()
    run_dir = root / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    outcomes: list[StageOutcome] = []
    with _exclusive(run_dir):
        _remove_scratch(run_dir)
        if run_info is not None:
            write_json(run_dir / RUN_INFO, run_info)
        names = [s.name for s in stages]
        forced = set(names[names.index(from_stage) :]) if from_stage else set()
        manifests: dict[str, Mapping[str, Any]] = {}
        for stage in stages:
            if only is not None and stage.name != only:
                continue
            outcome = _one_stage(
                stage,
                stages=stages,
                run_dir=run_dir,
                run_id=run_id,
                config=config,
                seed=seed,
                code_version=code_version,
                force=stage.name in forced,
                manifests=manifests,
                report=report,
            )
            outcomes.append(outcome)
            if outcome.status == "failed":
                break
    return PipelineResult(run_id, run_dir, outcomes, time.perf_counter() - began)


def inspect_run(
    stages: Sequence[Stage],
    *,
    root: Path,
    run_id: str,
    config: Mapping[str, Any],
    code_version: str,
) -> list[StageState]:
    """Each stage's state on disk against the current configuration and code.

    ``complete`` (would be reused), ``stale`` (would re-run, with the reason),
    ``interrupted`` (only a scratch directory exists) or ``missing``.
    """
    check_stages(list(stages), config)
    run_dir = root / run_id
    known = {s.name for s in stages}
    states: list[StageState] = []
    manifests: dict[str, Mapping[str, Any]] = {}
    stale: set[str] = set()
    for stage in stages:
        manifest = read_manifest(run_dir / stage.name, stage.name)
        if manifest is None:
            scratch = any(run_dir.glob(f"{stage.name}{TEMP_MARK}*"))
            state: State = "interrupted" if scratch else "missing"
            why = "scratch directory left by a run that stopped" if scratch else "never run"
            states.append(StageState(stage.name, state, why, None))
            continue
        manifests[stage.name] = manifest
        hashes, absent = _input_hashes(stage, run_dir, manifests, known)
        behind = sorted(stale.intersection((*stage.inputs, *stage.optional_inputs)))
        if absent:
            reason: str | None = f"input {absent!r} is not complete"
        elif behind:
            reason = f"input {behind[0]!r} is stale"
        else:
            reason = _staleness(stage, manifest, hashes, config, code_version)
        if reason:
            stale.add(stage.name)
        states.append(
            StageState(stage.name, "stale" if reason else "complete", reason or "", manifest)
        )
    return states


def _check_request(
    stages: Sequence[Stage],
    config: Mapping[str, Any],
    run_id: str,
    only: str | None,
    from_stage: str | None,
) -> None:
    check_stages(list(stages), config)
    names = [s.name for s in stages]
    if only is not None and from_stage is not None:
        raise PipelineError("choose either --stage or --from-stage, not both")
    for label, name in (("--stage", only), ("--from-stage", from_stage)):
        if name is not None and name not in names:
            raise PipelineError(f"unknown stage {name!r} for {label}; stages: {', '.join(names)}")
    if not run_id or "/" in run_id or run_id.startswith(".") or TEMP_MARK in run_id:
        raise PipelineError(
            f"run id {run_id!r} must be a plain folder name (no '/', no leading '.')"
        )


def _one_stage(
    stage: Stage,
    *,
    stages: Sequence[Stage],
    run_dir: Path,
    run_id: str,
    config: Mapping[str, Any],
    seed: int,
    code_version: str,
    force: bool,
    manifests: dict[str, Mapping[str, Any]],
    report: Reporter,
) -> StageOutcome:
    """Reuse, or run and install, one stage; record its manifest in ``manifests``."""
    final = run_dir / stage.name
    known = {s.name for s in stages}
    upstream = [*stage.inputs, *(n for n in stage.optional_inputs if n in known)]
    for name in upstream:
        if name not in manifests:
            found = read_manifest(run_dir / name, name)
            if found is None:
                raise PipelineError(
                    f"cannot run stage {stage.name!r}: its input stage {name!r} is not "
                    f"complete in {run_dir}; run the pipeline up to {name!r} first"
                )
            manifests[name] = found
    hashes, _ = _input_hashes(stage, run_dir, manifests, known)
    existing = read_manifest(final, stage.name)
    if (
        existing is not None
        and not force
        and _staleness(stage, existing, hashes, config, code_version) is None
    ):
        manifests[stage.name] = existing
        outcome = StageOutcome(
            stage.name,
            "cached",
            existing.get("wall_seconds"),
            existing.get("peak_memory_mib"),
            str(existing.get("summary", "")),
            final,
        )
        report.stage_finished(outcome)
        return outcome
    return _execute(
        stage,
        run_dir=run_dir,
        run_id=run_id,
        hashes=hashes,
        chash=config_hash(config, stage.config),
        seed=seed,
        code_version=code_version,
        manifests=manifests,
        report=report,
    )


def _execute(
    stage: Stage,
    *,
    run_dir: Path,
    run_id: str,
    hashes: Mapping[str, str],
    chash: str,
    seed: int,
    code_version: str,
    manifests: dict[str, Mapping[str, Any]],
    report: Reporter,
) -> StageOutcome:
    """Run one stage into a scratch directory and rename it into place when complete."""
    scratch = run_dir / f"{stage.name}{TEMP_MARK}{uuid.uuid4().hex}"
    scratch.mkdir()
    available = {n: run_dir / n for n in (*stage.inputs, *stage.optional_inputs) if n in hashes}
    context = StageContext(
        run_id=run_id,
        run_dir=run_dir,
        directory=scratch,
        inputs=available,
        manifests={n: manifests[n] for n in available if n in manifests},
        seed=seed,
        say=lambda text: report.stage_message(stage.name, text),
    )
    report.stage_started(stage.name)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    reset_peak()
    try:
        output = stage.run(context)
        seconds = time.perf_counter() - clock
        manifest: dict[str, Any] = {
            "stage": stage.name,
            "run_id": run_id,
            "status": COMPLETE,
            "input_hashes": dict(hashes),
            "config_keys": sorted(stage.config),
            "config_hash": chash,
            "code_version": code_version,
            "seed": seed,
            "started_utc": started.isoformat(timespec="seconds"),
            "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_seconds": round(seconds, 3),
            "peak_memory_mib": round(peak_mib(), 1),
            "summary": output.summary,
            "outputs": dict(output.details),
            "output_hash": directory_hash(scratch),
        }
        write_manifest(scratch, manifest)  # refuses NaN: a bad record fails the stage
    except KeyboardInterrupt:
        report.stage_finished(_stopped(stage, scratch, "interrupted", clock, None))
        raise
    except Exception as error:
        (scratch / MANIFEST).unlink(missing_ok=True)
        (scratch / "traceback.txt").write_text(traceback.format_exc(), encoding="utf-8")
        message = f"{type(error).__name__}: {error}"
        outcome = _stopped(stage, scratch, "failed", clock, message)
        report.stage_finished(outcome)
        return outcome
    final = run_dir / stage.name
    _install(scratch, final)
    manifests[stage.name] = manifest
    outcome = StageOutcome(
        stage.name, "ran", seconds, manifest["peak_memory_mib"], output.summary, final
    )
    report.stage_finished(outcome)
    return outcome


def _stopped(
    stage: Stage, scratch: Path, status: Status, clock: float, error: str | None
) -> StageOutcome:
    """The outcome of a stage that did not finish; its scratch directory is where it stopped."""
    return StageOutcome(
        stage.name,
        status,
        time.perf_counter() - clock,
        round(peak_mib(), 1),
        "",
        scratch,
        error,
    )


def _input_hashes(
    stage: Stage,
    run_dir: Path,
    manifests: Mapping[str, Mapping[str, Any]],
    known: set[str],
) -> tuple[dict[str, str], str | None]:
    """Hash of each input that exists, and the first required input that does not.

    A stage input is hashed by its manifest's ``output_hash``; an optional
    input that is not a stage of this pipeline by the files of
    ``run_dir/<name>/``, when that directory exists.
    """
    hashes: dict[str, str] = {}
    absent: str | None = None
    for name in stage.inputs:
        if name in manifests:
            hashes[name] = str(manifests[name]["output_hash"])
        elif absent is None:
            absent = name
    for name in stage.optional_inputs:
        if name in known:
            if name in manifests:
                hashes[name] = str(manifests[name]["output_hash"])
            elif absent is None:
                absent = name
        elif (run_dir / name).is_dir():
            hashes[name] = directory_hash(run_dir / name, skip=())
    return hashes, absent


def _staleness(
    stage: Stage,
    manifest: Mapping[str, Any],
    hashes: Mapping[str, str],
    config: Mapping[str, Any],
    code_version: str,
) -> str | None:
    """Why ``manifest`` can no longer stand for ``stage``, or ``None`` if it can."""
    recorded = manifest.get("input_hashes", {})
    for name in sorted(set(recorded) | set(hashes)):
        if recorded.get(name) != hashes.get(name):
            return f"input {name!r} changed"
    if manifest.get("config_hash") != config_hash(config, stage.config):
        return "configuration changed (" + ", ".join(stage.config) + ")"
    if manifest.get("code_version") != code_version:
        return f"code version changed ({manifest.get('code_version')} -> {code_version})"
    return None


def _install(scratch: Path, final: Path) -> None:
    """Rename a finished scratch directory to its stage name, replacing an older one.

    The older one is first renamed to a scratch name, so a crash between the
    two renames leaves no ``<stage>/`` (it is simply run again) and the next
    run deletes both scratch directories.
    """
    old: Path | None = None
    if final.exists():
        old = final.with_name(f"{final.name}{TEMP_MARK}old-{uuid.uuid4().hex}")
        final.rename(old)
    scratch.rename(final)
    fsync_directory(final.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_scratch(run_dir: Path) -> None:
    """Delete what interrupted or failed stages left behind (``<stage>.tmp-*``)."""
    for path in run_dir.glob(f"*{TEMP_MARK}*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _exclusive(run_dir: Path) -> Iterator[None]:
    """Hold the run's lock for the duration, or refuse if another process holds it."""
    descriptor = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PipelineError(
                f"run {run_dir.name!r} is being run by another process ({run_dir / LOCK} is "
                "locked); wait for it or choose another --run-id"
            ) from None
        yield
    finally:
        os.close(descriptor)


__all__ = [
    "MANIFEST",
    "RUN_INFO",
    "PipelineError",
    "PipelineResult",
    "Reporter",
    "StageOutcome",
    "StageState",
    "inspect_run",
    "run_pipeline",
]
