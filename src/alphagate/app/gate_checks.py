"""The gates themselves: what each one checks, and the verdict it returns.

Each gate takes the pass's :class:`GateContext` and the candidate's history
and returns a :class:`Verdict` (the state to move to, why, and the
evidence), or ``None`` when there is nothing to decide yet. A gate records
nothing: the orchestrator (:mod:`alphagate.app.gates`) stores the move, after
the gate finished, which is what makes a crash mid-gate harmless.

1. **backtest** (``registered``): the run's model backtest out of sample,
   judged by the validation checks with the thresholds of the trial count's
   phase, and the deflated Sharpe ratio for that count
   (:mod:`alphagate.gates.thresholds`); then, when those pass, the
   walk-forward check (:mod:`alphagate.gates.walk_forward`): the run
   retrained window by window must stay within ``gates.walk_forward.tolerance``
   of the single backtest's return and Sharpe;
2. **stress** (``backtest_passed``): the pipeline's stress stage summary when
   the run has one, else the stress runner with ``stress.pipeline_scenarios``
   scenarios; the summary's gate decides;
3. **paper**: ``stress_passed`` opens the paper stage; from ``paper`` the run
   is replayed through the paper engine over its holdout
   (:func:`alphagate.app.paper.run_paper`), which must span at least
   ``gates.paper_min_days`` trading days (sessions of ``data.calendar``, not
   bars), and the record is graded
   (:mod:`alphagate.gates.grader`); A or B goes on to ``awaiting_approval``;
4. **approval**: live only when ``gates.auto_promote_live``; otherwise the
   operator decides (``gates approve``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from alphagate import parallel
from alphagate.app.trading_db import open_trading_store
from alphagate.atomic import write_text_atomically
from alphagate.config import Settings
from alphagate.errors import AlphagateError
from alphagate.gates.candidates import Gate, GateState, Transition
from alphagate.gates.grader import PaperRecord, grade
from alphagate.gates.thresholds import count_trials, thresholds_for, validation_limits
from alphagate.gates.validation import (
    Check,
    ValidationReport,
    backtest_checks,
    deflated_sharpe_check,
)
from alphagate.gates.walk_forward import (
    Performance,
    Recipe,
    retrain_windows,
    span_times,
    too_short_checks,
    walk_forward_checks,
    window_count,
    window_performance,
)
from alphagate.models.calibration import CalibratorKind
from alphagate.models.factory import Family
from alphagate.runs import find_run, list_runs

WALK_FORWARD = "walk_forward"
"""The folder, beside gate 1's backtest, where the walk-forward check writes its evidence."""


@dataclass(frozen=True)
class Verdict:
    """What a gate decided: the state to move to, why, and on what evidence."""

    target: GateState
    reason: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Waiting:
    """A gate that cannot decide yet (a live paper record too short): why; nothing is recorded."""

    reason: str


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


