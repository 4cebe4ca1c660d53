"""Composition of ``alphagate backtest --strategy model``: a trained run, out of sample.

Steps, and what keeps each honest:

1. **Load the run** (``runs/<run_id>/``, made by ``alphagate train`` or
   ``alphagate pipeline run``; ``alphagate.runs`` knows both layouts): per
   horizon the saved model and the calibrator the run stands by, and the
   training manifest.
2. **Find each horizon's cut.** The training bars are taken back from the
   bars given (the manifest's symbols and span) and must hash to the
   manifest's ``data_hash``; features and labels are rebuilt with the run's
   settings and the holdout is cut by :func:`alphagate.training.trainer.holdout_split`,
   the very rule training used. The cut is cross-checked with the first
   timestamp of the run's saved holdout predictions.
3. **Predict only after the cut**: calibrated P(up) per horizon for bars at or
   after that horizon's cut, never before; this is checked, not assumed
   (:func:`check_out_of_sample`), and the predictions on the holdout must
   reproduce the ones the run saved, which proves the features were rebuilt
   as trained.
4. **Backtest** the bars from the earliest cut on with
   :class:`~alphagate.strategies.model.ModelStrategy`, fed by those
   predictions through a :class:`~alphagate.models.prediction_table.PredictionTable`
   (or, with ``predictor="online"``, computed bar by bar by an
   :class:`~alphagate.models.online.OnlinePredictor` warmed up on the bars
   before the first one, as a live run computes them), a
   :class:`~alphagate.risk.guard.RiskGuard` (correlation baseline from
   the training bars only), conservative fills and a commission by default;
   the settings' ``execution``, ``risk`` and ``decision`` sections set every
   knob, and the request's values (the command-line flags) win over them.
5. **Write** the usual outputs and report, ``manifest.json`` (config, data
   and code hashes, as every backtest writes), plus ``decisions.parquet`` (the
   per-decision trace), ``risk_events.csv`` (also stored in the database),
   ``predictions.parquet``, ``model_backtest.json`` (with when each model
   first warned and went stale, and why: :mod:`alphagate.app.model_health`)
   and ``staleness.csv`` (every verdict change); with ``ablate``, run
   again with each decision step switched off and write ``ablation.csv`` and
   ``ablation.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from alphagate.adapters.sql import create_db_engine, create_schema, record_risk_events
from alphagate.app.backtest import (
    Units,
    commission_of,
    effective_settings,
    fill_model_of,
    guard_of,
    write_report,
    write_run_manifest,
)
from alphagate.app.model_health import (
    ModelHealthPlan,
    changes_frame,
    monitor_of,
    plan_model_health,
    staleness_summary,
)
from alphagate.app.research import build_feature_frame, build_label_frame
from alphagate.app.train import HOLDOUT_FRACTION, data_hash
from alphagate.backtest.outputs import write_outputs
from alphagate.backtest.runner import BacktestResult, run_backtest
from alphagate.config import FillModelName, Settings
from alphagate.decision.settings import STEPS, DecisionSettings
from alphagate.engine.staleness_monitor import StalenessMonitor
from alphagate.errors import AlphagateError
from alphagate.models.calibration import Calibrator, calibrator_from_dict
from alphagate.models.factory import load_model
from alphagate.models.online import HorizonModel, OnlinePredictor
from alphagate.models.prediction_table import PredictionTable
from alphagate.models.protocol import Model
from alphagate.ports import Predictor
from alphagate.risk.events import RiskEvent
from alphagate.risk.guard import RiskSettings, baseline_correlation
from alphagate.risk.limits import RiskLimits
from alphagate.runs import Run, find_run, read_json
from alphagate.runs.layout import CALIBRATOR, HOLDOUT, MODEL
from alphagate.strategies.model import ModelStrategy
from alphagate.training.dataset import make_dataset
from alphagate.training.trainer import holdout_split

ABLATION_COLUMNS = (
    "step_off", "sharpe", "max_drawdown", "turnover", "trades", "total_return", "fills",
    "risk_events", "seconds",
)  # fmt: skip
_REPRODUCE_TOLERANCE = 1e-9
PredictorKind = Literal["batch", "online"]


@dataclass(frozen=True, eq=False)
class TrainedHorizon:
    """One horizon of a training run: its fitted model and calibrator, and the saved holdout."""

    horizon: int
    model: Model
    calibrator: Calibrator
    saved_holdout: pd.DataFrame


@dataclass(frozen=True, eq=False)
class TrainedRun:
    """A finished training run, loaded back."""

    run_id: str
    directory: Path
    manifest: dict[str, Any]
    horizons: dict[int, TrainedHorizon]

    @property
    def family(self) -> str:
        """The model family every horizon was trained with."""
        return str(self.manifest["family"])


def load_trained_run(runs_dir: Path, run_id: str) -> TrainedRun:
    """Load every horizon's model, calibrator and saved holdout predictions of a run.

    Any run works, made by ``alphagate train`` or by ``alphagate pipeline
    run`` (``alphagate.runs`` finds it); a pipeline run brings the
    calibrators its calibrate stage chose, when that stage finished.

    Raises
    ------
    AlphagateError
        When there is no such run (listing those there) or it has no
        finished models (saying what to run).
    """
    return load_run(find_run(runs_dir, run_id))


def load_run(run: Run) -> TrainedRun:
    """Load a run already found: per horizon the model, the calibrator it stands by, the holdout."""
    horizons: dict[int, TrainedHorizon] = {}
    manifest = run.training_manifest()
    for h, folder in run.horizons().items():
        calibrator = read_json(run.calibrator_folder(h) / CALIBRATOR)
        horizons[h] = TrainedHorizon(
            horizon=h,
            model=load_model(folder / MODEL),
            calibrator=calibrator_from_dict(calibrator),
            saved_holdout=pd.read_parquet(folder / HOLDOUT),
        )
    return TrainedRun(run.run_id, run.train_dir, manifest, horizons)


def training_bars(bars: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """The rows of ``bars`` the run was trained on, checked against its ``data_hash``.

    Raises
    ------
    AlphagateError
        When those rows differ from the training data: the holdout cut and the
        features would not be the run's.
    """
    summary = manifest["bars"]
    ts = bars.index.get_level_values("ts")
    keep = bars.index.get_level_values("symbol").isin(summary["symbols"])
    keep &= (ts >= pd.Timestamp(summary["start"])) & (ts <= pd.Timestamp(summary["end"]))
    train = bars.loc[keep]
    if data_hash(train) != manifest["data_hash"]:
        raise AlphagateError(
            f"the bars given differ from run {manifest['run_id']}'s training bars "
            f"({', '.join(summary['symbols'])}, {summary['start']} to {summary['end']}); "
            "backtest it on the data it was trained on (and any later bars)"
        )
    return train


def holdout_cuts(
    settings: Settings, train: pd.DataFrame, features: pd.DataFrame, trained: TrainedRun
) -> dict[int, pd.Timestamp]:
    """Per horizon, the first holdout timestamp, cut exactly as training cut it.

    Raises
    ------
    AlphagateError
        When the recomputed cut is not the first timestamp of the run's saved
        holdout predictions.
    """
    horizons = sorted(trained.horizons)
    labels = build_label_frame(settings, train, "fixed", horizons=horizons)
    train_features = features.loc[features.index.isin(train.index)]
    cuts: dict[int, pd.Timestamp] = {}
    for h in horizons:
        samples = make_dataset(train_features, labels, h)
        _, holdout = holdout_split(samples.t0, samples.t1, HOLDOUT_FRACTION)
        cut = pd.Timestamp(samples.t0.iloc[holdout].min())
        saved = pd.Timestamp(trained.horizons[h].saved_holdout["ts"].min())
        if cut != saved:
            raise AlphagateError(
                f"h{h}: the holdout starts at {cut} when rebuilt but at {saved} in run "
                f"{trained.run_id}; the features or labels are not rebuilt as trained"
            )
        cuts[h] = cut
    return cuts


def check_out_of_sample(predictions: pd.DataFrame, cuts: dict[str, pd.Timestamp]) -> None:
    """Raise unless every prediction of each column is at or after that column's cut."""
    ts = predictions.index.get_level_values("ts")
    for column, cut in cuts.items():
        early = predictions[column].notna().to_numpy() & np.asarray(ts < cut)
        if early.any():
            first = ts[np.flatnonzero(early)[0]]
            raise AlphagateError(
                f"{column}: a prediction at {first} is before the training cut {cut}; "
                "only out-of-sample predictions may be backtested"
            )


