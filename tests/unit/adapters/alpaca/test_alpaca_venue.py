"""BrokerVenue over the Alpaca adapter against the local Alpaca server (RELIABILITY 3.2).

Each test asserts the server's truth (the orders it holds, the POSTs it
got, the positions it books) and the engine's view (the reports it was told,
folded into order states), never how the adapter got there.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from alpaca_helpers import Connected, fold

from alphagate.adapters.alpaca.errors import broker_error
from alphagate.adapters.broker.errors import AuthFailedError, ClockSkewError
from alphagate.domain.ids import client_order_id
from alphagate.domain.order_state import Accepted, Filled, Rejected
from alphagate.domain.orders import OrderRequest, OrderStatus, OrderType
from alphagate.testing.orders import DEFAULT_TS, request_of
from servers.alpaca_server import SECRET_KEY

Connect = Callable[..., Connected]
POST = "POST /v2/orders"


def order(leg: str = "entry", **kwargs: object) -> OrderRequest:
    cid = client_order_id("test", "AAPL", DEFAULT_TS, leg)
    return request_of(cid, symbol="AAPL", quantity=10.0, **kwargs)  # type: ignore[arg-type]


def test_a_market_order_fills_and_positions_follow(connect: Connect) -> None:
    alpaca = connect("partial_fills")
    request = order()
    told = alpaca.submit(request)
    assert [type(u.event) for u in told] == [Accepted]
    server = alpaca.server
    alpaca.cycle_until(lambda: server.order_of(request.client_order_id).status == "filled")
    state = fold(request, alpaca.venue.reports(request.client_order_id) or [])
    assert state.status is OrderStatus.FILLED and state.filled_qty == pytest.approx(10.0)
    assert len(state.trade_ids) == 3  # three executions, each listed once by the query
    assert alpaca.venue.account().positions == {"AAPL": pytest.approx(10.0)}
    assert alpaca.server.counts[POST] == 1


@pytest.mark.parametrize("seed", range(3))
def test_bf01_a_submit_that_times_out_after_the_venue_accepted_is_never_posted_twice(
    connect: Connect, seed: int
) -> None:
    alpaca = connect("timeout_accepted", seed=seed, stall_s=2.0)
    request = order(f"entry{seed}")
    assert alpaca.submit(request) == []
    assert alpaca.venue.unsettled == (request.client_order_id,)
    alpaca.cycle_until(lambda: alpaca.venue.unsettled == ())
    assert alpaca.server.counts[POST] == 1
    assert list(alpaca.server.by_client_id) == [request.client_order_id]
    assert alpaca.state(request).status in {OrderStatus.ACCEPTED, OrderStatus.FILLED}


def test_bf02_a_submit_the_venue_never_got_is_resent_once_with_the_same_id(
    connect: Connect,
) -> None:
    alpaca = connect("timeout_lost", stall_s=1.5, grace_s=0.3)
    request = order()
    assert alpaca.submit(request) == []
    assert alpaca.server.counts[POST] == 1
    alpaca.cycle_until(lambda: alpaca.venue.unsettled == ())
    assert alpaca.server.counts[POST] == 2
    assert list(alpaca.server.by_client_id) == [request.client_order_id]  # one id, one order
    assert len(alpaca.server.orders) == 1
    assert alpaca.state(request).status is not OrderStatus.REJECTED


def test_bf03_no_request_reaches_the_venue_inside_its_retry_after_window(
    connect: Connect,
) -> None:
    alpaca = connect("rate_limited", retry_after=1.0)
    first, second = order("a"), order("b")
    told = alpaca.submit(first)
    assert isinstance(told[0].event, Rejected) and "429" in told[0].event.reason
    alpaca.submit(second)
    refused_at, next_at = [t for name, t in alpaca.server.arrivals if name == POST]
    assert next_at - refused_at >= 1.0
    assert second.client_order_id in alpaca.server.by_client_id
    assert first.client_order_id not in alpaca.server.by_client_id  # rejected, never dropped


def test_bf05_a_read_answered_503_is_retried_and_a_post_answered_503_is_settled(
    connect: Connect,
) -> None:
    alpaca = connect("errors_5xx", errors_5xx=2)
    assert alpaca.venue.account().cash == pytest.approx(100_000.0)
    assert alpaca.server.counts["GET /v2/account"] == 3
    posting = connect("errors_5xx", errors_5xx=1)
    request = order()
    assert posting.submit(request) == []  # UNKNOWN: not rejected, not resent at once
    assert posting.venue.unsettled == (request.client_order_id,)
    assert posting.server.counts[POST] == 1
    posting.cycle_until(lambda: posting.venue.unsettled == ())
    assert list(posting.server.by_client_id) == [request.client_order_id]


def test_bf06_a_partial_fill_then_cancel_leaves_the_filled_quantity_held(
    connect: Connect,
) -> None:
    alpaca = connect("partial_then_rest", rest_fraction=0.4)
    request = order()
    alpaca.submit(request)
    alpaca.cycle_until(lambda: alpaca.server.order_of(request.client_order_id).filled_qty > 0)
    alpaca.told += alpaca.venue.cancel(request.client_order_id)
    alpaca.cycle_until(lambda: alpaca.state(request).status is OrderStatus.CANCELED)
    state = alpaca.state(request)
    assert state.filled_qty == pytest.approx(4.0)
    assert alpaca.server.positions["AAPL"] == pytest.approx(state.filled_qty)
    assert alpaca.venue.account().positions["AAPL"] == pytest.approx(4.0)


def test_bf07_duplicate_and_out_of_order_fills_are_applied_once(connect: Connect) -> None:
    alpaca = connect("duplicate_fills", fill_parts=2)
    request = order()
    alpaca.submit(request)
    server = alpaca.server
    alpaca.cycle_until(lambda: server.order_of(request.client_order_id).status == "filled")
    stream_fills = [e for e in server.sent_events if e["data"]["event"].endswith("fill")]
    assert len(stream_fills) == 4  # two executions, each sent twice, the last one first
    alpaca.venue.receive(_stream_reports(alpaca))
    alpaca.told += alpaca.venue.on_bars(0, [])
    state = alpaca.state(request)
    assert state.status is OrderStatus.FILLED
    assert state.filled_qty == pytest.approx(10.0)
    assert sum(isinstance(u.event, Filled) for u in alpaca.told) == 2


def _stream_reports(alpaca: Connected) -> list:  # type: ignore[type-arg]
    """The server's trade-update messages as the stream adapter turns them into reports."""
    from alpaca.trading.models import TradeUpdate

    from alphagate.adapters.alpaca.mapping import updates_of

    reports = []
    for message in alpaca.server.sent_events:
        reports += updates_of(TradeUpdate(**message["data"]))
    return reports


