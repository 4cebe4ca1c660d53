"""The stress runner: costs under a shock, jitter, outcomes, and reproducibility over workers.

The generator is replaced by :mod:`fake_scenarios` (its ``build`` scales the
history's prices), so these tests pin the runner alone.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from fake_scenarios import FakeScenario, FakeSpec, fake_build

from alphagate import parallel
from alphagate.backtest.runner import run_backtest
from alphagate.config import RiskConfig
from alphagate.config.stress import StressConfig
from alphagate.execution.commission import BasisPoints, MakerTaker, NoCommission, PerShare
from alphagate.execution.fill_models import ConservativeFill, NextOpenFill
from alphagate.risk.events import RiskEvent, Severity
from alphagate.strategies.builtin import BuyAndHold
from alphagate.stress.runner import (
    Costs,
    RuleStress,
    jittered,
    outcome_of,
    run_rule_scenario,
    stressed_costs,
)
from alphagate.stress.summary import summarise, summary_json
from alphagate.testing import random_walk_bars


def shock(**execution: float) -> FakeScenario:
    return FakeScenario(FakeSpec("s", "cost", 0), pd.DataFrame(), None, execution, None)


def test_a_cost_shock_multiplies_commission_and_slippage_and_adds_latency() -> None:
    costs = Costs(ConservativeFill(spread_bps=10.0, slippage_bps=5.0), BasisPoints(2.0), 1)

    stressed = stressed_costs(costs, shock(commission=3.0, slippage=4.0, latency_bars=2))

    assert stressed.commission == BasisPoints(6.0)
    assert isinstance(stressed.fill_model, ConservativeFill)
    assert stressed.fill_model.slippage_bps == 20.0
    assert stressed.fill_model.spread_bps == 10.0
    assert stressed.latency_bars == 3


def test_a_per_bar_spread_is_charged_at_its_widest() -> None:
    spread = pd.Series([12.0, 80.0, 30.0])
    scenario = FakeScenario(FakeSpec("s", "liquidity", 0), pd.DataFrame(), spread, {}, None)

    stressed = stressed_costs(Costs(ConservativeFill(), NoCommission()), scenario)

    assert isinstance(stressed.fill_model, ConservativeFill)
    assert stressed.fill_model.spread_bps == 80.0


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (PerShare(0.005, 1.0), PerShare(0.01, 2.0)),
        (MakerTaker(-1.0, 4.0), MakerTaker(-1.0, 8.0)),  # a rebate is not made larger
        (NoCommission(), NoCommission()),
    ],
)
def test_every_commission_model_scales_its_rates(model: object, expected: object) -> None:
    stressed = stressed_costs(Costs(NextOpenFill(), model), shock(commission=2.0))  # type: ignore[arg-type]

    assert stressed.commission == expected


def test_jitter_keeps_whole_parameters_whole_and_leaves_unnamed_ones() -> None:
    params = {"fast": "10", "slow": "30", "weight": "0.5"}

    out = jittered(params, {"fast": 1.16, "weight": 0.9, "absent": 2.0})

    assert out == {"fast": "12", "slow": "30", "weight": repr(0.5 * 0.9)}


def test_an_outcome_counts_breaker_escalations_and_drawdown_halts_only() -> None:
    bars = random_walk_bars(("AAA",), n=60, seed=1)
    spec = FakeSpec("flat", "correlation_break", 4)
    ts = pd.Timestamp("2020-01-02", tz="UTC")
    events = [
        RiskEvent(ts=ts, component="correlation_breaker", severity=Severity.WARNING, reason="up"),
        RiskEvent(ts=ts, component="correlation_breaker", severity=Severity.INFO, reason="down"),
        RiskEvent(
            ts=ts,
            component="drawdown",
            severity=Severity.WARNING,
            reason="r",
            data={"to": "reduce"},
        ),
        RiskEvent(
            ts=ts, component="drawdown", severity=Severity.CRITICAL, reason="h", data={"to": "halt"}
        ),
    ]
    backtest = run_backtest(bars, BuyAndHold(), cash=1000.0, units="fractional", calendar=None)
    outcome = outcome_of(spec, backtest, events, cash=1000.0, catastrophic_loss=0.5)

    assert (outcome.breaker_trips, outcome.drawdown_halts) == (1, 1)
    assert outcome.total_return == pytest.approx(backtest.equity.iloc[-1] / 1000.0 - 1)
    assert (outcome.name, outcome.family, outcome.seed) == ("flat", "correlation_break", 4)


def _shared(
    bars: pd.DataFrame, *, strategy: str = "buy_and_hold", guarded: bool = False
) -> RuleStress:
    params = {"fast": "5", "slow": "20"} if strategy == "sma_cross" else {}
    return RuleStress(
        history=bars,
        train_end=bars.index.get_level_values("ts").max(),
        strategy=strategy,
        params=params,
        costs=Costs(ConservativeFill(), BasisPoints(1.0)),
        cash=10_000.0,
        units="fractional",
        sizing="next_open",
        calendar=None,
        risk=RiskConfig(guard_rule_strategies=guarded),
        catastrophic_loss=0.5,
        build=fake_build,
    )


def test_a_crash_deeper_than_the_limit_is_catastrophic_for_buy_and_hold() -> None:
    bars = random_walk_bars(("AAA", "BBB"), n=80, seed=2, volatility=0.001)
    shared = _shared(bars)

    crash = run_rule_scenario(shared, FakeSpec("crash-1", "crash", 1, {"depth": 0.7}))
    mild = run_rule_scenario(shared, FakeSpec("crash-2", "crash", 2, {"depth": 0.2}))

    assert crash.worst_loss > 0.6  # fully invested through a 70 % fall, less costs
    assert crash.catastrophic
    assert 0.1 < mild.worst_loss < 0.5
    assert not mild.catastrophic


def test_a_costlier_scenario_earns_less_with_the_same_prices() -> None:
    bars = random_walk_bars(("AAA",), n=120, seed=5)
    shared = _shared(bars, strategy="sma_cross")

    cheap = run_rule_scenario(shared, FakeSpec("c1", "cost", 3, {"cost": 1.0}))
    dear = run_rule_scenario(shared, FakeSpec("c5", "cost", 3, {"cost": 50.0}))

    assert cheap.trades == dear.trades > 0
    assert dear.total_return < cheap.total_return


def _library() -> list[FakeSpec]:
    specs = []
    for i in range(8):
        family = ("drift", "crash", "cost", "jitter")[i % 4]
        params: dict[str, float | int | str] = {"drift": (i - 4) * 1e-4}
        if family == "crash":
            params["depth"] = 0.05 * i
        if family == "cost":
            params["cost"] = 3.0
        if family == "jitter":
            params["jitter"] = 0.85 + 0.05 * i
        specs.append(FakeSpec(f"{family}-{i}", family, 100 + i, params))
    return specs


def test_the_same_seed_gives_identical_summary_bytes_with_one_worker_or_two() -> None:
    bars = random_walk_bars(("AAA", "BBB"), n=150, seed=9)
    shared = _shared(bars, strategy="sma_cross", guarded=True)  # the guard crosses processes too
    settings = StressConfig()

    texts = []
    for workers in (1, 2):
        outcomes = parallel.map(run_rule_scenario, _library(), shared=shared, workers=workers)
        texts.append(summary_json(summarise(outcomes, settings, candidate={"seed": 0})))

    assert texts[0] == texts[1]
    assert '"scenarios": 8' in texts[0]


def test_a_scenario_that_wipes_the_account_out_is_a_catastrophic_total_loss() -> None:
    from alphagate.stress.runner import wiped_out

    spec = FakeSpec("crash-0001", "crash", 1, {})
    lost = wiped_out(spec, catastrophic_loss=0.5)
    assert (lost.total_return, lost.worst_loss, lost.catastrophic) == (-1.0, 1.0, True)
    assert not lost.profitable and lost.sharpe is None


def test_the_real_library_gives_identical_summary_bytes_with_one_worker_or_two() -> None:
    from alphagate.stress.scenarios import default_library

    bars = random_walk_bars(("AAA", "BBB"), n=240, seed=3)
    stamps = bars.index.get_level_values("ts").unique().sort_values()
    shared = _shared(bars, strategy="sma_cross", guarded=True)
    shared = dataclasses.replace(shared, build=None, train_end=stamps[160])  # the generator's build
    library = default_library(20, seed=4)
    assert {spec.family for spec in library} == {
        "bootstrap", "garch", "regime", "crash", "gap", "flash_crash", "liquidity",
        "correlation", "cost_shock", "jitter",
    }  # fmt: skip
    texts = []
    for workers in (1, 2):
        outcomes = parallel.map(run_rule_scenario, library, shared=shared, workers=workers)
        texts.append(summary_json(summarise(outcomes, StressConfig(), candidate={"seed": 4})))
    assert texts[0] == texts[1]
    assert '"scenarios": 20' in texts[0]