def out_of_sample_predictions(
    trained: TrainedRun, features: pd.DataFrame, cuts: dict[int, pd.Timestamp]
) -> pd.DataFrame:
    """Calibrated P(up) per horizon (columns ``<family>_h<h>``) from each horizon's cut on.

    The model's raw probabilities on the holdout must equal the ones the run
    saved: that proves the features were rebuilt as trained, whichever
    calibrator is applied on top.

    Raises
    ------
    AlphagateError
        When the raw predictions on the holdout differ from those the run saved.
    """
    ts = features.index.get_level_values("ts")
    finite = np.isfinite(features.to_numpy(dtype=np.float64, na_value=np.nan)).all(axis=1)
    columns: dict[str, pd.Series] = {}
    for h, part in trained.horizons.items():
        rows = features.loc[finite & np.asarray(ts >= cuts[h])]
        raw = pd.Series(part.model.predict_proba(rows), index=rows.index, dtype="float64")
        column = pd.Series(part.calibrator.transform(raw.to_numpy()), index=rows.index)
        saved = part.saved_holdout.set_index(["symbol", "ts"])["p_raw"]
        common = saved.index.intersection(raw.index)
        difference = raw.loc[common].to_numpy() - saved.loc[common].to_numpy(np.float64)
        gap = float(np.max(np.abs(difference), initial=0.0))
        if len(common) < len(saved) or gap > _REPRODUCE_TOLERANCE:
            raise AlphagateError(
                f"h{h}: rebuilt features do not reproduce run {trained.run_id}'s holdout "
                f"predictions ({len(common)} of {len(saved)} rows, largest gap {gap:.3g}); "
                "use the configuration the run was trained with"
            )
        columns[f"{trained.family}_h{h}"] = column
    predictions = pd.DataFrame(columns).reindex(features.index)
    check_out_of_sample(predictions, {f"{trained.family}_h{h}": c for h, c in cuts.items()})
    return predictions


