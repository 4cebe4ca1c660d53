"""Orders through BrokerVenue, ccxt and the local Binance server (RELIABILITY BF-01/02/05-09).

Each test asserts the exchange's truth (how many orders it holds under a
client id, how many POSTs it got, its balances) and what the engine was
told (the reports, folded into an order state), never the adapter's inside.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from ccxt_helpers import SYMBOL, state_for

from alphagate.adapters.ccxt.venue import CcxtVenue
from alphagate.domain.order_state import Accepted, Canceled, Filled, OrderState, OrderUpdate
from alphagate.domain.orders import OrderRequest, OrderStatus, OrderType, Side
from servers.binance_server import ORDER, Fault

CID = "ag" + "0" * 29 + "1"


def request(
    cid: str = CID,
    quantity: float = 0.01,
    *,
    side: Side = Side.BUY,
    limit: float | None = None,
    stop: float | None = None,
) -> OrderRequest:
    kind = OrderType.MARKET
    if limit is not None:
        kind = OrderType.STOP_LIMIT if stop is not None else OrderType.LIMIT
    elif stop is not None:
        kind = OrderType.STOP
    return OrderRequest(
        client_order_id=cid,
        symbol=SYMBOL,
        side=side,
        quantity=quantity,
        ts_init=1_800_000_000 * 10**9,
        order_type=kind,
        limit_price=limit,
        stop_price=stop,
    )


def fold(order: OrderRequest, updates: Sequence[OrderUpdate]) -> OrderState:
    state = OrderState.sent(order)
    for update in updates:
        state = state.apply(update.event)
    return state


def settle(venue: CcxtVenue, rounds: int = 3) -> list[OrderUpdate]:
    told: list[OrderUpdate] = []
    for _ in range(rounds):
        told += venue.venue.on_bars(0, [])
    return told


def test_a_market_order_fills_and_the_engine_is_told_once_with_the_venue_trade_id(
    connect,
) -> None:
    state = state_for("normal")
    _, opened = connect(state)
    order = request()
    told = opened.venue.submit(order, 0)
    assert state.count("POST") == 1
    [held] = state.orders_of(CID)
    assert held.status == "FILLED"
    assert [type(u.event) for u in told] == [Accepted, Filled]
    fill = told[1].event.fill  # type: ignore[union-attr]
    assert fill.trade_id == str(state.trades[0]["id"])
    assert fill.price == pytest.approx(30_000.0) and fill.quantity == pytest.approx(0.01)
    assert fill.fee == pytest.approx(0.01 * 30_000.0 * 0.001)
    assert state.balances["BTC"] == pytest.approx(1.01)
    account = opened.venue.account()
    assert account.positions == {SYMBOL: pytest.approx(1.01)}
    assert account.cash == pytest.approx(state.balances["USDT"])


@pytest.mark.parametrize("seed", range(5))
def test_bf01_a_submit_that_times_out_after_acceptance_is_found_without_a_second_post(
    connect, seed: int
) -> None:
    """BF-01: no second POST; the order is found by its client id; exactly one at the venue."""
    state = state_for("timeout-after-accept", seed=seed)
    _, opened = connect(state)
    order = request(cid=f"ag{seed:030d}")
    assert opened.venue.submit(order, 0) == []
    assert opened.venue.unsettled == (order.client_order_id,)
    told = settle(opened)
    assert state.count("POST") == 1
    assert len(state.orders_of(order.client_order_id)) == 1
    assert state.count("GET") >= 1
    assert fold(order, told).status is OrderStatus.FILLED
    assert opened.venue.unsettled == ()


def test_bf02_a_submit_the_venue_never_got_is_sent_again_with_the_same_client_id(
    connect,
) -> None:
    """BF-02: the targeted query finds nothing, then one resend with the same id, never a new id."""
    state = state_for("timeout-before-accept")
    _, opened = connect(state)
    order = request()
    assert opened.venue.submit(order, 0) == []
    assert state.orders == []
    told = settle(opened)
    assert state.count("POST") == 2
    assert [o.client_id for o in state.orders] == [CID]
    assert fold(order, told).status is OrderStatus.FILLED


def test_bf05_gets_retry_through_5xx_and_a_post_5xx_is_settled_without_a_resend(
    connect,
) -> None:
    """BF-05: two 503s on reads are retried; a 503 after the POST was taken is UNKNOWN."""
    state = state_for("normal")
    _, opened = connect(state)
    state.faults.append(Fault("GET /api/v3/account", "503", times=2))
    assert opened.venue.account().cash == pytest.approx(100_000.0)
    assert state.count("GET", "/api/v3/account") == 3
    state.faults.append(Fault(f"POST {ORDER}", "503-after"))
    order = request()
    assert opened.venue.submit(order, 0) == []
    told = settle(opened)
    assert state.count("POST") == 1 and len(state.orders_of(CID)) == 1
    assert fold(order, told).status is OrderStatus.FILLED


def test_bf06_a_partial_fill_then_a_cancel_leaves_the_filled_qty(connect) -> None:
    """BF-06: position = filled quantity; the order ends CANCELED with the fills it had."""
    state = state_for("partial", seed=3)
    _, opened = connect(state)
    order = request(quantity=0.5, limit=29_000.0)
    told = opened.venue.submit(order, 0)
    assert state.orders_of(CID)[0].executed == 0
    assert opened.poller.poll() == 1  # the venue fills the first part at this poll
    told += settle(opened, 1)
    told += opened.venue.cancel(CID)
    told += settle(opened, 1)
    [held] = state.orders_of(CID)
    assert held.status == "CANCELED" and 0 < held.executed < 0.5
    final = fold(order, told)
    assert final.status is OrderStatus.CANCELED
    assert final.filled_qty == pytest.approx(held.executed)
    assert state.balances["BTC"] == pytest.approx(1.0 + held.executed)


def test_partial_fills_over_several_polls_reach_filled_with_each_trade_once(connect) -> None:
    state = state_for("partial", seed=7)
    _, opened = connect(state)
    order = request(quantity=0.3, limit=29_000.0)
    told = opened.venue.submit(order, 0)
    for _ in range(5):
        opened.poller.poll()
        told += settle(opened, 1)
    fills = [u.event.fill for u in told if isinstance(u.event, Filled)]
    assert sorted(f.trade_id for f in fills) == sorted(str(t["id"]) for t in state.trades)
    assert len(fills) == 3
    assert fold(order, told).status is OrderStatus.FILLED
    assert sum(f.quantity for f in fills) == pytest.approx(0.3)


def test_bf07_duplicate_and_reordered_trades_are_applied_once(connect) -> None:
    """BF-07: the venue lists trades twice and backwards; each trade id reaches the engine once."""
    state = state_for("partial", seed=11, duplicate_trades=True)
    _, opened = connect(state)
    order = request(quantity=0.2, limit=29_000.0)
    told = opened.venue.submit(order, 0)
    for _ in range(4):
        opened.poller.poll()
        told += settle(opened, 1)
    fills = [u.event.fill for u in told if isinstance(u.event, Filled)]
    assert len({f.trade_id for f in fills}) == len(fills) == len(state.trades) == 3
    opened.venue.receive_snapshot(opened.client.find(CID))  # the whole history, once more
    assert settle(opened, 1) == []
    final = fold(order, told)
    assert final.status is OrderStatus.FILLED
    assert final.filled_qty == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("scenario", "quantity", "reason"),
    [
        ("reject-funds", 0.01, "insufficient balance"),
        ("normal", 0.00002, "LOT_SIZE"),
    ],
)
def test_bf08_a_reject_is_terminal_with_the_venues_reason_and_one_post(
    connect, scenario: str, quantity: float, reason: str
) -> None:
    """BF-08: REJECTED with the venue's reason; nothing resent, nothing held at the venue."""
    state = state_for(scenario)
    _, opened = connect(state)
    order = request(quantity=quantity)
    told = opened.venue.submit(order, 0)
    told += settle(opened)
    final = fold(order, told)
    assert final.status is OrderStatus.REJECTED
    assert reason in str(told[-1].event)
    assert state.count("POST") == 1 and state.orders == []


