"""Composition of ``alphagate gates``: candidates moved gate by gate, each move recorded.

A candidate is a training or pipeline run submitted with ``gates submit``
(its data, config and code hashes copied from its training manifest into
the registration's evidence). ``gates run --once`` moves every candidate
still climbing through its next gate; what each gate checks is
:mod:`alphagate.app.gate_checks` (backtest, stress, paper, approval). Here:
submit, the passes and the daemon, status, the emergency stop, the
operator's approve and reject, and the one place a move is stored.

**Crash safety.** Before a gate runs, a ``gate_started`` system event is
stored; the transition is stored only after the gate finished. A crash in
between leaves the candidate where it was, so the next pass runs that gate
again (the started marker shows it ran before); the store refuses a second
transition with the same sequence number, so a move is never recorded twice.

Every transition is announced through a :class:`~alphagate.ports.Notifier`
(the router of ``notifications``: log, webhook, chat, desktop), and mirrored
into MLflow (:mod:`alphagate.app.gates_mirror`). Each pass first polls the
Optuna studies (:mod:`alphagate.app.gates_watch`).
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from alphagate.adapters.notifiers.open import open_notifier
from alphagate.adapters.trading_db import TradingStore
from alphagate.app.gate_checks import GATES, GateContext, Verdict, Waiting
from alphagate.app.gates_mirror import mirror_quietly, sync
from alphagate.app.trading_db import open_trading_store
from alphagate.atomic import write_text_atomically
from alphagate.config import Settings
from alphagate.errors import AlphagateError
from alphagate.gates.candidates import (
    NEXT_GATE,
    REJECTED,
    Gate,
    GateState,
    Transition,
    current_state,
    following,
)
from alphagate.ports import Notifier
from alphagate.runs import find_run

ACTOR = "gates"
STARTED = "gate_started"
"""The system event stored before a gate runs (its crash-safety marker)."""

log = logging.getLogger("alphagate.gates")


@dataclass(frozen=True)
class Step:
    """What one pass did (or, dry, would do) for one candidate."""

    candidate_id: str
    state: GateState
    action: str
    transition: Transition | None = None


@contextmanager
def _store(settings: Settings) -> Iterator[TradingStore]:
    store = open_trading_store(settings)
    try:
        yield store
    finally:
        store.close()


def histories(store: TradingStore) -> dict[str, list[Transition]]:
    """Every candidate's moves, oldest first, by candidate id (in registration order)."""
    found: dict[str, list[Transition]] = {}
    for move in sorted(store.transitions(), key=lambda m: (m.candidate_id, m.seq)):
        found.setdefault(move.candidate_id, []).append(move)
    return dict(sorted(found.items(), key=lambda item: (item[1][0].ts, item[0])))


def record_transition(store: TradingStore, transition: Transition) -> None:
    """Store a move; the one place a move is written, so a test can interrupt it."""
    store.add_transition(transition)


def _announce(notifier: Notifier, move: Transition) -> None:
    severity = "warning" if move.target.value.startswith("rejected_at_") else "info"
    body = f"{move.source} -> {move.target} by {move.actor}"
    if move.reason:
        body += f": {move.reason}"
    notifier.send(f"candidate {move.candidate_id}", body, severity)


def _move(
    store: TradingStore,
    notifier: Notifier,
    history: list[Transition],
    verdict: Verdict,
    actor: str = ACTOR,
) -> Transition:
    move = following(
        history,
        verdict.target,
        ts=time.time_ns(),
        actor=actor,
        reason=verdict.reason,
        evidence=verdict.evidence,
    )
    record_transition(store, move)
    _announce(notifier, move)
    mirror_quietly(history[0], move)
    return move


# -- submit, approve, reject ---------------------------------------------------------------


