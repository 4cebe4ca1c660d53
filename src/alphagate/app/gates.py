"""Composition of ``alphagate gates``: candidates moved gate by gate, each move recorded.

A candidate is a training or pipeline run submitted with ``gates submit``
(its data, config and code hashes copied from its training manifest into
the registration's evidence). ``gates run --once`` moves every candidate
still climbing through its next gate:

1. **backtest** (``registered``): the run's model backtest out of sample,
   judged by the validation checks with the thresholds of the trial count's
   phase, and the deflated Sharpe ratio for that count
   (:mod:`alphagate.gates.thresholds`);
2. **stress** (``backtest_passed``): the pipeline's stress stage summary when
   the run has one, else the stress runner with ``stress.pipeline_scenarios``
   scenarios; the summary's gate decides;
3. **paper**: ``stress_passed`` opens the paper stage; from ``paper`` the run
   is replayed through the paper engine over its holdout
   (:func:`alphagate.app.paper.run_paper`), which must give at least
   ``gates.paper_min_days`` bars, and the record is graded
   (:mod:`alphagate.gates.grader`); A or B goes on to ``awaiting_approval``;
4. **approval**: ``gates approve`` (or ``gates.auto_promote_live``) makes it
   ``live``; ``gates reject`` rejects at the gate it stood before.

**Crash safety.** Before a gate runs, a ``gate_started`` system event is
stored; the transition is stored only after the gate finished. A crash in
between leaves the candidate where it was, so the next pass runs that gate
again (the started marker shows it ran before); the store refuses a second
transition with the same sequence number, so a move is never recorded twice.

Every transition is announced through a :class:`~alphagate.ports.Notifier`
(a log sink here), and mirrored into MLflow (:mod:`alphagate.app.gates_mirror`).
Each pass first polls the Optuna studies (:mod:`alphagate.app.gates_watch`).
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

import numpy as np
import pandas as pd

from alphagate.adapters.trading_db import TradingStore
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
from alphagate.gates.grader import PaperRecord, grade
from alphagate.gates.thresholds import count_trials, thresholds_for, validation_limits
from alphagate.gates.validation import ValidationReport, backtest_checks, deflated_sharpe_check
from alphagate.ports import Notifier
from alphagate.runs import find_run, list_runs

ACTOR = "gates"
STARTED = "gate_started"
"""The system event stored before a gate runs (its crash-safety marker)."""

log = logging.getLogger("alphagate.gates")


class LogNotifier:
    """The notifier of this slice: every notice a log record (webhook sinks come later)."""

    def send(self, subject: str, body: str, severity: str) -> None:
        """Log the notice at its severity; a logging failure never stops the gates."""
        level = logging.WARNING if severity in {"warning", "error"} else logging.INFO
        log.log(level, "%s: %s", subject, body)


@dataclass(frozen=True)
class Verdict:
    """What a gate decided: the state to move to, why, and on what evidence."""

    target: GateState
    reason: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Step:
    """What one pass did (or, dry, would do) for one candidate."""

    candidate_id: str
    state: GateState
    action: str
    transition: Transition | None = None


@dataclass
class GateContext:
    """What the gates share in one pass: settings, the runs, the bars (loaded once)."""

    settings: Settings
    runs_dir: Path
    load_bars: Callable[[], pd.DataFrame]
    _bars: pd.DataFrame | None = None

    @property
    def bars(self) -> pd.DataFrame:
        """The market data, loaded on first use: a pass that runs no gate reads none."""
        if self._bars is None:
            self._bars = self.load_bars()
        return self._bars

    def output(self, run_id: str, gate: Gate) -> Path:
        """Where a gate writes its reports: inside the candidate's run."""
        return self.runs_dir / run_id / "gates" / gate.value


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
    _announce(notifier or LogNotifier(), move)
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
        return _move(store, notifier or LogNotifier(), history, verdict, actor=actor)


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


# -- the gates ---------------------------------------------------------------------------------