def test_bf09_a_cancel_that_finds_the_order_filled_reports_the_fill(connect) -> None:
    """BF-09: cancel says "unknown order" (it filled meanwhile); a query resolves it to FILLED."""
    state = state_for("normal")
    _, opened = connect(state)
    order = request(limit=29_000.0)
    told = opened.venue.submit(order, 0)
    state.fill(CID)
    told += opened.venue.cancel(CID)
    assert state.count("DELETE") == 1
    assert fold(order, told).status is OrderStatus.FILLED


def test_a_cancel_of_a_working_order_ends_it_canceled_at_the_venue(connect) -> None:
    state = state_for("normal")
    _, opened = connect(state)
    order = request(limit=29_000.0)
    told = opened.venue.submit(order, 0)
    assert [s.client_order_id for s in opened.client.working()] == [CID]
    told += opened.venue.cancel(CID)
    assert state.orders_of(CID)[0].status == "CANCELED"
    assert isinstance(told[-1].event, Canceled)
    assert opened.client.working() == []


def test_a_stop_order_is_sent_as_binance_stop_loss_and_rests_until_triggered(connect) -> None:
    state = state_for("normal")
    _, opened = connect(state)
    order = request(side=Side.SELL, stop=25_000.0)
    told = opened.venue.submit(order, 0)
    [held] = state.orders_of(CID)
    assert (held.type, held.stop_price, held.status) == ("STOP_LOSS", 25_000.0, "NEW")
    assert fold(order, told).status is OrderStatus.ACCEPTED
    state.fill(CID)
    opened.poller.poll()  # leaves the working list: asked once more by client id
    told += settle(opened, 1)
    assert fold(order, told).status is OrderStatus.FILLED


def test_a_repeated_client_id_of_a_working_order_is_adopted_not_duplicated(connect) -> None:
    """Binance refuses a second open order with the same client id (-2010 Duplicate order)."""
    state = state_for("normal")
    _, opened = connect(state)
    order = request(limit=29_000.0)
    first = opened.venue.submit(order, 0)
    _, other = connect(state)  # a second engine process sending the same intent
    again = other.venue.submit(order, 0)
    assert state.count("POST") == 2 and len(state.orders_of(CID)) == 1
    assert fold(order, first).status is fold(order, again).status is OrderStatus.ACCEPTED
