"""One stress scenario through the backtest's own engine, and what each run leaves behind.

A scenario (built by :mod:`alphagate.stress.scenarios`) is a bars frame the
candidate has never seen, plus how it degrades execution: cost multipliers,
latency, wider spreads, jittered strategy parameters. The candidate trades it
through :func:`alphagate.backtest.runner.run_backtest`, the same kernel, fill
and commission models and risk guard as its backtest; only the inputs change.
So a stress result and a backtest result can never disagree on how a number
is computed.

This module needs no composition root: rule strategies are run from here,
model candidates from :mod:`alphagate.app.stress` (their features and
predictors are composed there), and both reduce a run to a
:class:`ScenarioOutcome` with :func:`outcome_of`.

Everything a worker process runs is a top-level function of a frozen,
picklable task, so :func:`alphagate.parallel.map` can send it anywhere.

**Spreads.** :class:`~alphagate.execution.fill_models.ConservativeFill` takes
one constant spread, not one per bar; a scenario that widens spreads bar by
bar is charged its *widest* spread on every fill, which errs on the side of
cost. The other fill models charge no spread, so a spread change has no
effect on them; stress runs should use ``conservative`` (the model default).
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from alphagate.backtest.runner import BacktestResult, run_backtest
from alphagate.config import RiskConfig
from alphagate.engine.kernel import Sizing
from alphagate.execution.commission import BasisPoints, CommissionModel, MakerTaker, PerShare
from alphagate.execution.fill_models import ConservativeFill, FillModel
from alphagate.metrics.performance import EquityWipedOut
from alphagate.risk.events import RiskEvent, Severity
from alphagate.risk.guard import RiskGuard, RiskSettings
from alphagate.risk.kill_switch import KillSwitch
from alphagate.risk.limits import RiskLimits
from alphagate.strategies.loading import load_strategy

BREAKER = "correlation_breaker"
DRAWDOWN = "drawdown"


class SpecLike(Protocol):
    """What the runner reads of a scenario's spec (``alphagate.stress.scenarios.ScenarioSpec``)."""

    @property
    def name(self) -> str: ...
    @property
    def family(self) -> str: ...
    @property
    def seed(self) -> int: ...


class ScenarioLike(Protocol):
    """What the runner reads of a built scenario (``alphagate.stress.scenarios.Scenario``)."""

    @property
    def spec(self) -> Any: ...
    @property
    def bars(self) -> pd.DataFrame: ...
    @property
    def spread_bps(self) -> pd.Series | None: ...
    @property
    def execution(self) -> Mapping[str, float]: ...
    @property
    def strategy_params(self) -> Mapping[str, float] | None: ...


Build = Callable[..., Any]
"""``build(spec, history, *, train_end, parameters=()) -> Scenario``, or a test's stand-in."""


def default_build() -> Build:
    """The generator's ``build``, imported when first needed (its ``arch`` import is heavy)."""
    from alphagate.stress import scenarios  # type: ignore[attr-defined, unused-ignore]

    build: Build = scenarios.build
    return build


@dataclass(frozen=True)
class Costs:
    """How a run trades: its fill and commission models and its latency, before any shock."""

    fill_model: FillModel
    commission: CommissionModel
    latency_bars: int = 0


def stressed_costs(costs: Costs, scenario: ScenarioLike) -> Costs:
    """``costs`` under the scenario's execution shock and spreads.

    ``commission`` multiplies every rate of the commission model (a per-share
    minimum too), ``slippage`` the conservative fill's slippage, and
    ``latency_bars`` is added to the run's own latency. A per-bar spread is
    charged at its widest (see the module docstring).
    """
    shock = scenario.execution
    commission = _scaled_commission(costs.commission, float(shock.get("commission", 1.0)))
    fill = costs.fill_model
    if isinstance(fill, ConservativeFill):
        spread = scenario.spread_bps
        widest = float(spread.max()) if spread is not None and spread.notna().any() else None
        fill = dataclasses.replace(
            fill,
            slippage_bps=fill.slippage_bps * float(shock.get("slippage", 1.0)),
            spread_bps=fill.spread_bps if widest is None else widest,
        )
    latency = costs.latency_bars + round(float(shock.get("latency_bars", 0)))
    return Costs(fill, commission, latency)