def _study_trials(runs_dir: Path) -> dict[str, int]:
    """Finished (not running) trials of every study in ``runs/optuna.db``, by study name."""
    path = runs_dir / "optuna.db"
    if not path.is_file():
        return {}
    import optuna

    counted = {
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED,
        optuna.trial.TrialState.FAIL,
    }
    storage = f"sqlite:///{path}"
    found: dict[str, int] = {}
    for summary in optuna.get_all_study_summaries(storage=storage, include_best_trial=False):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        found[summary.study_name] = len(study.get_trials(deepcopy=False, states=tuple(counted)))
    return found


def _manifests(runs_dir: Path) -> list[dict[str, Any]]:
    manifests = []
    for run_id in list_runs(runs_dir):
        try:
            manifests.append(find_run(runs_dir, run_id).training_manifest())
        except AlphagateError:
            continue  # an unfinished run evaluated nothing yet
    return manifests


def backtest_gate(ctx: GateContext, history: list[Transition]) -> Verdict:
    """Gate 1: the model backtest against the trial count's thresholds and the deflated Sharpe."""
    from alphagate.app.model_backtest import ModelBacktestRequest, run_model_backtest

    data_hash = str(history[0].evidence.get("data_hash") or "")
    gates = ctx.settings.gates
    trials = count_trials(
        data_hash, _study_trials(ctx.runs_dir), _manifests(ctx.runs_dir), gates.extra_trials
    )
    phase, thresholds = thresholds_for(trials.total, gates)
    limits = validation_limits(thresholds, ctx.settings.pipeline.validation)
    output = ctx.output(history[0].run_id, Gate.BACKTEST)
    request = ModelBacktestRequest(history[0].run_id, ctx.runs_dir)
    outcome = run_model_backtest(
        ctx.settings, ctx.bars, request, output, ctx.settings.data.calendar
    )
    metrics = outcome.result.metrics
    returns = np.asarray(outcome.result.equity.pct_change().dropna(), dtype=np.float64)
    checks = backtest_checks(
        {
            "sharpe": metrics.sharpe,
            "max_drawdown": metrics.max_drawdown,
            "win_rate": metrics.win_rate,
            "trades": metrics.trades,
        },
        limits,
    )
    checks.append(deflated_sharpe_check(returns, trials.total, limits))
    report = ValidationReport(tuple(checks))
    evidence = {
        "trials": trials.to_json_dict(),
        "phase": phase,
        "thresholds": thresholds.model_dump(),
        "report": report.to_json_dict(),
        "backtest_dir": str(output),
    }
    if report.verdict == "pass":
        why = f"every check passed ({phase} phase, {trials.total} trial(s))"
        return Verdict(GateState.BACKTEST_PASSED, why, evidence)
    failed = [
        f"{c.name} {_shown(c.value)} (needs {c.comparison} {c.threshold:g}; {c.detail})"
        for c in report.checks
        if c.passed is not True
    ]
    why = f"{phase} phase, {trials.total} trial(s): " + "; ".join(failed)
    return Verdict(GateState.REJECTED_AT_BACKTEST, why, evidence)


def _shown(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.4g}"


def stress_gate(ctx: GateContext, history: list[Transition]) -> Verdict:
    """Gate 2: the stress summary's gate, the pipeline's stage when present, else a new run."""
    from alphagate.app.stress import StressRequest, run_stress
    from alphagate.runs import read_json_or_none
    from alphagate.stress.summary import SUMMARY_FILE

    run_id = history[0].run_id
    run = find_run(ctx.runs_dir, run_id)
    path = run.directory / "stress" / SUMMARY_FILE
    summary = read_json_or_none(path) if run.stage_manifest("stress") is not None else None
    if summary is None:
        output = ctx.output(run_id, Gate.STRESS)
        request = StressRequest(
            run_id=run_id, runs_dir=ctx.runs_dir, scenarios=ctx.settings.stress.pipeline_scenarios
        )
        result = run_stress(ctx.settings, ctx.bars, request, output, ctx.settings.data.calendar)
        summary, path = result.summary, result.summary_path
    verdict = summary["gate"]
    evidence = {"summary": str(path), "gate": verdict, "statistics": summary.get("statistics")}
    if verdict["passed"]:
        return Verdict(GateState.STRESS_PASSED, "the stress gate passed", evidence)
    failed = [
        f"{c['name']} {c['value']!r} (threshold {c['threshold']!r})"
        for c in verdict["checks"]
        if not c["passed"]
    ]
    return Verdict(GateState.REJECTED_AT_STRESS, "stress: " + "; ".join(failed), evidence)