def online_predictor(
    settings: Settings, trained: TrainedRun, cuts: dict[int, pd.Timestamp] | None = None
) -> OnlinePredictor:
    """The run's models and calibrators as a predictor that computes features bar by bar.

    ``cuts`` (per horizon, its first holdout bar) keep a backtest out of
    sample; a live run, trained on the past, passes none.
    """
    models = [
        HorizonModel(
            column=f"{trained.family}_h{h}",
            model=part.model,
            calibrator=part.calibrator,
            valid_from=None if cuts is None else pd.Timestamp(cuts[h]).as_unit("ns").value,
        )
        for h, part in trained.horizons.items()
    ]
    return OnlinePredictor(
        models,
        profile=settings.features.profile,
        calendar=settings.data.calendar,
        symbols=trained.manifest["bars"]["symbols"],
    )


MODEL_EXECUTION = {"fill_model": "conservative", "commission_bps": 1.0, "units": "fractional"}
"""What ``execution``'s null keys mean for a model: costs always on, fractional units."""


@dataclass(frozen=True)
class ModelBacktestRequest:
    """What the user asked for; ``None`` leaves a knob to the settings' sections.

    ``decision``, ``risk`` and ``kill_file``, when given, replace what the
    ``decision`` and ``risk`` sections describe; with ``decision`` given its
    ``whole_units`` decides the units, since the path sizes with it.
    """

    run_id: str
    runs_dir: Path = Path("runs")
    cash: float | None = None
    commission_bps: float | None = None
    fill_model: FillModelName | None = None
    units: Units | None = None
    decision: DecisionSettings | None = None
    risk: RiskSettings | None = None
    ablate: bool = False
    kill_file: Path | None = None
    predictor: PredictorKind = "batch"