def test_bf08_a_reject_ends_the_order_with_the_venues_reason_and_no_resubmission(
    connect: Connect,
) -> None:
    alpaca = connect("reject")
    request = order()
    told = alpaca.submit(request)
    alpaca.cycle_until(lambda: True)
    state = alpaca.state(request)
    assert state.status is OrderStatus.REJECTED
    assert isinstance(told[0].event, Rejected) and "buying power" in told[0].event.reason
    assert alpaca.server.counts[POST] == 1


def test_bf09_a_cancel_that_times_out_resolves_to_canceled(connect: Connect) -> None:
    alpaca = connect("cancel_stall", stall_s=1.5)
    request = order(order_type=OrderType.LIMIT, limit_price=90.0)
    alpaca.submit(request)
    alpaca.told += alpaca.venue.cancel(request.client_order_id)
    alpaca.cycle_until(lambda: alpaca.state(request).status is OrderStatus.CANCELED)
    assert alpaca.server.order_of(request.client_order_id).status == "canceled"


def test_bf09_a_cancel_of_an_order_that_filled_meanwhile_resolves_to_filled(
    connect: Connect,
) -> None:
    alpaca = connect()
    request = order(order_type=OrderType.LIMIT, limit_price=90.0)
    alpaca.submit(request)
    alpaca.server.fill(alpaca.server.by_client_id[request.client_order_id], 10.0, 90.0)
    alpaca.told += alpaca.venue.cancel(request.client_order_id)  # Alpaca answers 422
    state = alpaca.state(request)
    assert state.status is OrderStatus.FILLED and state.filled_qty == pytest.approx(10.0)


def test_bf12_a_position_changed_outside_the_engine_is_the_venues_word(
    connect: Connect,
) -> None:
    alpaca = connect("outside_position")
    assert alpaca.venue.account().positions == {"MSFT": pytest.approx(7.0)}


def test_bf14_clock_skew_does_not_apply_to_alpaca() -> None:
    """BF-14 is n/a: Alpaca's requests carry no signed timestamp, so no answer means skew."""
    from alpaca.common.exceptions import APIError

    for status in (400, 401, 403, 404, 408, 409, 422, 429, 500, 503):
        error = broker_error(APIError('{"code": 1, "message": "m"}', _http_error(status)))
        assert not isinstance(error, ClockSkewError)


def _http_error(status: int) -> object:
    import requests

    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(response=response)


def test_bf15_an_authentication_failure_halts_without_a_retry(connect: Connect) -> None:
    alpaca = connect(secret="wrong" + SECRET_KEY[5:])
    with pytest.raises(AuthFailedError):
        alpaca.submit(order())
    with pytest.raises(AuthFailedError):
        alpaca.venue.account()
    assert alpaca.server.counts[POST] == 1
    assert alpaca.server.counts["GET /v2/account"] == 1


def test_an_order_found_by_query_lists_the_executions_the_stream_named(
    connect: Connect,
) -> None:
    """I3: an execution from the stream and from a query has one trade id."""
    alpaca = connect("partial_fills")
    request = order()
    alpaca.submit(request)
    server = alpaca.server
    alpaca.cycle_until(lambda: server.order_of(request.client_order_id).status == "filled")
    time.sleep(0.05)
    streamed = {
        u.event.fill.trade_id for u in _stream_reports(alpaca) if isinstance(u.event, Filled)
    }
    queried = alpaca.client.find(request.client_order_id)
    assert queried is not None
    assert {f.trade_id for f in queried.fills} == streamed and len(streamed) == 3