def submit(
    settings: Settings,
    runs_dir: Path,
    run_id: str,
    notifier: Notifier | None = None,
    origin: Mapping[str, Any] | None = None,
) -> Transition:
    """Register run ``run_id`` as a candidate (its id is the run's id).

    ``origin`` (JSON) joins the registration's evidence: where the candidate
    came from, e.g. the study and trial the study watcher trained it from.

    Raises
    ------
    AlphagateError
        When the run is missing or untrained, or is a candidate already.
    """
    run = find_run(runs_dir, run_id)
    manifest = run.training_manifest()
    evidence = {
        "run_kind": run.kind,
        "run_dir": str(run.directory),
        **{k: manifest.get(k) for k in ("data_hash", "config_hash", "code_version", "family")},
        "horizons": manifest.get("horizons"),
        "trials": manifest.get("trials"),
        "symbols": (manifest.get("bars") or {}).get("symbols"),
        **(origin or {}),
    }
    with _store(settings) as store:
        if store.transitions(run.run_id):
            raise AlphagateError(
                f"run {run.run_id} is a candidate already; see `alphagate gates status`"
            )
        move = Transition(
            candidate_id=run.run_id,
            seq=0,
            run_id=run.run_id,
            source=None,
            target=GateState.REGISTERED,
            ts=time.time_ns(),
            actor="submit",
            reason=f"submitted from {run.kind} run {run.run_id}",
            evidence=evidence,
        )
        record_transition(store, move)
    _announce(notifier or open_notifier(settings.notifications), move)
    return move


def _decide_by_operator(
    settings: Settings,
    candidate_id: str,
    reason: str,
    *,
    approve: bool,
    actor: str,
    notifier: Notifier | None,
) -> Transition:
    if not reason.strip():
        raise AlphagateError("give a --reason: every decision is recorded with why")
    with _store(settings) as store:
        history = store.transitions(candidate_id)
        state = current_state(history)
        if state is None:
            raise AlphagateError(
                f"no candidate {candidate_id!r}; submit one with `alphagate gates submit --run`"
            )
        if approve:
            if state is not GateState.AWAITING_APPROVAL:
                raise AlphagateError(
                    f"candidate {candidate_id} is {state}, not awaiting_approval: only a "
                    "candidate that passed every gate can go live"
                )
            target = GateState.LIVE
        else:
            gate = NEXT_GATE.get(state)
            if gate is None:
                raise AlphagateError(f"candidate {candidate_id} is {state}: nothing to reject")
            target = REJECTED[gate]
        verdict = Verdict(target, reason, {"decided_by": actor})
        return _move(
            store, notifier or open_notifier(settings.notifications), history, verdict, actor=actor
        )


def approve(
    settings: Settings,
    candidate_id: str,
    reason: str,
    *,
    actor: str = "operator",
    notifier: Notifier | None = None,
) -> Transition:
    """Move a candidate awaiting approval to ``live``, with the operator's reason."""
    return _decide_by_operator(
        settings, candidate_id, reason, approve=True, actor=actor, notifier=notifier
    )


def reject(
    settings: Settings,
    candidate_id: str,
    reason: str,
    *,
    actor: str = "operator",
    notifier: Notifier | None = None,
) -> Transition:
    """Reject a candidate at the gate it stands before, with the operator's reason."""
    return _decide_by_operator(
        settings, candidate_id, reason, approve=False, actor=actor, notifier=notifier
    )


def run_once(
    settings: Settings,
    runs_dir: Path,
    load_bars: Callable[[], pd.DataFrame],
    *,
    dry_run: bool = False,
    notifier: Notifier | None = None,
    only: Collection[str] | None = None,
) -> list[Step]:
    """Move every candidate still climbing through its next gate; ``dry_run`` only says which.

    A pass first turns the new best trials of the watched Optuna studies into
    candidates (:mod:`alphagate.app.gates_watch`), and ends by mirroring every
    state into MLflow. ``only`` moves just those candidates and watches nothing.
    """
    from alphagate.app.gates_watch import watch

    ctx = GateContext(settings, runs_dir, load_bars)
    sink = notifier or open_notifier(settings.notifications)
    steps: list[Step] = []
    if only is None:
        steps += watch(settings, runs_dir, lambda: ctx.bars, dry_run=dry_run, notifier=sink)
    with _store(settings) as store:
        for candidate_id, history in histories(store).items():
            if only is not None and candidate_id not in only:
                continue
            state = current_state(history)
            assert state is not None, "a stored history has a registration"
            gate = NEXT_GATE.get(state)
            run = GATES.get(state)
            if gate is None or run is None:
                continue
            if dry_run:
                steps.append(Step(candidate_id, state, f"would run the {gate} gate"))
                continue
            if gate is Gate.APPROVAL and not settings.gates.auto_promote_live:
                steps.append(Step(candidate_id, state, "awaits `alphagate gates approve`"))
                continue
            reruns = _started_before(store, candidate_id, history[-1].seq)
            detail = {"candidate_id": candidate_id, "gate": gate.value, "seq": history[-1].seq}
            store.add_system_event(STARTED, detail | {"rerun": reruns}, actor=ACTOR)
            verdict = run(ctx, history)
            if verdict is None:
                steps.append(Step(candidate_id, state, f"{gate} gate: nothing to do yet"))
                continue
            if isinstance(verdict, Waiting):
                steps.append(Step(candidate_id, state, f"{gate} gate: {verdict.reason}"))
                continue
            move = _move(store, sink, history, verdict)
            steps.append(Step(candidate_id, state, f"ran the {gate} gate", move))
        if not dry_run:
            sync(h for cid, h in histories(store).items() if only is None or cid in only)
    return steps


