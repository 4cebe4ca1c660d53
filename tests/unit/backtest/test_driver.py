"""The driver on hand-made daily bars: order of events, sizing, point in time, errors.

Bars of ``AAA`` close at 21:00 UTC on 2024-01-02..05 with opens 10, 11, 12, 13
and closes 10.5, 11.5, 12.5, 12. Every expected number below is worked out by
hand from those.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pytest

from alphagate.backtest.driver import BacktestDriver, RunRecord
from alphagate.domain.bar import Bar
from alphagate.domain.ids import client_order_id
from alphagate.domain.order_state import OrderUpdate
from alphagate.domain.orders import OrderRequest, OrderStatus, Side
from alphagate.domain.strategy import OrderIntent, StrategyContext, StrategyError
from alphagate.engine.kernel import Sizing, Units
from alphagate.execution.fill_models import NextOpenFill
from alphagate.execution.portfolio import Portfolio
from alphagate.execution.venue import SimulatedVenue
from alphagate.strategies.builtin import BuyAndHold
from alphagate.testing import bars_of, stack_bars

TS = pd.date_range("2024-01-02 21:00", periods=4, freq="D", tz="UTC")


OPENS, CLOSES = (10.0, 11.0, 12.0, 13.0), (10.5, 11.5, 12.5, 12.0)


def hand_bars(closes: Sequence[float] = CLOSES) -> pd.DataFrame:
    """The module's four bars (see the docstring), with other closes if a test needs them."""
    return bars_of(closes, opens=OPENS, highs=20.0, lows=5.0, stamps=TS)


class Scripted:
    """Answers with a fixed output per call index, and records what it saw."""

    name = "scripted"
    warmup = 0

    def __init__(self, outputs: Mapping[int, object] | None = None) -> None:
        self.outputs = dict(outputs or {})
        self.seen: list[StrategyContext] = []

    def on_bar(self, context: StrategyContext) -> object:
        # The engine's context is only valid during the call: keep what it showed.
        snapshot = StrategyContext(
            context.ts,
            context.history,
            context.positions,
            context.cash,
            context.equity,
            updated=context.updated,
        )
        self.seen.append(snapshot)
        return self.outputs.get(len(self.seen) - 1)


def run(
    strategy: object,
    bars: pd.DataFrame | None = None,
    *,
    cash: float = 1000.0,
    units: Units = "whole",
    sizing: Sizing = "close",
) -> tuple[RunRecord, Portfolio]:
    portfolio = Portfolio(cash)
    venue = SimulatedVenue(NextOpenFill())
    loop = BacktestDriver(
        hand_bars() if bars is None else bars,
        strategy,  # type: ignore[arg-type]
        venue,
        portfolio,
        units=units,
        sizing=sizing,
    )
    return loop.run(), portfolio


def test_buy_and_hold_sized_at_the_next_open_buys_floor_cash_over_open_at_bar_two() -> None:
    record, portfolio = run(BuyAndHold(), sizing="next_open")
    # Decided at bar 1's close; sized and filled at bar 2's open: 1000 // 11 = 90 shares.
    assert [(f.quantity, f.price, f.ts_event) for f in record.fills] == [(90.0, 11.0, TS[1].value)]
    # Cash 1000 - 990 = 10; equity = 10 + 90 * close.
    assert record.equity.tolist() == [1000.0, 1045.0, 1135.0, 1090.0]
    assert record.position_value.tolist() == [0.0, 1035.0, 1125.0, 1080.0]
    assert record.traded_notional.tolist() == [0.0, 990.0, 0.0, 0.0]
    assert portfolio.cash == 10.0


def test_buy_and_hold_sized_at_the_close_buys_floor_cash_over_close_and_may_overspend() -> None:
    record, portfolio = run(BuyAndHold(), sizing="close")
    # 1000 // 10.5 = 95 shares, filled at 11: cash 1000 - 1045 = -45.
    assert [(f.quantity, f.price) for f in record.fills] == [(95.0, 11.0)]
    assert record.equity.tolist() == [1000.0, -45 + 95 * 11.5, -45 + 95 * 12.5, -45 + 95 * 12.0]
    assert portfolio.cash == -45.0


def test_fractional_units_buy_exactly_the_cash_over_the_open() -> None:
    record, _ = run(BuyAndHold(), units="fractional", sizing="next_open")
    assert record.fills[0].quantity == pytest.approx(1000.0 / 11.0)
    assert record.equity[-1] == pytest.approx(1000.0 / 11.0 * 12.0)


def test_client_order_ids_are_derived_from_strategy_symbol_decision_time_and_leg() -> None:
    record, _ = run(BuyAndHold(), sizing="next_open")
    expected = client_order_id("buy_and_hold", "AAA", TS[0], "entry")
    assert list(record.orders) == [expected]
    assert record.orders[expected].status is OrderStatus.FILLED


def test_a_strategy_sees_history_up_to_and_including_the_current_bar_only() -> None:
    strategy = Scripted()
    run(strategy)
    assert [len(c.history["AAA"]) for c in strategy.seen] == [1, 2, 3, 4]
    for i, context in enumerate(strategy.seen):
        history = context.history["AAA"]
        assert context.ts == TS[i]
        assert history.ts[-1] == TS[i].value
        assert history.close[-1] == [10.5, 11.5, 12.5, 12.0][i]