def open_paper(ctx: GateContext, history: list[Transition]) -> Verdict:
    """``stress_passed`` → ``paper``: the paper stage begins (replay mode in this slice)."""
    from alphagate.app.paper import session_dir

    session = session_dir(ctx.runs_dir, history[0].run_id)
    evidence = {
        "mode": "replay",
        "session": str(session),
        "min_days": ctx.settings.gates.paper_min_days,
    }
    return Verdict(GateState.PAPER, "paper trading begins (replay of the holdout)", evidence)


def paper_gate(ctx: GateContext, history: list[Transition]) -> Verdict:
    """Gate 3: replay the holdout through the paper engine, then grade the record A-F."""
    from alphagate.app.paper import PaperRequest, run_paper
    from alphagate.metrics.performance import compute_metrics

    run_id = history[0].run_id
    gates = ctx.settings.gates
    outcome = run_paper(
        ctx.settings, ctx.bars, PaperRequest(run_id, ctx.runs_dir), handle_signals=False
    )
    with _store(ctx.settings) as store:
        points = store.equity(run_id)
    equity = pd.Series(
        [p.equity for p in points], index=pd.to_datetime([p.ts for p in points], utc=True)
    )
    evidence: dict[str, Any] = {"session": str(outcome.session), "bars": len(equity)}
    if len(equity) < gates.paper_min_days:
        why = (
            f"paper record of {len(equity)} bar(s), fewer than gates.paper_min_days "
            f"({gates.paper_min_days})"
        )
        return Verdict(GateState.REJECTED_AT_PAPER, why, evidence)
    trades = outcome.driver.kernel.portfolio.closed_trades()
    metrics = compute_metrics(
        equity, trade_pnl=[t.pnl for t in trades], calendar=ctx.settings.data.calendar
    )
    record = PaperRecord(
        win_rate=metrics.win_rate,
        sharpe=metrics.sharpe,
        alpha=metrics.total_return
        - _benchmark_return(ctx.bars, history[0].evidence.get("symbols"), equity),
        max_drawdown=abs(metrics.max_drawdown),
        tracking_error=float("nan") if outcome.shadow is None else outcome.shadow.worst,
    )
    report = grade(record, gates.grader)
    evidence |= {"record": record.__dict__, "grade": report.to_json_dict()}
    if report.passed:
        why = f"paper grade {report.grade} (score {report.score:.1f})"
        return Verdict(GateState.AWAITING_APPROVAL, why, evidence)
    why = f"paper grade {report.grade} (score {report.score:.1f}; A or B passes)"
    return Verdict(GateState.REJECTED_AT_PAPER, why, evidence)


def _benchmark_return(bars: pd.DataFrame, symbols: Any, equity: pd.Series) -> float:
    """Buy and hold of the bars' symbols, equal-weighted, from the record's first to last bar."""
    names = bars.index.get_level_values("symbol")
    chosen = names.isin(list(symbols)) if symbols else names.notna()
    closes = bars.loc[chosen, "close"].unstack("symbol")
    closes.index = pd.DatetimeIndex(closes.index).tz_convert("UTC")
    span = closes.loc[(closes.index >= equity.index[0]) & (closes.index <= equity.index[-1])]
    if len(span) < 2:
        return float("nan")
    return float((span.iloc[-1] / span.iloc[0] - 1).mean())


def approval_gate(ctx: GateContext, history: list[Transition]) -> Verdict | None:
    """Live without an operator only when ``gates.auto_promote_live``; else keep waiting."""
    if not ctx.settings.gates.auto_promote_live:
        return None
    return Verdict(GateState.LIVE, "gates.auto_promote_live is true", {"auto": True})


GATES: dict[GateState, Callable[[GateContext, list[Transition]], Verdict | None]] = {
    GateState.REGISTERED: backtest_gate,
    GateState.BACKTEST_PASSED: stress_gate,
    GateState.STRESS_PASSED: open_paper,
    GateState.PAPER: paper_gate,
    GateState.AWAITING_APPROVAL: approval_gate,
}


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
    sink = notifier or LogNotifier()
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