def default_risk_limits(cash: float, decision: DecisionSettings) -> RiskLimits:
    """Limits that fit the decision path's own sizing, so they catch mistakes, not every trade.

    What the ``risk`` section's null limits mean for a model; the order
    notional is capped at the starting cash. Only those four limits are read
    from here (:meth:`~alphagate.risk.guard.RiskSettings.from_config`): the
    collar and the orders per day are always the section's.
    """
    return RiskLimits(
        max_position_weight=min(1.0, 1.2 * decision.size.max_weight),
        max_gross_exposure=max(1.0, decision.gross.max_gross),
        max_net_exposure=max(1.0, decision.gross.max_gross),
        max_order_notional=cash,
        max_orders_per_day=100,
        price_collar_pct=0.2,
    )


@dataclass(frozen=True, eq=False)
class ModelRunPlan:
    """The request resolved against the settings: what every run of it uses."""

    settings: Settings
    decision: DecisionSettings
    risk: RiskSettings
    kill_file: Path | None
    predictor: PredictorKind


def plan_model_run(settings: Settings, request: ModelBacktestRequest) -> ModelRunPlan:
    """Resolve the request's knobs over the settings' sections (flags win)."""
    units = request.units
    if request.decision is not None:
        units = "whole" if request.decision.whole_units else "fractional"
    flags = {
        "cash": request.cash,
        "commission_bps": request.commission_bps,
        "fill_model": request.fill_model,
        "units": units,
    }
    effective = effective_settings(settings, MODEL_EXECUTION, flags)
    cash = effective.execution.cash
    decision = request.decision or DecisionSettings.from_config(
        effective.decision, whole_units=effective.execution.units == "whole"
    )
    risk = request.risk or RiskSettings.from_config(
        effective.risk, fallback=default_risk_limits(cash, decision)
    )
    kill_file = request.kill_file or effective.risk.kill_switch_file
    return ModelRunPlan(effective, decision, risk, kill_file, request.predictor)


@dataclass(frozen=True, eq=False)
class PreparedModelRun:
    """Everything the runs of one request share."""

    bars: pd.DataFrame
    predictions: pd.DataFrame
    cuts: dict[int, pd.Timestamp]
    baseline: float | None
    earlier: pd.DataFrame
    online: Callable[[], OnlinePredictor]
    health: ModelHealthPlan | None = None
    """The staleness monitor's plan (``None``: ``health.model.enabled`` is off)."""

    def predictor(self, kind: PredictorKind) -> Predictor:
        """A fresh predictor for one run: the batch's lookup, or features computed bar by bar."""
        if kind == "batch":
            return PredictionTable(self.predictions)
        online = self.online()
        online.warm_up(self.earlier)
        return online


@dataclass(frozen=True, eq=False)
class ModelBacktestResult:
    """The baseline run, its trace and risk events, the cuts, and the ablation table if asked."""

    result: BacktestResult
    decisions: pd.DataFrame
    risk_events: list[RiskEvent]
    cuts: dict[int, pd.Timestamp]
    ablation: pd.DataFrame | None
    seconds: float
    staleness: StalenessMonitor | None = None
    """The baseline run's staleness monitor, its verdict changes (``None`` when off)."""