def test_the_history_a_strategy_receives_cannot_be_written() -> None:
    strategy = Scripted()
    run(strategy)
    with pytest.raises(ValueError, match="read-only"):
        strategy.seen[0].history["AAA"].close[0] = 99.0
    with pytest.raises(TypeError):
        strategy.seen[0].positions["AAA"] = 1.0  # type: ignore[index]


def test_a_strategy_is_not_asked_before_its_warmup_bars_have_closed() -> None:
    strategy = Scripted()
    strategy.warmup = 3  # type: ignore[misc]
    run(strategy)
    assert [c.ts for c in strategy.seen] == [TS[2], TS[3]]


def test_order_intents_become_orders_and_negative_quantities_sell() -> None:
    strategy = Scripted({0: [OrderIntent("AAA", 5.0)], 1: [OrderIntent("AAA", -5.0)]})
    record, portfolio = run(strategy)
    assert [(f.side, f.quantity, f.price) for f in record.fills] == [
        (Side.BUY, 5.0, 11.0),
        (Side.SELL, 5.0, 12.0),
    ]
    assert portfolio.position("AAA").is_flat
    assert portfolio.closed_trades()[0].pnl == 5.0


def test_a_zero_target_while_flat_sends_no_order() -> None:
    record, _ = run(Scripted({0: {"AAA": 0.0}, 1: [OrderIntent("AAA", 0.0)]}))
    assert record.orders == {}


def test_the_venue_is_not_asked_while_no_order_is_working() -> None:
    class CountingVenue:  # delegates: counts what the driver asks of the venue
        def __init__(self) -> None:
            self.inner, self.calls = SimulatedVenue(NextOpenFill()), 0

        def submit(self, request: OrderRequest, now: int) -> list[OrderUpdate]:
            return self.inner.submit(request, now)

        def cancel(self, client_order_id: str) -> list[OrderUpdate]:
            return self.inner.cancel(client_order_id)

        def on_bar(self, bar: Bar) -> list[OrderUpdate]:
            self.calls += 1
            return self.inner.on_bar(bar)

    venue = CountingVenue()
    BacktestDriver(hand_bars(), BuyAndHold(), venue, Portfolio(1000.0)).run()
    assert venue.calls == 1  # only bar 2, where the entry order was working


def test_a_strategy_that_raises_stops_the_run_naming_the_strategy_and_the_bar() -> None:
    class Failing(Scripted):
        def on_bar(self, context: StrategyContext) -> object:
            if context.ts == TS[2]:
                raise ZeroDivisionError("boom")
            return None

    with pytest.raises(StrategyError, match="'scripted' failed at bar 2024-01-04T21:00") as info:
        run(Failing())
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert info.value.ts == TS[2]


@pytest.mark.parametrize(
    "output",
    [{"AAA": 1.5}, {"AAA": float("nan")}, {"ZZZ": 0.5}, [OrderIntent("ZZZ", 1.0)]],
    ids=["weight above one", "nan weight", "unknown symbol", "order for unknown symbol"],
)
def test_an_impossible_answer_is_a_strategy_error(output: object) -> None:
    with pytest.raises(StrategyError, match="at bar 2024-01-02"):
        run(Scripted({0: output}))


def test_two_orders_with_the_same_symbol_and_leg_at_one_bar_are_refused() -> None:
    with pytest.raises(StrategyError, match="share a"):
        run(Scripted({0: [OrderIntent("AAA", 1.0), OrderIntent("AAA", 2.0)]}))


def test_a_nan_close_is_refused_before_the_run_naming_symbol_and_bar() -> None:
    bars = hand_bars((10.5, np.nan, 12.5, 12.0))
    with pytest.raises(ValueError, match=r"NaN close for 'AAA' at 2024-01-03 21:00"):
        run(BuyAndHold(), bars)


def test_two_runs_with_the_same_inputs_are_identical() -> None:
    first, _ = run(BuyAndHold(), sizing="next_open")
    second, _ = run(BuyAndHold(), sizing="next_open")
    assert first.fills == second.fills
    assert list(first.orders) == list(second.orders)
    np.testing.assert_array_equal(first.equity, second.equity)


def test_with_two_symbols_each_history_advances_only_on_its_own_bars() -> None:
    other = hand_bars().drop(index=("AAA", TS[1])).rename(index={"AAA": "BBB"})  # no bar on day 2
    bars = stack_bars(hand_bars(), other)
    strategy = Scripted()
    record, _ = run(strategy, bars)
    assert [(len(c.history["AAA"]), len(c.history["BBB"])) for c in strategy.seen] == [
        (1, 1),
        (2, 1),
        (3, 2),
        (4, 3),
    ]
    assert len(record.equity) == 4


def test_the_collector_is_tuned_only_for_the_run_and_never_switched_off() -> None:
    seen: list[tuple[bool, int]] = []

    class Watching:
        name, warmup = "watching", 0

        def on_bar(self, context: StrategyContext) -> None:
            seen.append((gc.isenabled(), gc.get_threshold()[0]))
            if len(seen) == 3:
                raise RuntimeError("stop here")

    before = gc.get_threshold()
    bars = bars_of([10.0, 11.0, 12.0, 13.0])
    with pytest.raises(StrategyError, match="stop here"):
        BacktestDriver(bars, Watching(), SimulatedVenue(NextOpenFill()), Portfolio(100.0)).run()
    assert gc.get_threshold() == before  # restored after a failed run too
    assert all(enabled for enabled, _ in seen)
    assert all(young >= max(before[0], 50_000) for _, young in seen)
