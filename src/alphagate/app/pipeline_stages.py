"""The pipeline's stages, one function each: what data, features, labels, train, calibrate,
backtest, validate, stress and report compute and write.

:mod:`alphagate.app.pipeline` lists them in order (``build_stages``) and runs
them through the generic machinery of :mod:`alphagate.pipeline`; the reasons
each stage is built as it is (the bars snapshot, barriers on the training
part only, a search afresh each time) are in that module's docstring.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from alphagate.app import data as app
from alphagate.app import model_backtest, research
from alphagate.app import train as training_run
from alphagate.backtest.outputs import equity_frame, write_csv
from alphagate.backtest.runner import run_backtest
from alphagate.config import Settings, config_hash
from alphagate.domain.bars import bars_from_flat
from alphagate.features.profiles import build_features
from alphagate.gates.validation import (
    ValidationReport,
    backtest_checks,
    deflated_sharpe_check,
    leakage_check,
    model_checks,
)
from alphagate.labels.calibrate import choose_barriers
from alphagate.pipeline import (
    PipelineError,
    StageContext,
    StageOutput,
)
from alphagate.pipeline.report import render_run_report
from alphagate.runs import horizon_folders, horizon_name, read_json_or_none, write_json
from alphagate.runs.layout import (
    CALIBRATOR,
    EVALUATION,
    HOLDOUT,
    MANIFEST,
    OOF,
    TRAINING_MANIFEST,
    calibration_names,
    write_calibration,
)
from alphagate.strategies.builtin import BuyAndHold
from alphagate.training.calibration_choice import choose_calibration
from alphagate.training.evaluation import to_json_dict
from alphagate.training.review import recalibrate

if TYPE_CHECKING:
    from alphagate.app.pipeline import Selection

INGESTIBLE = ("bundled", "synthetic")
"""Sources the data stage can ingest by itself; file sources must be ingested first."""

# --------------------------------------------------------------------------- stages


def data_stage(settings: Settings, selection: Selection, context: StageContext) -> StageOutput:
    """Ingest the source when it can be ingested unaided, then snapshot the selection."""
    new_rows: int | None = None
    if selection.source in INGESTIBLE:
        context.say(f"ingesting {selection.source} bars into {settings.data.dir}")
        request = app.SourceRequest(kind=selection.source, timeframe=selection.timeframe)
        result = app.run_ingest(settings, request)
        new_rows = sum(w.new_rows for w in result.writes)
    else:
        context.say(f"using the {selection.source} bars already in {settings.data.dir}")
    bars = research.load_bars(
        settings,
        symbols=selection.symbols,
        timeframe=selection.timeframe,
        start=selection.start,
        end=selection.end,
    )
    research.write_frame(bars, context.directory / "bars.parquet")
    coverage = {
        str(symbol): {
            "first": group.index.get_level_values("ts").min().isoformat(),
            "last": group.index.get_level_values("ts").max().isoformat(),
            "rows": len(group),
        }
        for symbol, group in bars.groupby(level="symbol", sort=True)
    }
    write_json(context.directory / "coverage.json", coverage)
    ts = bars.index.get_level_values("ts")
    summary = (
        f"{len(coverage)} symbol(s), {len(bars):,} bars, {ts.min():%Y-%m-%d} to {ts.max():%Y-%m-%d}"
    )
    if new_rows is not None:
        summary += f", {new_rows:,} new in the store"
    return StageOutput(
        summary,
        {
            "symbols": sorted(coverage),
            "rows": len(bars),
            "coverage": coverage,
            "data_hash": training_run.data_hash(bars),
            "ingested_new_rows": new_rows,
        },
    )


def _read_bars(context: StageContext) -> pd.DataFrame:
    return bars_from_flat(pd.read_parquet(context.inputs["data"] / "bars.parquet"))


def features_stage(settings: Settings, context: StageContext) -> StageOutput:
    """The configured feature profile on the snapshot, through the feature cache."""
    features = research.build_feature_frame(settings, _read_bars(context), None)
    research.write_frame(features, context.directory / "features.parquet")
    profile = settings.features.profile
    return StageOutput(
        f"{len(features):,} rows x {features.shape[1]} features ({profile})",
        {"rows": len(features), "columns": [str(c) for c in features.columns], "profile": profile},
    )


def training_end(bars: pd.DataFrame, horizons: Sequence[int]) -> pd.Timestamp:
    """The last bar close that is surely before every horizon's holdout.

    ``train`` holds out the last ``HOLDOUT_FRACTION`` of the distinct times of
    each horizon's samples, which end ``h`` bars before the data and start
    after a warm-up. Of ``T`` bar times, the first ``floor((1 - f)(T - max h))``
    therefore lie before any holdout, whatever the warm-up.
    """
    stamps = pd.DatetimeIndex(bars.index.get_level_values("ts").unique()).sort_values()
    usable = len(stamps) - max(horizons)
    count = math.floor((1 - training_run.HOLDOUT_FRACTION) * usable)
    if count < 2:
        raise PipelineError(
            f"{len(stamps)} bar times are too few to train on; select a longer period"
        )
    return pd.Timestamp(stamps[count - 1])


def labels_stage(settings: Settings, context: StageContext) -> StageOutput:
    """Fixed-horizon labels (what ``train`` learns) and triple-barrier labels.

    Barrier widths are chosen on the bars up to ``training_end`` only and
    saved as ``barriers.json`` in the stage, never to the global barriers file.
    """
    bars = _read_bars(context)
    horizons = list(settings.labels.horizons)
    fixed = research.build_label_frame(settings, bars, "fixed", horizons=horizons)
    train_end = training_end(bars, horizons)
    context.say(f"choosing barriers on bars up to {train_end:%Y-%m-%d}")
    training = bars.loc[bars.index.get_level_values("ts") <= train_end]
    choice = choose_barriers(
        training,
        horizon=settings.labels.barrier_horizon,
        target_balance=settings.labels.target_balance,
        vol_span=settings.labels.vol_span,
    )
    choice.save(context.directory / "barriers.json")
    triple = research.build_label_frame(settings, bars, "triple", barriers=choice)
    labels = fixed.join(triple.add_prefix("tb_"))
    research.write_frame(labels, context.directory / "labels.parquet")
    return StageOutput(
        f"horizons {','.join(map(str, horizons))}; barriers +/-{choice.pt:g} vol "
        f"chosen on bars to {train_end:%Y-%m-%d}",
        {
            "rows": len(labels),
            "horizons": horizons,
            "barriers": asdict(choice),
            "training_end": train_end.isoformat(),
        },
    )


def train_stage(settings: Settings, context: StageContext) -> StageOutput:
    """``training_run.run_training`` into this stage's scratch directory.

    ``run_training`` builds ``<runs_dir>/<run_id>/train`` itself; naming the
    run ``<run id>/<scratch name>`` puts that folder inside the scratch
    directory, while MLflow and Optuna stay in ``pipeline.runs_dir`` as for
    ``alphagate train``. Its files are then lifted into the stage, and its
    manifest kept as ``training.json`` (``manifest.json`` is the stage's).

    ``n_trials`` counts every model tried: the search's trials of each horizon
    (one where nothing was searched), summed over the horizons, since each
    horizon is another candidate too. The validate stage deflates the
    backtest's Sharpe ratio by it.
    """
    options = settings.pipeline
    bars = _read_bars(context)
    horizons = list(settings.labels.horizons)
    runs_dir = context.run_dir.parent
    if options.trials > 0:
        _forget_studies(settings, bars, horizons, runs_dir)
    with _quiet_optuna():
        result = training_run.run_training(
            settings,
            bars,
            family=options.model,
            horizons=horizons,
            trials=options.trials,
            seed=context.seed,
            calibration=options.calibration_methods[0],
            runs_dir=runs_dir,
            run_id=f"{context.run_dir.name}/{context.directory.name}",
            progress=context.say,
            members=options.members,
        )
    for item in result.directory.iterdir():
        if item.name != MANIFEST:
            item.rename(context.directory / item.name)
    training = {**result.manifest, "run_id": context.run_id}
    write_json(context.directory / TRAINING_MANIFEST, training, allow_nan=True)
    (result.directory / MANIFEST).unlink()
    result.directory.rmdir()
    per_horizon = result.manifest["per_horizon"]
    trials = {
        h: int((entry.get("search") or {}).get("n_trials", 1)) for h, entry in per_horizon.items()
    }
    holdout = {
        h: {k: entry["holdout"].get(k) for k in ("accuracy", "roc_auc", "ece_uniform", "log_loss")}
        for h, entry in per_horizon.items()
    }
    accuracy = ", ".join(f"h{h} {_fmt(v['accuracy'])}" for h, v in holdout.items())
    return StageOutput(
        f"{options.model}, {sum(trials.values())} trial(s); holdout accuracy {accuracy}",
        {
            "family": options.model,
            "horizons": horizons,
            "n_trials": sum(trials.values()),
            "trials_per_horizon": trials,
            "holdout": holdout,
            "data_hash": result.manifest["data_hash"],
            "mlflow_run_id": result.mlflow_run_id,
            "model_versions": {str(h): list(v) for h, v in result.model_versions.items()},
        },
    )


def _forget_studies(
    settings: Settings, bars: pd.DataFrame, horizons: Sequence[int], runs_dir: Path
) -> None:
    """Delete this stage's Optuna studies left by an earlier or interrupted attempt.

    ``run_training`` resumes a study of the same name and adds its trials to
    the ones stored, so a second attempt would search longer than the first
    and could pick other parameters. The names follow ``training_run._search``:
    ``<family>-h<h>-<config hash>-<data hash[:12]>``.
    """
    url = settings.training.optuna_url(runs_dir)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return
    import optuna

    stored = set(optuna.get_all_study_names(storage=url))
    suffix = f"{config_hash(settings)}-{training_run.data_hash(bars)[:12]}"
    for horizon in horizons:
        name = f"{settings.pipeline.model}-h{horizon}-{suffix}"
        if name in stored:
            optuna.delete_study(study_name=name, storage=url)


@contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Silence Optuna's per-trial warnings while the stage runs.

    A trial stopped by Ctrl-C or an error is logged by Optuna with a full
    traceback before the exception reaches the runner, which records it
    itself (``traceback.txt``); the console should show one line, not two
    tracebacks.
    """
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def calibrate_stage(settings: Settings, context: StageContext) -> StageOutput:
    """Choose each horizon's calibrator on its out-of-fold predictions, then judge the holdout.

    Every candidate is fitted on the train stage's out-of-fold predictions and
    written here (``calibrator-<kind>.json``, ``evaluation-<kind>.json``), the
    chosen one also as ``calibrator.json`` and ``evaluation.json``; nothing is
    written into the finished train stage.
    """
    methods = list(settings.pipeline.calibration_methods)
    report: dict[str, Any] = {}
    for horizon, trained in horizon_folders(context.inputs["train"]).items():
        name, folder = horizon_name(horizon), context.directory / horizon_name(horizon)
        oof = pd.read_parquet(trained / OOF)
        holdout = pd.read_parquet(trained / HOLDOUT)
        chosen = choose_calibration(
            oof["p_oof"],
            oof["y"],
            oof["ts"],
            methods,
            n_folds=settings.pipeline.calibration_folds,
        )
        context.say(f"{name}: {chosen.kind} (OOF cross-validated log loss)")
        for kind in methods:
            fitted = recalibrate(oof, holdout, horizon, kind)
            evaluation = to_json_dict(fitted.evaluation)
            write_calibration(folder, kind, fitted.calibrator.to_dict(), evaluation)
            if kind == chosen.kind:
                report[name] = {
                    "method": chosen.kind,
                    "oof_cv_log_loss": {
                        k: (v if math.isfinite(v) else None) for k, v in chosen.scores.items()
                    },
                    "holdout": {
                        k: evaluation.get(k)
                        for k in ("accuracy", "ece_uniform", "log_loss", "brier")
                    },
                }
        calibrator_name, evaluation_name = calibration_names(chosen.kind)
        shutil.copy2(folder / calibrator_name, folder / CALIBRATOR)
        shutil.copy2(folder / evaluation_name, folder / EVALUATION)
    write_json(context.directory / "choice.json", report)
    summary = ", ".join(
        f"{h} {entry['method']} (ECE {_fmt(entry['holdout']['ece_uniform'])})"
        for h, entry in report.items()
    )
    return StageOutput(summary, {"horizons": report})


def backtest_stage(settings: Settings, context: StageContext) -> StageOutput:
    """Backtest the trained models with the calibrators the calibrate stage chose.

    The run is loaded as ``alphagate backtest --strategy model --run`` loads
    it (``alphagate.runs`` finds the finished train and calibrate stages), so
    the stage and the command cannot disagree on what a run's models are.

    Out of sample only (``model_backtest`` refuses a prediction before a
    horizon's holdout cut); conservative fills and a commission by default.
    Buy-and-hold over the same bars is written beside it as
    ``benchmark_equity.csv``, the yardstick the report draws it against.
    """
    options = settings.pipeline.backtest
    bars = _read_bars(context)
    request = model_backtest.ModelBacktestRequest(
        run_id=context.run_id,
        runs_dir=context.run_dir.parent,
        cash=options.cash,
        commission_bps=options.commission_bps,
        fill_model=options.fill_model,
    )
    context.say("predicting out of sample and running the decision path")
    outcome = model_backtest.run_model_backtest(
        settings, bars, request, context.directory, settings.data.calendar
    )
    equity = outcome.result.equity
    held = bars.loc[bars.index.get_level_values("ts") >= equity.index[0]]
    benchmark = run_backtest(held, BuyAndHold(), cash=options.cash, calendar=settings.data.calendar)
    write_csv(equity_frame(benchmark.equity), context.directory / "benchmark_equity.csv")
    metrics = outcome.result.metrics
    return StageOutput(
        f"from {equity.index[0]:%Y-%m-%d}: Sharpe {_fmt(metrics.sharpe)}, "
        f"max drawdown {_fmt(metrics.max_drawdown)}, {metrics.trades} trades "
        f"(buy-and-hold Sharpe {_fmt(benchmark.metrics.sharpe)})",
        {
            "first_bar": equity.index[0].isoformat(),
            "cuts": {str(h): c.isoformat() for h, c in outcome.cuts.items()},
            "sharpe": _finite(metrics.sharpe),
            "max_drawdown": _finite(metrics.max_drawdown),
            "trades": metrics.trades,
            "benchmark_sharpe": _finite(benchmark.metrics.sharpe),
            "risk_events": len(outcome.risk_events),
        },
    )


def stress_stage(settings: Settings, context: StageContext) -> StageOutput:
    """Run the trained models through ``stress.pipeline_scenarios`` seeded scenarios.

    Fewer than the full library (``stress.scenarios``, 200), so ``make
    pipeline`` stays quick; ``alphagate stress run --run RUN_ID`` runs them
    all. Costs are the backtest stage's (``pipeline.backtest``), so the
    scenarios and the backtest trade under the same fills. The gate's verdict
    is recorded beside the validation verdict; like it, a failure does not
    stop the pipeline, it is the finding.
    """
    from alphagate.app import stress

    options = settings.pipeline.backtest
    request = stress.StressRequest(
        run_id=context.run_id,
        runs_dir=context.run_dir.parent,
        scenarios=settings.stress.pipeline_scenarios,
        cash=options.cash,
        commission_bps=options.commission_bps,
        fill_model=options.fill_model,
    )
    context.say(f"running {request.scenarios} stress scenarios")
    result = stress.run_stress(
        settings, _read_bars(context), request, context.directory, settings.data.calendar
    )
    stats, gate = result.summary["statistics"], result.summary["gate"]
    verdict = stress.verdict_of(result.summary)
    return StageOutput(
        f"stress gate {verdict}: {stats['share_profitable']:.0%} of {stats['scenarios']} "
        f"scenarios profitable, median Sharpe {_fmt(stats['median_sharpe'])}, "
        f"{len(stats['catastrophic'])} catastrophic",
        {"verdict": verdict, "passed": gate["passed"], "scenarios": stats["scenarios"]},
    )


CANDIDATE_FILE = "candidate.json"
"""The candidate stage's record: where the run stopped on its way through the gates, and why."""
MAX_GATE_PASSES = 8
"""More passes than a candidate has gates, so one that keeps moving still ends the stage."""


def candidate_stage(settings: Settings, context: StageContext) -> StageOutput:
    """Submit the run to the promotion gates and move it until it stops; say where and why.

    The run's own bars (the data stage's snapshot) feed the gates, and gate 2
    reads the stress stage's summary rather than stressing the run again.
    Passes move this candidate only, never others waiting in the database,
    and stop when a pass moves it no further (``awaiting_approval``, a
    rejection, or the paper gate waiting): at most ``MAX_GATE_PASSES``. A run
    that is a candidate already (a forced re-run) is moved on, not submitted
    twice. While the gates' emergency stop is on, the run is only submitted.
    """
    from alphagate.app import gates

    runs_dir, run_id = context.run_dir.parent, context.run_id
    if not any(row["candidate_id"] == run_id for row in gates.status(settings)):
        gates.submit(settings, runs_dir, run_id, origin={"source": "pipeline"})
    bars = _read_bars(context)
    stopped = settings.gates.stop_file.exists()
    for done in range(0 if stopped else MAX_GATE_PASSES):
        context.say(f"gates pass {done + 1}")
        steps = gates.run_once(settings, runs_dir, lambda: bars, only=(run_id,))
        if not any(step.transition is not None for step in steps):
            break
    (row,) = (r for r in gates.status(settings) if r["candidate_id"] == run_id)
    reason = row["reason"] + (
        " (the gates are stopped: `alphagate gates resume`)" if stopped else ""
    )
    record = {k: row[k] for k in ("candidate_id", "state", "moves", "evidence")} | {
        "reason": reason
    }
    write_json(context.directory / CANDIDATE_FILE, record, allow_nan=True)
    return StageOutput(  # the reason is long: the line after the tables gives it whole
        f"candidate {run_id}: {row['state']}",
        {"candidate_id": run_id, "state": row["state"], "stopped": stopped},
    )


def candidate_line(record: dict[str, Any]) -> str:
    """``candidate ID: STATE — REASON``: where a run stopped in the gates, for people."""
    return f"candidate {record['candidate_id']}: {record['state']} \u2014 {record['reason']}"


def report_stage(context: StageContext) -> StageOutput:
    """Render ``report.html`` from what the other stages wrote (it judges nothing itself)."""
    page = render_run_report(context.run_dir, context.directory / "report.html")
    size = page.stat().st_size / 2**20
    return StageOutput(f"report.html, {size:.1f} MiB", {"report": "report/report.html"})


def validate_stage(settings: Settings, context: StageContext) -> StageOutput:
    """Run every check and write ``validation_report.json``."""
    limits = settings.pipeline.validation
    backtest = context.inputs["backtest"]
    metrics = read_json_or_none(backtest / "metrics.json")
    returns = _equity_returns(backtest / "equity.csv")
    calibrate = context.inputs["calibrate"]
    evaluations = {
        horizon: read_json_or_none(folder / EVALUATION) or {}
        for horizon, folder in horizon_folders(calibrate).items()
    }
    for horizon, folder in horizon_folders(context.inputs["train"]).items():
        outcomes = pd.read_parquet(folder / HOLDOUT, columns=["y"])["y"]
        share = float(outcomes.mean())
        evaluations.setdefault(horizon, {})["base_rate"] = max(share, 1.0 - share)
    n_trials = context.manifests["train"].get("outputs", {}).get("n_trials")
    context.say(f"checking features for look-ahead at {limits.leakage_cuts} cut(s)")
    profile, calendar = settings.features.profile, settings.data.calendar
    checks = (
        *backtest_checks(metrics, limits),
        deflated_sharpe_check(returns, n_trials, limits),
        *model_checks(evaluations, limits, "calibrate stage (chosen calibrator)"),
        leakage_check(
            lambda bars: build_features(bars, profile, calendar=calendar),
            _read_bars(context),
            limits.leakage_cuts,
        ),
    )
    report = ValidationReport(tuple(checks))
    payload = {
        "run_id": context.run_id,
        **report.to_json_dict(),
        "n_trials": n_trials,
        "thresholds": limits.model_dump(),
    }
    write_json(context.directory / "validation_report.json", payload)
    counts = report.counts()
    return StageOutput(
        f"verdict {report.verdict}: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['missing']} missing",
        {"verdict": report.verdict, "counts": counts},
    )


# --------------------------------------------------------------------------- helpers


def _equity_returns(path: Path) -> np.ndarray[Any, np.dtype[np.float64]] | None:
    if not path.is_file():
        return None
    equity: np.ndarray[Any, np.dtype[np.float64]] = pd.read_csv(path)["equity"].to_numpy(
        dtype=np.float64
    )
    return np.asarray(equity[1:] / equity[:-1] - 1.0, dtype=np.float64)


def _finite(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "n/a"