def _scaled_commission(model: CommissionModel, factor: float) -> CommissionModel:
    if factor == 1.0:
        return model
    if isinstance(model, BasisPoints):
        return BasisPoints(model.bps * factor)
    if isinstance(model, MakerTaker):
        # A maker rebate (negative) is not made larger by a cost shock.
        maker = model.maker_bps * factor if model.maker_bps > 0 else model.maker_bps
        return MakerTaker(maker, model.taker_bps * factor)
    if isinstance(model, PerShare):
        return PerShare(model.rate * factor, model.minimum * factor)
    return model  # NoCommission, or a user's model with no rate to scale


def jittered(params: Mapping[str, str], factors: Mapping[str, float] | None) -> dict[str, str]:
    """Strategy parameters with the scenario's multipliers applied (parameter jitter).

    Parameters are text, as the command line gives them; a whole number stays
    whole (a window of 20 times 1.13 is 23), so a strategy that wants an int
    still gets one. Parameters the scenario does not name are kept as given.
    """
    out = dict(params)
    for name, factor in (factors or {}).items():
        if name not in out:
            continue
        raw = out[name]
        try:
            whole = int(raw)
        except ValueError:
            out[name] = repr(float(raw) * factor)
        else:
            out[name] = str(max(1, round(whole * factor)))
    return out


@dataclass(frozen=True)
class ScenarioOutcome:
    """One scenario's result, every field a plain value so it pickles and serialises.

    ``worst_loss`` is the deepest fall of equity below the starting cash
    during the run (0 when it never went below); a scenario is
    ``catastrophic`` when it exceeds the configured limit, even if the run
    recovered later: a real account would have been stopped out first.
    ``breaker_trips`` counts the correlation breaker's escalations,
    ``drawdown_halts`` the drawdown monitor's moves to halt.
    """

    name: str
    family: str
    seed: int
    total_return: float
    sharpe: float | None
    max_drawdown: float
    trades: int
    worst_loss: float
    catastrophic: bool
    breaker_trips: int
    drawdown_halts: int

    @property
    def profitable(self) -> bool:
        """Whether the scenario ended with more than it started with."""
        return self.total_return > 0


def wiped_out(spec: SpecLike, *, catastrophic_loss: float) -> ScenarioOutcome:
    """The outcome of a scenario in which the account's equity reached zero: a total loss.

    Its metrics do not exist (no return of a wiped-out account is defined),
    so it counts as a loss of everything, with no Sharpe ratio, and is
    catastrophic under any limit below 100 %.
    """
    return ScenarioOutcome(
        name=spec.name, family=spec.family, seed=int(spec.seed), total_return=-1.0, sharpe=None,
        max_drawdown=1.0, trades=0, worst_loss=1.0, catastrophic=catastrophic_loss < 1.0,
        breaker_trips=0, drawdown_halts=0,
    )  # fmt: skip


def outcome_of(
    spec: SpecLike,
    result: BacktestResult,
    events: list[RiskEvent],
    *,
    cash: float,
    catastrophic_loss: float,
) -> ScenarioOutcome:
    """Reduce one scenario's backtest and risk events to its :class:`ScenarioOutcome`."""
    metrics = result.metrics
    trough = float(np.min(result.equity.to_numpy(dtype=np.float64)))
    worst_loss = max(0.0, (cash - trough) / cash)
    sharpe = (
        metrics.sharpe if metrics.sharpe is not None and math.isfinite(metrics.sharpe) else None
    )
    return ScenarioOutcome(
        name=spec.name,
        family=spec.family,
        seed=int(spec.seed),
        total_return=float(metrics.total_return),
        sharpe=None if sharpe is None else float(sharpe),
        max_drawdown=float(metrics.max_drawdown),
        trades=int(metrics.trades),
        worst_loss=worst_loss,
        catastrophic=worst_loss > catastrophic_loss,
        breaker_trips=sum(
            e.component == BREAKER and e.severity is not Severity.INFO for e in events
        ),
        drawdown_halts=sum(e.component == DRAWDOWN and e.data.get("to") == "halt" for e in events),
    )


