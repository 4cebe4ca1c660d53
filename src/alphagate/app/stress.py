"""Composition of ``alphagate stress run``: a candidate through the scenario library, in parallel.

A candidate is a training run (``--run``: its models, out of sample, through
the decision path) or a rule strategy (``--strategy``). Either way:

1. the **library** of seeded scenario specs is drawn
   (:func:`alphagate.stress.scenarios.default_library`: count, seed, families);
2. each scenario is **built** from the candidate's own history, the generator
   fitted on bars up to the training end only, and traded by a worker
   process (:func:`alphagate.parallel.map`) through the same engine as the
   candidate's backtest: for a model, features recomputed point in time on
   the scenario's own bars (:func:`alphagate.features.profiles.build_features`,
   without the cache: 200 scenarios would fill it with frames never read
   again), the run's models and calibrators from each horizon's holdout cut
   on, the decision path, the risk guard with the *training* correlation
   baseline (so a correlation break is measured against what the candidate
   knew), and the conservative fill and commission under the scenario's
   cost shock;
3. the candidate's **own trades** (its plain backtest) are reshuffled by the
   trade-sequence Monte Carlo for the drawdown distribution beside them;
4. the **summary and gate** are written (:mod:`alphagate.stress.summary`).

The generator is imported when first needed and can be replaced
(:class:`Generator`), so the runner and its tests do not need its fitting
libraries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from alphagate import parallel
from alphagate.app.backtest import RULE_EXECUTION, commission_of, effective_settings, fill_model_of
from alphagate.app.model_backtest import (
    ModelBacktestRequest,
    ModelRunPlan,
    PredictorKind,
    TrainedRun,
    backtest_prepared,
    load_trained_run,
    online_predictor,
    plan_model_run,
    prepare_model_run,
)
from alphagate.app.model_health import ModelHealthPlan
from alphagate.backtest.runner import BacktestResult
from alphagate.config import FillModelName, Settings
from alphagate.config.stress import StressConfig
from alphagate.errors import ConfigError
from alphagate.features.profiles import build_features
from alphagate.metrics.performance import EquityWipedOut
from alphagate.models.prediction_table import PredictionTable
from alphagate.ports import Predictor
from alphagate.strategies.loading import load_strategy
from alphagate.strategies.model import ModelStrategy
from alphagate.stress.runner import (
    Build,
    Costs,
    RuleStress,
    ScenarioOutcome,
    SpecLike,
    outcome_of,
    rule_risk,
    run_guarded,
    run_rule_scenario,
    stressed_costs,
    wiped_out,
)
from alphagate.stress.summary import summarise, write_summary

DrawdownDistribution = Callable[..., Mapping[str, float]]


@dataclass(frozen=True)
class Generator:
    """The scenario generator's three entry points; the real ones unless a test hands others."""

    build: Build
    library: Callable[..., list[Any]]
    drawdown_distribution: DrawdownDistribution


def default_generator() -> Generator:
    """:mod:`alphagate.stress.scenarios` and :mod:`alphagate.stress.monte_carlo`, imported now."""
    from alphagate.stress import monte_carlo, scenarios  # type: ignore[attr-defined, unused-ignore]

    return Generator(scenarios.build, scenarios.default_library, monte_carlo.drawdown_percentiles)


@dataclass(frozen=True)
class StressRequest:
    """What the user asked for; ``None`` leaves a knob to the ``stress`` settings.

    Exactly one of ``run_id`` (a training run) and ``strategy`` (a rule
    strategy, with ``params`` as the command line gives them) is set.
    """

    run_id: str | None = None
    strategy: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    scenarios: int | None = None
    seed: int | None = None
    families: tuple[str, ...] | None = None
    workers: int | None = None
    runs_dir: Path = Path("runs")
    predictor: PredictorKind = "batch"
    cash: float | None = None
    commission_bps: float | None = None
    fill_model: FillModelName | None = None


@dataclass(frozen=True)
class StressResult:
    """The summary written, where, the outcomes in library order, and timings (not in the file)."""

    summary: dict[str, Any]
    summary_path: Path
    report_path: Path
    outcomes: list[ScenarioOutcome]
    seconds: float
    family_seconds: dict[str, float]


def stress_settings(settings: StressConfig, request: StressRequest) -> StressConfig:
    """The ``stress`` section with the request's flags applied over it."""
    updates: dict[str, Any] = {}
    if request.scenarios is not None:
        if request.scenarios < 1:
            raise ConfigError(f"--scenarios must be at least 1, got {request.scenarios}")
        updates["scenarios"] = request.scenarios
    if request.seed is not None:
        updates["seed"] = request.seed
    if request.families is not None:
        updates["families"] = request.families
    if request.workers is not None:
        updates["workers"] = request.workers
    return settings.model_copy(update=updates)