def prepare_model_run(
    settings: Settings, bars: pd.DataFrame, trained: TrainedRun
) -> PreparedModelRun:
    """The out-of-sample bars, cuts, predictions and predictor factory of a run, checked.

    Shared by the backtest and the paper engine, so both trade the same bars
    from the same cut with the same predictions.
    """
    # Only the run's symbols: cross-sectional features would change with others in the frame.
    bars = bars.loc[bars.index.get_level_values("symbol").isin(trained.manifest["bars"]["symbols"])]
    train = training_bars(bars, trained.manifest)
    features = build_feature_frame(settings, bars, None)
    cuts = holdout_cuts(settings, train, features, trained)
    predictions = out_of_sample_predictions(trained, features, cuts)
    start = min(cuts.values())
    ts = bars.index.get_level_values("ts")
    history = train.loc[train.index.get_level_values("ts") < start]
    return PreparedModelRun(
        bars=bars.loc[ts >= start],
        predictions=predictions.loc[predictions.index.get_level_values("ts") >= start],
        cuts=cuts,
        baseline=baseline_correlation(history["close"].unstack("symbol")),
        earlier=bars.loc[ts < start],
        online=partial(online_predictor, settings, trained, cuts),
        health=plan_model_health(
            settings.health.model,
            manifest=trained.manifest,
            train_dir=trained.directory,
            family=trained.family,
            cuts=cuts,
            features=features,
        ),
    )


def backtest_prepared(
    prepared: PreparedModelRun,
    plan: ModelRunPlan,
    decision: DecisionSettings,
    calendar: str | None,
) -> tuple[BacktestResult, ModelStrategy, list[RiskEvent]]:
    """One backtest with a fresh strategy, guard and kill-switch state."""
    events: list[RiskEvent] = []
    health = None if prepared.health is None else prepared.health.monitor()
    strategy = ModelStrategy(prepared.predictor(plan.predictor), decision, health=health)
    execution = plan.settings.execution
    with guard_of(plan.risk, plan.kill_file, events.append, baseline=prepared.baseline) as guard:
        result = run_backtest(
            prepared.bars,
            strategy,
            cash=execution.cash,
            fill_model=fill_model_of(execution),
            commission=commission_of(execution),
            units="whole" if decision.whole_units else "fractional",
            sizing=execution.sizing,
            latency_bars=execution.latency_bars,
            calendar=calendar,
            guard=guard,
        )
    return result, strategy, events


def _ablation_row(step: str, result: BacktestResult, events: int, seconds: float) -> dict[str, Any]:
    metrics = result.metrics
    return {
        "step_off": step,
        "sharpe": metrics.sharpe,
        "max_drawdown": metrics.max_drawdown,
        "turnover": metrics.turnover,
        "trades": metrics.trades,
        "total_return": metrics.total_return,
        "fills": len(result.fill_records),
        "risk_events": events,
        "seconds": round(seconds, 2),
    }


def run_model_backtest(
    settings: Settings,
    bars: pd.DataFrame,
    request: ModelBacktestRequest,
    output: Path,
    calendar: str | None,
    *,
    trained: TrainedRun | None = None,
) -> ModelBacktestResult:
    """Backtest a training run out of sample and write every output; see the module docstring.

    ``trained`` is a run the caller already loaded (``load_run``); by
    default it is loaded from ``request.runs_dir``.

    Raises
    ------
    ConfigError
        For a non-positive cash or a negative commission.
    AlphagateError
        When the run is missing, the bars are not the run's, or a prediction
        would fall inside the training period.
    """
    plan = plan_model_run(settings, request)
    began = time.perf_counter()
    if trained is None:
        trained = load_trained_run(request.runs_dir, request.run_id)
    prepared = prepare_model_run(settings, bars, trained)
    started = time.perf_counter()
    result, strategy, events = backtest_prepared(prepared, plan, plan.decision, calendar)
    decisions = strategy.decisions()
    ablation = None
    if request.ablate:
        rows = [_ablation_row("none", result, len(events), time.perf_counter() - started)]
        for step in STEPS:
            started = time.perf_counter()
            variant = plan.decision.without(step)
            other, _, other_events = backtest_prepared(prepared, plan, variant, calendar)
            rows.append(
                _ablation_row(step, other, len(other_events), time.perf_counter() - started)
            )
        ablation = pd.DataFrame(rows, columns=list(ABLATION_COLUMNS))
    outcome = ModelBacktestResult(
        result,
        decisions,
        events,
        prepared.cuts,
        ablation,
        time.perf_counter() - began,
        staleness=monitor_of(strategy),
    )
    _write(output, trained, prepared, plan, outcome)
    _store_events(settings, events, f"{request.run_id}:{output.name}")
    return outcome