def run_guarded(
    bars: pd.DataFrame,
    strategy: Any,
    costs: Costs,
    *,
    cash: float,
    units: Literal["whole", "fractional"],
    sizing: Sizing,
    calendar: str | None,
    risk: RiskSettings | None,
    baseline: float | None = None,
) -> tuple[BacktestResult, list[RiskEvent]]:
    """One backtest under a fresh guard whose kill-switch state lives only as long as the run.

    A trip in one scenario never halts the next; no operator trigger file is
    watched, since a stress run is no live account.
    """
    events: list[RiskEvent] = []

    def run(guard: RiskGuard | None) -> BacktestResult:
        return run_backtest(
            bars,
            strategy,
            cash=cash,
            fill_model=costs.fill_model,
            commission=costs.commission,
            units=units,
            sizing=sizing,
            latency_bars=costs.latency_bars,
            calendar=calendar,
            guard=guard,
        )

    if risk is None:
        return run(None), events
    with tempfile.TemporaryDirectory(prefix="alphagate-stress-") as state:
        kill_switch = KillSwitch(Path(state) / "kill_switch.json", None)
        guard = RiskGuard.from_settings(risk, kill_switch, events.append, baseline=baseline)
        return run(guard), events


def rule_risk(risk: RiskConfig, cash: float) -> RiskSettings | None:
    """The guard a rule strategy's backtest runs under, as ``alphagate backtest`` builds it.

    ``None`` unless ``risk.guard_rule_strategies``. A rule strategy may hold
    its whole equity in one symbol: that is what null limits allow it, and
    one order's notional the starting cash.
    """
    if not risk.guard_rule_strategies:
        return None
    fallback = RiskLimits(
        max_position_weight=1.0,
        max_gross_exposure=1.0,
        max_net_exposure=1.0,
        max_order_notional=cash,
        max_orders_per_day=risk.max_orders_per_day,
        price_collar_pct=risk.price_collar_pct,
    )
    return RiskSettings.from_config(risk, fallback=fallback)


@dataclass(frozen=True)
class RuleStress:
    """What every scenario of a rule strategy's stress run shares (sent once per worker).

    ``risk`` is the settings' section, not the guard's built settings: those
    hold read-only mappings, which do not pickle, so each worker builds them.
    """

    history: pd.DataFrame
    train_end: pd.Timestamp
    strategy: str
    params: Mapping[str, str]
    costs: Costs
    cash: float
    units: Literal["whole", "fractional"]
    sizing: Sizing
    calendar: str | None
    risk: RiskConfig
    catastrophic_loss: float
    build: Build | None = None


def run_rule_scenario(shared: RuleStress, spec: SpecLike) -> ScenarioOutcome:
    """Build one scenario and trade the rule strategy through it (a worker's task).

    The strategy is made afresh from its name and the jittered parameters, so
    no state carries from one scenario to the next.
    """
    build = shared.build or default_build()
    # The parameter names go to the generator, so a jitter scenario knows what to perturb.
    scenario: ScenarioLike = build(
        spec, shared.history, train_end=shared.train_end, parameters=tuple(shared.params)
    )
    strategy = load_strategy(shared.strategy, jittered(shared.params, scenario.strategy_params))
    try:
        result, events = run_guarded(
            scenario.bars,
            strategy,
            stressed_costs(shared.costs, scenario),
            cash=shared.cash,
            units=shared.units,
            sizing=shared.sizing,
            calendar=shared.calendar,
            risk=rule_risk(shared.risk, shared.cash),
        )
    except EquityWipedOut:
        return wiped_out(spec, catastrophic_loss=shared.catastrophic_loss)
    return outcome_of(
        spec, result, events, cash=shared.cash, catastrophic_loss=shared.catastrophic_loss
    )