def _started_before(store: TradingStore, candidate_id: str, seq: int) -> int:
    """How often this gate was started before and never finished (a crash), for the record."""
    events = store.system_events(STARTED, limit=10_000)
    return sum(
        1
        for e in events
        if e.detail and e.detail.get("candidate_id") == candidate_id and e.detail.get("seq") == seq
    )


def status(settings: Settings) -> list[dict[str, Any]]:
    """Every candidate: its state, since when, why, and the evidence of its last move."""
    with _store(settings) as store:
        found = histories(store)
    return [
        {
            "candidate_id": cid,
            "run_id": history[-1].run_id,
            "state": history[-1].target.value,
            "since_ns": history[-1].ts,
            "actor": history[-1].actor,
            "reason": history[-1].reason,
            "moves": len(history),
            "evidence": dict(history[-1].evidence),
        }
        for cid, history in found.items()
    ]


# -- the daemon --------------------------------------------------------------------------------


class GatesStopped(AlphagateError):  # noqa: N818 - the state an operator reads
    """The orchestrator's emergency-stop file exists: no gate runs until ``gates resume``."""


def stop(settings: Settings, reason: str, actor: str) -> Path:
    """Write the emergency-stop file (reason and actor inside) and record the stop."""
    path = settings.gates.stop_file
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"reason": reason, "by": actor, "ts": time.time_ns()}, sort_keys=True)
    write_text_atomically(path, text + "\n")
    with _store(settings) as store:
        store.add_system_event("gates_stopped", {"reason": reason}, actor=actor)
    return path


def resume(settings: Settings, reason: str, actor: str) -> bool:
    """Remove the emergency-stop file; return whether there was one. The resume is recorded."""
    path = settings.gates.stop_file
    if not path.exists():
        return False
    path.unlink()
    with _store(settings) as store:
        store.add_system_event("gates_resumed", {"reason": reason}, actor=actor)
    return True


def check_not_stopped(settings: Settings) -> None:
    """Raise :class:`GatesStopped` while the emergency-stop file exists."""
    path = settings.gates.stop_file
    if path.exists():
        raise GatesStopped(
            f"the gates are stopped ({path} exists: {path.read_text(encoding='utf-8').strip()}); "
            "`alphagate gates resume --reason R --by NAME` lets them run again"
        )


def daemon(
    settings: Settings,
    runs_dir: Path,
    load_bars: Callable[[], pd.DataFrame],
    *,
    interval: float,
    passes: int | None = None,
    sleep: Callable[[float], object] = time.sleep,
    on_steps: Callable[[list[Step]], None] | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> int:
    """Pass over the candidates every ``interval`` seconds until told to stop; return the passes.

    A pass while the emergency-stop file exists does nothing. A pass that
    fails is recorded (``gates_failure`` with its traceback) and retried
    after ``gates.retry_seconds``, doubling per failure in a row up to
    ``interval``: a transient failure (a locked database, a busy machine)
    passes, and a lasting one does not spin. Every gate a failed pass left
    started is run again by the next pass (``run_once`` records a move only
    after its gate finished).
    """
    failures, done = 0, 0
    while keep_going() and (passes is None or done < passes):
        done += 1
        wait = interval
        if settings.gates.stop_file.exists():
            log.info("gates stopped (%s exists): nothing runs", settings.gates.stop_file)
        else:
            try:
                steps = run_once(settings, runs_dir, load_bars)
            except Exception as error:
                failures += 1
                wait = min(interval, settings.gates.retry_seconds * 2 ** (failures - 1))
                detail = {"error": repr(error), "traceback": traceback.format_exc()}
                with _store(settings) as store:
                    store.add_system_event("gates_failure", detail, actor=ACTOR)
                log.warning("gates pass failed (%r); retrying in %.0f s", error, wait)
            else:
                failures = 0
                if on_steps is not None:
                    on_steps(steps)
        if keep_going() and (passes is None or done < passes):
            sleep(wait)
    return done
