"""Declared indicators, bulk equity marking, guards and brackets in the driver."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest

from alphagate.backtest.driver import BacktestDriver, RunRecord
from alphagate.domain.guard import AccountView, GuardAction
from alphagate.domain.orders import OrderRequest, OrderStatus, OrderType, TimeInForce
from alphagate.domain.strategy import (
    FloatArray,
    LookAheadError,
    OrderIntent,
    StrategyContext,
    StrategyError,
    SymbolHistory,
)
from alphagate.execution.commission import BasisPoints
from alphagate.execution.fill_models import NextOpenFill
from alphagate.execution.portfolio import Portfolio
from alphagate.execution.venue import SimulatedVenue
from alphagate.strategies.builtin import SmaCross
from alphagate.testing import random_walk_bars


class PassThrough:
    """A guard that allows everything: it only makes the loop mark equity bar by bar."""

    def __init__(self) -> None:
        self.marks: list[float] = []

    def after_bar(self, account: AccountView) -> GuardAction:
        self.marks.append(account.equity)
        return GuardAction.NONE

    def review(self, request: OrderRequest, account: AccountView, price: float) -> OrderRequest:
        return request


def run(
    bars: pd.DataFrame, strategy: object, guard: object | None = None, cash: float = 10_000.0
) -> tuple[RunRecord, Portfolio]:
    portfolio = Portfolio(cash)
    loop = BacktestDriver(
        bars,
        strategy,  # type: ignore[arg-type]
        SimulatedVenue(NextOpenFill(), BasisPoints(10)),
        portfolio,
        commission=BasisPoints(10),
        units="fractional",
        guard=guard,  # type: ignore[arg-type]
    )
    return loop.run(), portfolio


def test_equity_rebuilt_after_the_run_equals_marking_every_bar() -> None:
    # Three symbols on different calendars, several positions open at once.
    bars = random_walk_bars({"AAA": 0, "BBB": 7, "CCC": 5})
    strategy = SmaCross(fast=3, slow=8, weight=0.3)
    bulk, _ = run(bars, strategy)
    guard = PassThrough()
    marked, _ = run(bars, strategy, guard)
    assert len(bulk.fills) > 20
    np.testing.assert_array_equal(bulk.equity, marked.equity)
    np.testing.assert_array_equal(bulk.position_value, marked.position_value)
    assert guard.marks == marked.equity.tolist()


class Peeking:
    """Declares tomorrow's close as an indicator: the engine must refuse it."""

    name = "peeking"
    warmup = 0

    def indicators(self, symbol: str, history: SymbolHistory) -> dict[str, FloatArray]:
        tomorrow = np.append(history.close[1:], np.nan)
        return {"tomorrow": tomorrow}

    def on_bar(self, context: StrategyContext) -> None:
        return None


def test_an_indicator_that_reads_later_bars_is_refused_before_the_run() -> None:
    with pytest.raises(LookAheadError, match=r"indicator 'tomorrow' of 'AAA' .* uses later bars"):
        run(random_walk_bars(["AAA"]), Peeking())


class Reader:
    """Records what ``value`` and ``indicator`` return at each bar."""

    name = "reader"
    warmup = 0

    def __init__(self) -> None:
        self.values: list[tuple[int, float, float | None]] = []

    def indicators(self, symbol: str, history: SymbolHistory) -> dict[str, FloatArray]:
        return {"cum": np.cumsum(history.close)}

    def on_bar(self, context: StrategyContext) -> None:
        prefix = context.indicator("AAA", "cum")
        before = context.value("AAA", "cum", ago=1) if len(prefix) > 1 else None
        self.values.append((len(prefix), context.value("AAA", "cum"), before))
        if len(prefix) == 1:
            with pytest.raises(IndexError):
                context.value("AAA", "cum", ago=1)
        with pytest.raises(KeyError, match="declared: cum"):
            context.value("AAA", "nope")


def test_indicators_are_served_up_to_the_current_bar_only() -> None:
    bars = random_walk_bars(["AAA"], n=30)
    reader = Reader()
    run(bars, reader)
    cum = np.cumsum(bars["close"].to_numpy())
    assert [v[0] for v in reader.values] == list(range(1, 31))
    assert [v[1] for v in reader.values] == cum.tolist()
    assert [v[2] for v in reader.values] == [None, *cum[:-1].tolist()]


class Counting:
    """Trades now and then, and records what the context says at every bar."""

    name = "counting"
    warmup = 0

    def __init__(self) -> None:
        self.seen: list[tuple[int, int, int, float]] = []

    def on_bar(self, context: StrategyContext) -> Mapping[str, float] | None:
        bars = context.bars_seen("AAA")
        history = len(context.history["AAA"].close)
        self.seen.append((bars, history, len(context.indicator("AAA", "close")), context.equity))
        return {"AAA": 0.5 if bars % 40 < 20 else 0.0} if bars % 20 == 5 else None

    def indicators(self, symbol: str, history: SymbolHistory) -> dict[str, FloatArray]:
        return {"close": np.asarray(history.close, dtype=float)}


