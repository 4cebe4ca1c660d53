"""The kernel runs with any venue and feed that speak the ports, none of them engine code.

Everything outside the kernel in the first test is written in this file: a
venue that acknowledges, fills (in parts, when told to) and cancels exactly
as the test says, and a feed that hands out one batch of bars at a time. The
kernel is driven the way a live driver drives it: bars appended to its market
data as they arrive, commands carried out in order, the venue's reports fed
back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
import pytest

from alphagate.domain.bar import Bar
from alphagate.domain.commands import Cancel, Command, Submit
from alphagate.domain.guard import AccountView, GuardAction
from alphagate.domain.order_state import Accepted, Canceled, Filled, OrderState, OrderUpdate
from alphagate.domain.orders import Fill, OrderRequest, OrderStatus, OrderType, Side
from alphagate.domain.strategy import OrderIntent, StrategyContext
from alphagate.engine.kernel import Kernel
from alphagate.engine.market import MarketData
from alphagate.execution.portfolio import Portfolio
from alphagate.ports import Venue, VenueAccount, VenueCapabilities

DAY = pd.Timedelta("1D")
START = pd.Timestamp("2024-01-02 21:00", tz="UTC")
LONG_ONLY = VenueCapabilities(brackets=False, fractional=True, shorting=False)


@dataclass
class HandVenue:
    """A venue that does only what the test tells it: acks at once, fills on request."""

    requests: dict[str, OrderRequest] = field(default_factory=dict)
    working: dict[str, OrderRequest] = field(default_factory=dict)
    filled: dict[str, float] = field(default_factory=dict)
    cash: float = 0.0
    held: dict[str, float] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)

    @property
    def capabilities(self) -> VenueCapabilities:
        return LONG_ONLY

    def submit(self, request: OrderRequest, now: int) -> list[OrderUpdate]:
        assert request.client_order_id not in self.requests, "an order was sent twice"
        self.requests[request.client_order_id] = request
        self.working[request.client_order_id] = request
        self.sent.append(request.client_order_id)
        return [OrderUpdate(request.client_order_id, Accepted(f"hand-{len(self.sent)}"))]

    def cancel(self, client_order_id: str) -> list[OrderUpdate]:
        if self.working.pop(client_order_id, None) is None:
            return []
        return [OrderUpdate(client_order_id, Canceled("asked to"))]

    def open_orders(self) -> list[OrderState]:
        return []

    def account(self) -> VenueAccount:
        return VenueAccount(self.cash, dict(self.held))

    def fill(self, cid: str, quantity: float, price: float, ts: pd.Timestamp) -> OrderUpdate:
        request = self.working[cid]
        done = self.filled.get(cid, 0.0) + quantity
        self.filled[cid] = done
        if done >= request.quantity:
            del self.working[cid]
        sign = 1.0 if request.side is Side.BUY else -1.0
        self.held[request.symbol] = self.held.get(request.symbol, 0.0) + sign * quantity
        self.cash -= sign * quantity * price
        fill = Fill(
            client_order_id=cid, trade_id=f"t{len(self.filled)}-{done}", symbol=request.symbol,
            side=request.side, quantity=quantity, price=price, ts_event=ts.value,
        )  # fmt: skip
        return OrderUpdate(cid, Filled(fill))


def stepping_feed(closes: Sequence[float]) -> Iterator[tuple[pd.Timestamp, list[Bar]]]:
    """One bar of AAA per day, handed out one batch at a time."""
    for i, close in enumerate(closes):
        ts = START + i * DAY
        yield ts, [Bar("AAA", ts.value, close, close + 1.0, close - 1.0, close, 1_000.0)]


class BracketOnce:
    """Buys 10 with a stop and a target at the second bar, then asks nothing."""

    name = "bracket_once"
    warmup = 0

    def on_bar(self, context: StrategyContext) -> list[OrderIntent] | None:
        if context.bars_seen("AAA") != 2:
            return None
        price = context.history["AAA"].close[-1]
        return [
            OrderIntent("AAA", 10.0),
            OrderIntent("AAA", -10.0, OrderType.STOP, stop_price=price - 5.0, leg="stop",
                        parent_leg="entry", oco_group="exit", reduce_only=True),
            OrderIntent("AAA", -10.0, OrderType.LIMIT, limit_price=price + 5.0, leg="target",
                        parent_leg="entry", oco_group="exit", reduce_only=True),
        ]  # fmt: skip


@dataclass
class CancelAtBar:
    """A guard that cancels everything once, at the bar it is told."""

    at: pd.Timestamp
    seen: list[pd.Timestamp] = field(default_factory=list)

    def after_bar(self, account: AccountView) -> GuardAction:
        self.seen.append(account.ts)
        return GuardAction.CANCEL_ALL if account.ts == self.at else GuardAction.NONE

    def review(self, request: OrderRequest, account: AccountView, price: float) -> OrderRequest:
        return request


def carry_out(kernel: Kernel, venue: Venue, commands: Sequence[Command]) -> None:
    for command in commands:
        if isinstance(command, Submit):
            updates = venue.submit(command.request, command.request.ts_init)
        else:
            assert isinstance(command, Cancel)
            updates = venue.cancel(command.client_order_id)
        for update in updates:
            kernel.on_order_update(update)


def test_a_hand_made_venue_and_feed_drive_a_bracket_a_partial_fill_and_a_cancel() -> None:
    venue = HandVenue()
    guard = CancelAtBar(at=START + 3 * DAY)
    market = MarketData.empty(["AAA"])
    kernel = Kernel(BracketOnce(), Portfolio(10_000.0), market, sizing="close", guard=guard)
    feed = stepping_feed([100.0, 101.0, 102.0, 103.0, 104.0])
    statuses: list[Mapping[str, OrderStatus]] = []

    for i, (ts, bars) in enumerate(feed):
        if i == 2:  # the entry fills in two parts during the third bar
            entry = venue.sent[0]
            kernel.on_order_update(venue.fill(entry, 4.0, 101.5, ts))
            assert kernel.orders[entry].status is OrderStatus.PARTIALLY_FILLED
            kernel.on_order_update(venue.fill(entry, 6.0, 101.6, ts))
        for bar in bars:
            market.append(bar)
        carry_out(kernel, venue, kernel.on_bars(ts.value, [bar.symbol for bar in bars]))
        statuses.append({cid: state.status for cid, state in kernel.orders.items()})

    entry, stop, target = venue.sent
    assert venue.requests[stop].parent_id == entry == venue.requests[target].parent_id
    assert venue.requests[stop].oco_group_id == venue.requests[target].oco_group_id
    assert venue.requests[stop].stop_price == 96.0 and venue.requests[target].limit_price == 106.0
    # after bar 2: three orders accepted; after bar 3: the entry filled, the exits working
    assert set(statuses[1].values()) == {OrderStatus.ACCEPTED}
    assert statuses[2][entry] is OrderStatus.FILLED
    # bar 4: the guard cancelled both exits through the venue
    assert statuses[3][stop] is OrderStatus.CANCELED is statuses[3][target]
    assert kernel.working == set()
    assert kernel.portfolio.position("AAA").quantity == 10.0
    assert kernel.portfolio.cash == pytest.approx(10_000.0 - 4 * 101.5 - 6 * 101.6)
    assert venue.account().positions == {"AAA": 10.0}
    assert guard.seen == [START + i * DAY for i in range(5)]


def test_the_kernel_reads_only_the_bars_it_was_told_closed() -> None:
    seen: list[int] = []

    class Counter:
        name, warmup = "counter", 0

        def on_bar(self, context: StrategyContext) -> None:
            seen.append(len(context.history["AAA"]))

    market = MarketData.empty(["AAA"])
    kernel = Kernel(Counter(), Portfolio(1_000.0), market)
    for ts, bars in stepping_feed([10.0, 11.0, 12.0]):
        market.append(bars[0])
        kernel.on_bars(ts.value, ["AAA"])
    market.append(
        Bar("AAA", (START + 9 * DAY).value, 1.0, 1.0, 1.0, 1.0, 1.0)
    )  # stored, not announced
    assert seen == [1, 2, 3]
    assert kernel.latest_closes() == {"AAA": 12.0}


def live_style_replay(bars: pd.DataFrame, strategy: object, cash: float) -> Kernel:
    """Bars appended one batch at a time, as a live feed delivers them, through the kernel."""
    from alphagate.execution.fill_models import NextOpenFill
    from alphagate.execution.venue import SimulatedVenue

    symbols = list(dict.fromkeys(bars.index.get_level_values("symbol")))
    venue = SimulatedVenue(NextOpenFill(), symbols=symbols, starting_cash=cash)
    market = MarketData.empty(symbols)
    kernel = Kernel(strategy, Portfolio(cash), market)  # type: ignore[arg-type]
    flat = bars.reset_index()
    for ts, batch in flat.groupby("ts", sort=True):
        rows = [
            Bar(r.symbol, ts.value, r.open, r.high, r.low, r.close, r.volume)
            for r in batch.itertuples()
        ]
        carry_out(kernel, venue, kernel.on_open(ts.value, {b.symbol: b.open for b in rows}))
        for bar in rows:
            for update in venue.on_bar(bar):
                kernel.on_order_update(update)
            market.append(bar)
        carry_out(kernel, venue, kernel.on_bars(ts.value, [b.symbol for b in rows]))
    assert venue.account().positions == {
        s: p.quantity for s, p in kernel.portfolio.positions.items() if not p.is_flat
    }
    return kernel


def test_bars_fed_one_at_a_time_give_the_backtests_orders_and_books() -> None:
    from alphagate.backtest.runner import run_backtest
    from alphagate.strategies.builtin import SmaCross
    from alphagate.testing import bundled_bars

    bars = bundled_bars(["^GSPC", "^IXIC"], start="2016-01-01")
    strategy = SmaCross(fast=5, slow=20, weight=0.5)
    backtest = run_backtest(bars, strategy, cash=100_000.0, calendar=None)
    kernel = live_style_replay(bars, strategy, 100_000.0)

    assert len(backtest.orders) > 20
    assert list(kernel.orders) == list(backtest.orders["client_order_id"])
    assert [s.status.value for s in kernel.orders.values()] == list(backtest.orders["status"])
    held = {s: p.quantity for s, p in kernel.portfolio.positions.items()}
    last_closes = {s: float(bars.loc[s, "close"].iloc[-1]) for s in held}
    assert kernel.portfolio.equity(last_closes) == pytest.approx(
        backtest.equity.iloc[-1], rel=1e-12
    )
    assert len(backtest.trades) == len(kernel.portfolio.closed_trades()) + len(
        kernel.portfolio.open_trades()
    )