@dataclass(frozen=True, eq=False)
class ModelStress:
    """What every scenario of a training run's stress run shares (sent once per worker).

    It carries the request, not the resolved plan: the guard's settings hold
    read-only mappings, which do not pickle, so each worker resolves the plan
    (:meth:`plan`) once.
    """

    settings: Settings
    request: ModelBacktestRequest
    trained: TrainedRun
    history: pd.DataFrame
    train_end: pd.Timestamp
    cuts: dict[int, pd.Timestamp]
    baseline: float | None
    costs: Costs
    catastrophic_loss: float
    calendar: str | None
    build: Build
    health: ModelHealthPlan | None = None
    """The staleness monitor's plan, without feature rows: each scenario brings its own."""

    @cached_property
    def plan(self) -> ModelRunPlan:
        """The request resolved over the settings, as the backtest resolves it."""
        return replace(plan_model_run(self.settings, self.request), kill_file=None)


def scenario_predictor(
    shared: ModelStress, bars: pd.DataFrame, features: pd.DataFrame | None = None
) -> Predictor:
    """The run's calibrated P(up) per horizon on a scenario's bars, from each horizon's cut on.

    Features are recomputed on the scenario's own bars, causally, so no
    prediction sees a scenario bar after its own (``features``: already computed so).
    """
    if shared.plan.predictor == "online":
        start = min(shared.cuts.values())
        online = online_predictor(shared.settings, shared.trained, shared.cuts)
        online.warm_up(bars.loc[bars.index.get_level_values("ts") < start])
        return online
    if features is None:
        features = _scenario_features(shared, bars)
    ts = features.index.get_level_values("ts")
    finite = np.isfinite(features.to_numpy(dtype=np.float64, na_value=np.nan)).all(axis=1)
    columns: dict[str, pd.Series] = {}
    for h, part in shared.trained.horizons.items():
        rows = features.loc[finite & np.asarray(ts >= shared.cuts[h])]
        raw = part.model.predict_proba(rows)
        columns[f"{shared.trained.family}_h{h}"] = pd.Series(
            part.calibrator.transform(np.asarray(raw, dtype=np.float64)), index=rows.index
        )
    predictions = pd.DataFrame(columns).reindex(features.index)
    return PredictionTable(predictions.loc[ts >= min(shared.cuts.values())])


def _scenario_features(shared: ModelStress, bars: pd.DataFrame) -> pd.DataFrame:
    settings = shared.settings
    return build_features(bars, settings.features.profile, calendar=settings.data.calendar)


def run_model_scenario(shared: ModelStress, spec: SpecLike) -> ScenarioOutcome:
    """Build one scenario and trade the training run's models through it (a worker's task).

    The models' staleness is judged on the scenario's own features, as the
    backtest judges it on the real ones.
    """
    scenario = shared.build(spec, shared.history, train_end=shared.train_end)
    bars = scenario.bars
    start = min(shared.cuts.values())
    traded = bars.loc[bars.index.get_level_values("ts") >= start]
    decision = shared.plan.decision
    features = None
    if shared.health is not None or shared.plan.predictor == "batch":
        features = _scenario_features(shared, bars)
    health = None
    if shared.health is not None and features is not None:
        health = shared.health.monitor(shared.health.window_of(features))
    predictor = scenario_predictor(shared, bars, features)
    strategy = ModelStrategy(predictor, decision, health=health)
    execution = shared.plan.settings.execution
    try:
        result, events = run_guarded(
            traded,
            strategy,
            stressed_costs(shared.costs, scenario),
            cash=execution.cash,
            units="whole" if decision.whole_units else "fractional",
            sizing=execution.sizing,
            calendar=shared.calendar,
            risk=shared.plan.risk,
            baseline=shared.baseline,
        )
    except EquityWipedOut:
        return wiped_out(spec, catastrophic_loss=shared.catastrophic_loss)
    return outcome_of(
        spec, result, events, cash=execution.cash, catastrophic_loss=shared.catastrophic_loss
    )


def _costs(settings: Settings) -> Costs:
    execution = settings.execution
    return Costs(fill_model_of(execution), commission_of(execution), execution.latency_bars)


def _trade_returns(result: BacktestResult, cash: float) -> list[float]:
    """Closed trades' net P&L as fractions of the starting cash, in the order they closed."""
    closed = result.trades.dropna(subset=["exit_ts"]).sort_values("exit_ts", kind="stable")
    return [float(v) for v in (closed["pnl"] - closed["fees"]) / cash]


def _model_plan(
    settings: Settings, bars: pd.DataFrame, request: StressRequest, stress: StressConfig,
    *, calendar: str | None, build: Build,
) -> tuple[ModelStress, list[float]]:  # fmt: skip
    assert request.run_id is not None
    trained = load_trained_run(request.runs_dir, request.run_id)
    model_request = ModelBacktestRequest(
        run_id=request.run_id,
        runs_dir=request.runs_dir,
        predictor=request.predictor,
        cash=request.cash,
        commission_bps=request.commission_bps,
        fill_model=request.fill_model,
    )
    plan = plan_model_run(settings, model_request)
    prepared = prepare_model_run(plan.settings, bars, trained)
    own, _, _ = backtest_prepared(prepared, plan, plan.decision, calendar)
    history = bars.loc[
        bars.index.get_level_values("symbol").isin(trained.manifest["bars"]["symbols"])
    ]
    ts = history.index.get_level_values("ts")
    start = min(prepared.cuts.values())
    shared = ModelStress(
        settings=settings,
        request=model_request,
        trained=trained,
        history=history,
        train_end=pd.Timestamp(ts[ts < start].max()),
        cuts=prepared.cuts,
        baseline=prepared.baseline,
        costs=_costs(plan.settings),
        catastrophic_loss=stress.catastrophic_loss,
        calendar=calendar,
        build=build,
        health=None if prepared.health is None else replace(prepared.health, features=None),
    )
    return shared, _trade_returns(own, plan.settings.execution.cash)