def test_a_lone_symbols_counts_and_equity_are_current_on_idle_and_busy_bars() -> None:
    """One symbol keeps its bar count apart from the map the others use; every reader agrees."""
    bars = random_walk_bars(["AAA"], n=120)
    strategy = Counting()
    record, _ = run(bars, strategy)
    assert len(record.fills) >= 4  # bars with orders working and idle bars both occur
    n = len(bars)
    assert [s[:3] for s in strategy.seen] == [(k, k, k) for k in range(1, n + 1)]
    # The context's equity at each close is the curve the run rebuilt afterwards.
    assert [s[3] for s in strategy.seen] == record.equity.tolist()


class WrongLength(Peeking):
    def indicators(self, symbol: str, history: SymbolHistory) -> dict[str, FloatArray]:
        return {"short": history.close[:-1]}


def test_an_indicator_of_the_wrong_length_is_a_strategy_error() -> None:
    with pytest.raises(StrategyError, match=r"indicator 'short' of 'AAA' has shape"):
        run(random_walk_bars(["AAA"]), WrongLength())


class Refusing(PassThrough):
    """Refuses every buy and halves every sell; trips (cancel all) on a chosen bar."""

    def __init__(self, trip_at: int | None = None) -> None:
        super().__init__()
        self.trip_at = trip_at
        self.refused: list[str] = []

    def after_bar(self, account: AccountView) -> GuardAction:
        super().after_bar(account)
        if len(self.marks) == self.trip_at:
            return GuardAction.CANCEL_ALL
        return GuardAction.NONE

    def review(
        self, request: OrderRequest, account: AccountView, price: float
    ) -> OrderRequest | str:
        if request.side.value == "buy":
            self.refused.append(request.client_order_id)
            return "buys refused"
        return request


class Script:
    """Answers with fixed intents at fixed bars."""

    name = "script"
    warmup = 0

    def __init__(self, plan: Mapping[int, list[OrderIntent]]) -> None:
        self.plan, self.calls = plan, 0

    def on_bar(self, context: StrategyContext) -> list[OrderIntent] | None:
        self.calls += 1
        return self.plan.get(self.calls - 1)


def test_an_order_the_guard_refuses_never_reaches_the_venue() -> None:
    guard = Refusing()
    record, portfolio = run(
        random_walk_bars(["AAA"], n=10), Script({2: [OrderIntent("AAA", 5)]}), guard
    )
    assert len(guard.refused) == 1
    assert record.orders == {} and record.fills == []
    assert portfolio.cash == 10_000.0


def test_cancel_all_from_the_guard_cancels_working_orders() -> None:
    bars = random_walk_bars(["AAA"], n=10)
    far = float(bars["close"].max()) * 10  # a sell limit far above: never fills
    intent = OrderIntent(
        "AAA", -1.0, OrderType.LIMIT, limit_price=far, time_in_force=TimeInForce.GTC
    )
    guard = Refusing(trip_at=5)
    record, _ = run(bars, Script({1: [intent]}), guard)
    (state,) = record.orders.values()
    assert state.status is OrderStatus.CANCELED
    canceled_at = [ts for ts, u in record.updates if u.event.__class__.__name__ == "Canceled"]
    assert canceled_at == [record.ts[4].value]  # reports keep the bar's int ns time


def test_bracket_intents_become_an_entry_with_oco_children() -> None:
    bars = random_walk_bars(["AAA"], n=60)
    close = float(bars["close"].iloc[0])
    plan = {
        0: [
            OrderIntent("AAA", 10.0),
            OrderIntent(
                "AAA", -10.0, OrderType.STOP, stop_price=close * 0.5,
                time_in_force=TimeInForce.GTC, leg="stop", parent_leg="entry", oco_group="exit",
            ),
            OrderIntent(
                "AAA", -10.0, OrderType.LIMIT, limit_price=close * 1.02,
                time_in_force=TimeInForce.GTC, leg="take_profit", parent_leg="entry",
                oco_group="exit",
            ),
        ]
    }  # fmt: skip
    record, portfolio = run(bars, Script(plan))
    states = {s.request.order_type: s for s in record.orders.values()}
    entry, stop, take = states[OrderType.MARKET], states[OrderType.STOP], states[OrderType.LIMIT]
    assert stop.request.parent_id == take.request.parent_id == entry.request.client_order_id
    assert stop.request.oco_group_id == take.request.oco_group_id is not None
    assert entry.status is OrderStatus.FILLED
    assert take.status is OrderStatus.FILLED  # the price rose 2 % before it halved
    assert stop.status is OrderStatus.CANCELED
    assert portfolio.position("AAA").is_flat


def test_a_child_naming_a_parent_leg_not_sent_at_the_same_bar_is_refused() -> None:
    orphan = OrderIntent(
        "AAA", -1.0, OrderType.STOP, stop_price=1.0, leg="stop", parent_leg="entry"
    )
    with pytest.raises(StrategyError, match="protects leg 'entry'"):
        run(random_walk_bars(["AAA"], n=5), Script({0: [orphan]}))
