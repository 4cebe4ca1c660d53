"""The gates themselves: what each one checks, and the verdict it returns.

Each gate takes the pass's :class:`GateContext` and the candidate's history
and returns a :class:`Verdict` (the state to move to, why, and the
evidence), or ``None`` when there is nothing to decide yet. A gate records
nothing: the orchestrator (:mod:`alphagate.app.gates`) stores the move, after
the gate finished, which is what makes a crash mid-gate harmless.

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
4. **approval**: live only when ``gates.auto_promote_live``; otherwise the
   operator decides (``gates approve``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphagate.app.trading_db import open_trading_store
from alphagate.config import Settings
from alphagate.errors import AlphagateError
from alphagate.gates.candidates import Gate, GateState, Transition
from alphagate.gates.grader import PaperRecord, grade
from alphagate.gates.thresholds import count_trials, thresholds_for, validation_limits
from alphagate.gates.validation import ValidationReport, backtest_checks, deflated_sharpe_check
from alphagate.runs import find_run, list_runs


@dataclass(frozen=True)
class Verdict:
    """What a gate decided: the state to move to, why, and on what evidence."""

    target: GateState
    reason: str
    evidence: dict[str, Any]


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
    with open_trading_store(ctx.settings) as store:
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