def _rule_plan(
    settings: Settings, bars: pd.DataFrame, request: StressRequest, stress: StressConfig,
    *, calendar: str | None, build: Build,
) -> tuple[RuleStress, list[float]]:  # fmt: skip
    assert request.strategy is not None
    effective = effective_settings(settings, RULE_EXECUTION, {})
    execution = effective.execution
    load_strategy(request.strategy, request.params)  # a bad name or parameter fails here, once
    shared = RuleStress(
        history=bars,
        train_end=_fit_end(bars, stress.rule_fit_share),
        strategy=request.strategy,
        params=dict(request.params),
        costs=_costs(effective),
        cash=execution.cash,
        units="fractional" if execution.units == "fractional" else "whole",
        sizing=execution.sizing,
        calendar=calendar,
        risk=effective.risk,
        catastrophic_loss=stress.catastrophic_loss,
        build=build,
    )
    own, _ = run_guarded(
        bars, load_strategy(request.strategy, request.params), shared.costs, cash=shared.cash,
        units=shared.units, sizing=shared.sizing, calendar=calendar,
        risk=rule_risk(shared.risk, shared.cash),
    )  # fmt: skip
    return shared, _trade_returns(own, shared.cash)


def run_stress(
    settings: Settings,
    bars: pd.DataFrame,
    request: StressRequest,
    output: Path,
    calendar: str | None,
    *,
    generator: Generator | None = None,
    library: Sequence[Any] | None = None,
    on_result: Callable[[int, ScenarioOutcome], None] | None = None,
) -> StressResult:
    """Run the candidate through every scenario and write the summary and report to ``output``.

    ``library`` replaces the drawn library (a test's specs); ``on_result``
    hears each outcome as it arrives (the command's progress bar).

    Raises
    ------
    ConfigError
        When neither or both of a run and a strategy are named, or a flag is invalid.
    AlphagateError
        When the run is missing or the bars are not the run's.
    """
    if (request.run_id is None) == (request.strategy is None):
        raise ConfigError("name one candidate: --run RUN_ID or --strategy NAME, not both")
    began = time.perf_counter()
    stress = stress_settings(settings.stress, request)
    gen = generator or default_generator()
    specs = list(library) if library is not None else gen.library(
        stress.scenarios, seed=stress.seed, families=stress.families or None
    )  # fmt: skip
    shared: Any
    fn: Callable[[Any, Any], ScenarioOutcome]
    if request.run_id is not None:
        shared, trades = _model_plan(
            settings, bars, request, stress, calendar=calendar, build=gen.build
        )
        fn = run_model_scenario
        candidate: dict[str, Any] = {"run_id": request.run_id, "predictor": request.predictor}
    else:
        shared, trades = _rule_plan(
            settings, bars, request, stress, calendar=calendar, build=gen.build
        )
        fn = run_rule_scenario
        candidate = {"strategy": request.strategy, "params": dict(sorted(request.params.items()))}
    candidate |= {"seed": stress.seed, "families": list(stress.families)}
    family_seconds: dict[str, float] = {}
    last = [time.perf_counter()]

    def heard(index: int, outcome: ScenarioOutcome) -> None:
        now = time.perf_counter()
        family_seconds[outcome.family] = family_seconds.get(outcome.family, 0.0) + now - last[0]
        last[0] = now
        if on_result is not None:
            on_result(index, outcome)

    outcomes = parallel.map(
        fn, specs, shared=shared, workers=stress.workers, backend=settings.parallel.backend,
        ray_address=settings.parallel.ray_address, on_result=heard,
    )  # fmt: skip
    monte_carlo = (
        gen.drawdown_distribution(trades, seed=stress.seed, runs=stress.monte_carlo_runs)
        if trades
        else None
    )
    summary = summarise(outcomes, stress, candidate=candidate, monte_carlo=monte_carlo)
    summary_path, report_path = write_summary(summary, output)
    return StressResult(
        summary, summary_path, report_path, outcomes, time.perf_counter() - began, family_seconds
    )


StressVerdict = Literal["passed", "failed"]


def verdict_of(summary: Mapping[str, Any]) -> StressVerdict:
    """``passed`` or ``failed``: the stress gate's word for a summary."""
    return "passed" if summary["gate"]["passed"] else "failed"


def _fit_end(bars: pd.DataFrame, share: float) -> pd.Timestamp:
    """The close that ends the first ``share`` of the history's timeline: a rule strategy's
    stand-in for a training end (the generators fit before it, overlays land after it)."""
    stamps = np.unique(pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8)
    return pd.Timestamp(int(stamps[max(0, int(len(stamps) * share) - 1)]), tz="UTC")