def _study_trials(runs_dir: Path, storage: str | None = None) -> dict[str, int]:
    """Finished (not running) trials of every study in ``storage``, by study name.

    ``storage`` is ``training.optuna_storage``'s URL; ``None`` means
    ``runs_dir/optuna.db``, that setting's default.
    """
    storage = storage or f"sqlite:///{runs_dir.resolve() / 'optuna.db'}"
    if storage.startswith("sqlite:///") and not Path(storage.removeprefix("sqlite:///")).is_file():
        return {}
    import optuna

    counted = {
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED,
        optuna.trial.TrialState.FAIL,
    }
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
    studies = _study_trials(ctx.runs_dir, ctx.settings.training.optuna_url(ctx.runs_dir))
    trials = count_trials(data_hash, studies, _manifests(ctx.runs_dir), gates.extra_trials)
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
    walked: dict[str, Any]
    if not gates.walk_forward.enabled:
        walked = {"skipped": "gates.walk_forward.enabled is false"}
    elif ValidationReport(tuple(checks)).verdict != "pass":
        walked = {"skipped": "the single backtest failed already; retraining would not change that"}
    else:
        more, walked = walk_forward_evidence(ctx, history[0].run_id)
        checks.extend(more)
    report = ValidationReport(tuple(checks))
    evidence = {
        "trials": trials.to_json_dict(),
        "phase": phase,
        "thresholds": thresholds.model_dump(),
        "report": report.to_json_dict(),
        "backtest_dir": str(output),
        "walk_forward": walked,
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


def walk_forward_evidence(ctx: GateContext, run_id: str) -> tuple[list[Check], dict[str, Any]]:
    """Gate 1's walk-forward check (:mod:`alphagate.gates.walk_forward`): its checks and evidence.

    The run's horizons are retrained before each window with the recipe the
    run recorded (family, seed, parameters; the calibrator kind it stands
    by), on features and labels rebuilt from its training bars as the model
    backtest rebuilds them. Both backtests (the retrained windows stitched
    together, and the run's own models) trade the same span with the same
    engine, batch predictions and settings as gate 1's single backtest.
    Written under ``runs/<run>/gates/walk_forward/``: ``windows.csv`` (per
    window and per backtest, return and Sharpe; per horizon, rows trained
    and the trainer's score on the window), ``equity.csv`` (both curves),
    ``predictions.parquet`` (the retrained P(up)) and ``walk_forward.json``
    (the aggregate, the gaps, the checks, the time taken).
    """
    from alphagate.app.model_backtest import (
        ModelBacktestRequest,
        backtest_prepared,
        load_trained_run,
        plan_model_run,
        prepare_model_run,
        training_bars,
    )
    from alphagate.app.research import build_feature_frame, build_label_frame
    from alphagate.training.dataset import make_dataset

    config = ctx.settings.gates.walk_forward
    began = time.perf_counter()
    output = ctx.runs_dir / run_id / "gates" / WALK_FORWARD
    trained = load_trained_run(ctx.runs_dir, run_id)
    plan = plan_model_run(ctx.settings, ModelBacktestRequest(run_id, ctx.runs_dir))
    prepared = prepare_model_run(ctx.settings, ctx.bars, trained)
    names = ctx.bars.index.get_level_values("symbol")
    bars = ctx.bars.loc[names.isin(trained.manifest["bars"]["symbols"])]
    train = training_bars(bars, trained.manifest)
    features = build_feature_frame(ctx.settings, bars, None)
    features = features.loc[features.index.isin(train.index)]
    horizons = sorted(trained.horizons)
    labels = build_label_frame(ctx.settings, train, "fixed", horizons=horizons)
    samples = {h: make_dataset(features, labels, h) for h in horizons}
    first = pd.Timestamp(prepared.bars.index.get_level_values("ts").min())
    n_times = len(span_times(samples, first))
    windows = window_count(n_times, config)
    evidence: dict[str, Any] = {"dir": str(output), "span_bars": n_times, "windows": windows}
    if windows < 2:
        return too_short_checks(n_times, config), evidence
    per_horizon = trained.manifest.get("per_horizon") or {}
    recipes = {
        h: Recipe(
            family=cast(Family, trained.family),
            seed=int(trained.manifest.get("seed", 7)),
            params=(per_horizon.get(str(h)) or {}).get("params") or None,
            calibration=cast(CalibratorKind, trained.horizons[h].calibrator.name),
        )
        for h in horizons
    }
    columns = {h: f"{trained.family}_h{h}" for h in horizons}
    where = ctx.settings.parallel
    task_map = functools.partial(
        parallel.map, workers=config.workers, backend=where.backend, ray_address=where.ray_address
    )
    retrained = retrain_windows(
        samples, recipes, columns, first=first, windows=windows, embargo=config.embargo,
        task_map=task_map,
    )  # fmt: skip
    start, end = retrained.windows[0].start, retrained.windows[-1].end
    bar_ts = prepared.bars.index.get_level_values("ts")
    span = prepared.bars.loc[(bar_ts >= start) & (bar_ts <= end)]
    row_ts = prepared.predictions.index.get_level_values("ts")
    own = prepared.predictions.loc[(row_ts >= start) & (row_ts <= end)]
    walked = retrained.predictions.reindex(own.index)[list(own.columns)]
    calendar = ctx.settings.data.calendar
    results = {
        name: backtest_prepared(
            dataclasses.replace(prepared, bars=span, predictions=table),
            plan,
            plan.decision,
            calendar,
        )[0]
        for name, table in (("walk_forward", walked), ("single", own))
    }
    overall = {
        name: Performance(r.metrics.total_return, r.metrics.sharpe) for name, r in results.items()
    }
    checks = walk_forward_checks(overall["walk_forward"], overall["single"], config)
    ppy = results["single"].metrics.periods_per_year
    parts = {
        name: window_performance(r.equity, retrained.windows, ppy) for name, r in results.items()
    }
    rows = [
        {
            "window": w.index,
            "start": str(w.start),
            "end": str(w.end),
            **{
                f"{name}_{field}": _finite(getattr(parts[name][w.index], field))
                for name in results
                for field in ("total_return", "sharpe")
            },
            **{f"h{f.horizon}_train_rows": f.n_train for f in w.fits},
            **{f"h{f.horizon}_window_rows": f.n_test for f in w.fits},
            **{
                f"h{f.horizon}_{key}": _finite(f.evaluation.get(key, float("nan")))
                for f in w.fits
                for key in ("accuracy", "roc_auc")
            },
        }
        for w in retrained.windows
    ]
    evidence |= {
        "start": str(start),
        "end": str(end),
        "aggregate": {n: _perf_json(p) for n, p in overall.items()},
        "trades": {name: r.metrics.trades for name, r in results.items()},
        "per_window": rows,
        "tolerance": config.tolerance,
        "floors": {"total_return": config.return_floor, "sharpe": config.sharpe_floor},
        "checks": [dataclasses.asdict(c) for c in checks],
        "seconds": round(time.perf_counter() - began, 2),
    }
    _write_walk_forward(output, evidence, rows, results, retrained.predictions)
    return checks, evidence


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _perf_json(perf: Performance) -> dict[str, float | None]:
    return {"total_return": _finite(perf.total_return), "sharpe": _finite(perf.sharpe)}


def _write_walk_forward(
    output: Path,
    evidence: dict[str, Any],
    rows: list[dict[str, Any]],
    results: dict[str, Any],
    predictions: pd.DataFrame,
) -> None:
    """The check's files, the summary last: a summary on disk means the rest is there."""
    output.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(output / "windows.csv", index=False)
    curves = pd.DataFrame({name: r.equity for name, r in results.items()})
    curves.rename_axis("ts").to_csv(output / "equity.csv")
    predictions.reset_index().to_parquet(output / "predictions.parquet", index=False)
    text = json.dumps(evidence, indent=2, sort_keys=True, allow_nan=False)
    write_text_atomically(output / "walk_forward.json", text + "\n")


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
    """``stress_passed`` → ``paper``: the paper stage begins; in live mode, where it is to run."""
    from alphagate.app.paper import session_dir

    run_id = history[0].run_id
    if ctx.settings.gates.paper_mode == "live":
        from alphagate.app.live import VENUES
        from alphagate.app.paper_live import live_paper_dir, start_command

        feeds = sorted(VENUES)
        evidence = {
            "mode": "live",
            "sessions": {f: str(live_paper_dir(ctx.runs_dir, run_id, f)) for f in feeds},
            "command": start_command(run_id, "|".join(feeds)),
            "min_days": ctx.settings.gates.paper_min_days,
        }
        why = f"live paper trading begins: run `{evidence['command']}` until gate 3 grades it"
        return Verdict(GateState.PAPER, why, evidence)
    session = session_dir(ctx.runs_dir, run_id)
    evidence = {
        "mode": "replay",
        "session": str(session),
        "min_days": ctx.settings.gates.paper_min_days,
    }
    return Verdict(GateState.PAPER, "paper trading begins (replay of the holdout)", evidence)


def paper_gate(ctx: GateContext, history: list[Transition]) -> Verdict | Waiting:
    """Gate 3: replay the holdout through the paper engine, then grade the record A-F."""
    from alphagate.app.paper import PaperRequest, run_paper
    from alphagate.metrics.performance import compute_metrics

    run_id = history[0].run_id
    gates = ctx.settings.gates
    if gates.paper_mode == "live":
        return live_paper_gate(ctx, history)
    outcome = run_paper(
        ctx.settings, ctx.bars, PaperRequest(run_id, ctx.runs_dir), handle_signals=False
    )
    with open_trading_store(ctx.settings) as store:
        points = store.equity(run_id)
    equity = pd.Series(
        [p.equity for p in points], index=pd.to_datetime([p.ts for p in points], utc=True)
    )
    days = trading_days(pd.DatetimeIndex(equity.index), ctx.settings.data.calendar)
    evidence: dict[str, Any] = {
        "session": str(outcome.session),
        "bars": len(equity),
        "days": days,
    }
    if days < gates.paper_min_days:
        why = (
            f"paper record of {days} trading day(s) ({len(equity)} bar(s)), fewer than "
            f"gates.paper_min_days ({gates.paper_min_days})"
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


def live_paper_gate(ctx: GateContext, history: list[Transition]) -> Verdict | Waiting:
    """Gate 3 in live mode: grade the stored record of ``paper --feed`` once it spans the days.

    Nothing is run here: the session runs on its own (``open_paper``'s
    command) and writes its books to the trading database. Of the run's live
    paper sessions, the one spanning the most trading days is graded; below
    ``gates.paper_min_days`` the gate waits and records nothing.
    """
    from alphagate.app.live import VENUES
    from alphagate.app.paper_live import book_id, live_paper_dir, start_command
    from alphagate.metrics.performance import compute_metrics

    run_id = history[0].run_id
    gates = ctx.settings.gates
    calendar = ctx.settings.data.calendar
    best: tuple[int, str, pd.Series] | None = None
    with open_trading_store(ctx.settings) as store:
        for feed in sorted(VENUES):
            points = store.equity(book_id(run_id, feed))
            equity = pd.Series(
                [p.equity for p in points], index=pd.to_datetime([p.ts for p in points], utc=True)
            )
            days = trading_days(pd.DatetimeIndex(equity.index), calendar)
            if best is None or days > best[0]:
                best = (days, feed, equity)
        assert best is not None, "VENUES names at least one feed"
        days, feed, equity = best
        if days < gates.paper_min_days:
            return Waiting(
                f"waiting: {days} of {gates.paper_min_days} trading days of live paper "
                f"(`{start_command(run_id, feed)}`)"
            )
        books = book_id(run_id, feed)
        trades = store.trades(books)
        errors = [d.tracking_error for d in store.daily_performance(books)]
    metrics = compute_metrics(equity, trade_pnl=[t.pnl for t in trades], calendar=calendar)
    tracked = [e for e in errors if e is not None]
    record = PaperRecord(
        win_rate=metrics.win_rate,
        sharpe=metrics.sharpe,
        alpha=metrics.total_return
        - _benchmark_return(ctx.bars, history[0].evidence.get("symbols"), equity),
        max_drawdown=abs(metrics.max_drawdown),
        tracking_error=max(tracked) if tracked else float("nan"),
    )
    report = grade(record, gates.grader)
    evidence: dict[str, Any] = {
        "mode": "live",
        "session": str(live_paper_dir(ctx.runs_dir, run_id, feed)),
        "bars": len(equity),
        "days": days,
        "record": record.__dict__,
        "grade": report.to_json_dict(),
    }
    if report.passed:
        why = f"live paper grade {report.grade} (score {report.score:.1f})"
        return Verdict(GateState.AWAITING_APPROVAL, why, evidence)
    why = f"live paper grade {report.grade} (score {report.score:.1f}; A or B passes)"
    return Verdict(GateState.REJECTED_AT_PAPER, why, evidence)


def trading_days(ts: pd.DatetimeIndex, calendar: str | None) -> int:
    """Distinct trading days among bar closes ``ts``: sessions of ``calendar``, else UTC dates.

    The paper gate's minimum record is counted in days, not bars: seven
    hourly bars are one day of evidence, not seven. A bar closes inside its
    session (``open < ts <= close``), so an evening session counts once
    though it spans two UTC dates; a bar outside every session counts none.
    """
    if len(ts) == 0:
        return 0
    if calendar is None:
        return int(ts.tz_convert("UTC").normalize().nunique())
    from alphagate.data.calendar import session_positions

    positions = session_positions(ts.tz_convert("UTC"), calendar)
    return int(np.unique(positions[positions >= 0]).size)


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


GATES: dict[GateState, Callable[[GateContext, list[Transition]], Verdict | Waiting | None]] = {
    GateState.REGISTERED: backtest_gate,
    GateState.BACKTEST_PASSED: stress_gate,
    GateState.STRESS_PASSED: open_paper,
    GateState.PAPER: paper_gate,
    GateState.AWAITING_APPROVAL: approval_gate,
}