def _events_frame(events: list[RiskEvent]) -> pd.DataFrame:
    rows = [
        {
            "ts": e.ts,
            "component": e.component,
            "severity": e.severity.value,
            "reason": e.reason,
            "data": json.dumps(dict(e.data), default=str, sort_keys=True),
        }
        for e in events
    ]
    return pd.DataFrame(rows, columns=["ts", "component", "severity", "reason", "data"])


def _write(
    output: Path,
    trained: TrainedRun,
    prepared: PreparedModelRun,
    plan: ModelRunPlan,
    outcome: ModelBacktestResult,
) -> None:
    """The standard outputs, then the model path's own files beside them, the manifest last."""
    result, decisions, events = outcome.result, outcome.decisions, outcome.risk_events
    write_outputs(result, output)
    decisions.to_parquet(output / "decisions.parquet", index=False)
    _events_frame(events).to_csv(output / "risk_events.csv", index=False)
    prepared.predictions.reset_index().to_parquet(output / "predictions.parquet", index=False)
    if outcome.staleness is not None:
        changes_frame(outcome.staleness.changes).to_csv(output / "staleness.csv", index=False)
    notes = () if prepared.health is None else prepared.health.notes
    summary = {
        "run_id": trained.run_id,
        "family": trained.family,
        "cuts": {str(h): c.isoformat() for h, c in prepared.cuts.items()},
        "first_bar": str(prepared.bars.index.get_level_values("ts").min()),
        "baseline_correlation": prepared.baseline,
        "decisions": len(decisions),
        "risk_events": len(events),
        "commission_bps": plan.settings.execution.commission_bps,
        "fill_model": plan.settings.execution.fill_model,
        "decision_settings": plan.decision.to_json_dict(),
        "staleness": staleness_summary(outcome.staleness, notes),
        "wall_seconds": round(outcome.seconds, 3),
    }
    text = json.dumps(summary, indent=2, sort_keys=True, default=str)
    (output / "model_backtest.json").write_text(text + "\n", encoding="utf-8")
    if outcome.ablation is not None:
        table = outcome.ablation
        table.to_csv(output / "ablation.csv", index=False)
        # JSON has no NaN (a Sharpe of a run without trades): write null instead.
        records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
        text = json.dumps(records, indent=2, allow_nan=False)
        (output / "ablation.json").write_text(text + "\n", encoding="utf-8")
    what = f"model run {trained.run_id} out of sample"
    write_report(result, prepared.bars, what, output / "report.html")
    params = {"run_id": trained.run_id, "family": trained.family, **plan.decision.to_json_dict()}
    write_run_manifest(output, plan.settings, prepared.bars, strategy="model", params=params)


def _store_events(settings: Settings, events: list[RiskEvent], run: str) -> None:
    """Keep the baseline run's risk events in the project database, replacing a rerun's."""
    engine = create_db_engine(settings.storage.database_url, settings.storage.database_password)
    try:
        create_schema(engine)
        record_risk_events(engine, events, run=run[:128], replace=True)
    finally:
        engine.dispose()
