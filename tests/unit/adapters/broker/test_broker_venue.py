"""BrokerVenue's money rules against a scripted client: send once, settle by id, one report once.

The client here is a small in-memory venue whose behaviour each test scripts
(a timeout after it accepted, a timeout before, a stream that re-sends);
what is asserted is what the venue *did* (how many orders it holds, how many
POSTs it got) and what the engine was told, never how BrokerVenue got there.
The same rules are exercised against real wire protocols in the Alpaca and
Binance adapters' tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from alphagate.adapters.broker.client import OrderSnapshot
from alphagate.adapters.broker.errors import (
    AuthFailedError,
    DuplicateClientIdError,
    OutcomeUnknownError,
    RateLimitedError,
    VenueRejectedError,
)
from alphagate.adapters.broker.pacing import Pacing
from alphagate.adapters.broker.retry import RetryPolicy
from alphagate.adapters.broker.venue import BrokerVenue
from alphagate.domain.order_state import (
    Accepted,
    Canceled,
    Filled,
    OrderState,
    OrderUpdate,
    Rejected,
)
from alphagate.domain.orders import OrderRequest, OrderStatus
from alphagate.live.recovery import unseen
from alphagate.ports import VenueAccount, VenueCapabilities
from alphagate.testing.orders import fill_of, request_of


@dataclass
class ScriptedClient:
    """A venue holding orders by client id; ``script`` says what the next calls do."""

    orders: dict[str, OrderSnapshot] = field(default_factory=dict)
    posts: int = 0
    finds: int = 0
    place_script: list[str] = field(default_factory=list)
    find_script: list[str] = field(default_factory=list)

    name = "scripted"
    capabilities = VenueCapabilities(brackets=True, fractional=True, shorting=False)

    def place(self, request: OrderRequest) -> OrderSnapshot:
        self.posts += 1
        action = self.place_script.pop(0) if self.place_script else "accept"
        cid = request.client_order_id
        if action == "auth":
            raise AuthFailedError("401 unauthorized", venue=self.name)
        if action == "reject":
            raise VenueRejectedError("insufficient buying power", venue=self.name)
        if action == "429":
            raise RateLimitedError("429 too many requests", venue=self.name, retry_after=2.0)
        if action == "lost":  # the request never arrived
            raise OutcomeUnknownError("timed out", venue=self.name)
        if cid in self.orders:
            raise DuplicateClientIdError("client_order_id must be unique", venue=self.name)
        snap = OrderSnapshot(request, f"v-{cid}", OrderStatus.ACCEPTED)
        self.orders[cid] = snap
        if action == "accept-then-timeout":
            raise OutcomeUnknownError("timed out after sending", venue=self.name)
        return snap

    def find(self, client_order_id: str) -> OrderSnapshot | None:
        self.finds += 1
        if self.find_script and self.find_script.pop(0) == "503":
            raise OutcomeUnknownError("503 service unavailable", venue=self.name)
        return self.orders.get(client_order_id)

    def cancel(self, client_order_id: str) -> None:
        snap = self.orders[client_order_id]
        self.orders[client_order_id] = OrderSnapshot(
            snap.request, snap.venue_order_id, OrderStatus.CANCELED, snap.fills, "canceled"
        )

    def working(self) -> Sequence[OrderSnapshot]:
        return [s for s in self.orders.values() if s.status is OrderStatus.ACCEPTED]

    def account(self) -> VenueAccount:
        return VenueAccount(cash=0.0, positions={})

    def fill(self, cid: str, quantity: float, trade_id: str) -> Filled:
        snap = self.orders[cid]
        fill = fill_of(snap.request, quantity, trade_id=trade_id)
        fills = (*snap.fills, fill)
        done = sum(f.quantity for f in fills) >= snap.request.quantity
        status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
        self.orders[cid] = OrderSnapshot(snap.request, snap.venue_order_id, status, fills)
        return Filled(fill)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def venue_of(client: ScriptedClient, clock: FakeClock, **kwargs: float) -> BrokerVenue:
    pacing = Pacing(clock=clock, sleep=clock.sleep)
    return BrokerVenue(
        client, pacing=pacing, retry=RetryPolicy(attempts=3, base_s=0.1), clock=clock, **kwargs
    )


def fold(request: OrderRequest, updates: Sequence[OrderUpdate]) -> OrderState:
    state = OrderState.sent(request)
    for update in updates:
        state = state.apply(update.event)
    return state


def test_a_timeout_after_the_venue_accepted_is_settled_by_query_without_a_second_post() -> None:
    """BF-01, 100 seeded times: exactly one order at the venue, found by its client id."""
    for seed in range(100):
        clock, client = FakeClock(), ScriptedClient(place_script=["accept-then-timeout"])
        venue = venue_of(client, clock, grace_s=1.0 + seed % 3)
        request = request_of(f"o{seed}")
        assert venue.submit(request, 0) == []
        assert venue.unsettled == (request.client_order_id,)
        clock.now += 10.0
        told = venue.on_bars(0, [])
        assert client.posts == 1 and len(client.orders) == 1
        assert [type(u.event) for u in told] == [Accepted]
        assert venue.unsettled == ()


def test_an_order_the_venue_never_got_is_sent_again_with_the_same_id_after_the_grace() -> None:
    """BF-02: one resend, same client id, only after the grace period; never a second id."""
    clock, client = FakeClock(), ScriptedClient(place_script=["lost"])
    venue = venue_of(client, clock, grace_s=5.0)
    request = request_of("o1")
    assert venue.submit(request, 0) == []
    clock.now += 4.0
    assert venue.on_bars(0, []) == [] and client.posts == 1  # inside the grace: only asked
    clock.now += 2.0
    told = venue.on_bars(0, [])
    assert client.posts == 2 and list(client.orders) == ["o1"]
    assert [u.client_order_id for u in told] == ["o1"]


def test_an_order_lost_on_every_send_is_rejected_not_retried_forever() -> None:
    clock, client = FakeClock(), ScriptedClient(place_script=["lost", "lost"])
    venue = venue_of(client, clock, grace_s=1.0, max_resends=1)
    request = request_of("o1")
    venue.submit(request, 0)
    for _ in range(4):
        clock.now += 2.0
        told = venue.on_bars(0, [])
        if told:
            break
    assert client.posts == 2
    assert [type(u.event) for u in told] == [Rejected]
    assert fold(request, told).status is OrderStatus.REJECTED


def test_stated_refusals_become_rejections_with_their_reason() -> None:
    """BF-08 and BF-03: a refusal or a rate limit is an explicit REJECTED, never a silent drop."""
    clock, client = FakeClock(), ScriptedClient(place_script=["reject", "429"])
    venue = venue_of(client, clock)
    first, second = venue.submit(request_of("o1"), 0), venue.submit(request_of("o2"), 0)
    assert isinstance(first[0].event, Rejected) and "buying power" in first[0].event.reason
    assert isinstance(second[0].event, Rejected) and "429" in second[0].event.reason
    assert client.posts == 2


def test_no_request_goes_inside_a_retry_after_window() -> None:
    """BF-03: after a 429 with Retry-After 2 s, the next request waits the 2 s out."""
    clock, client = FakeClock(), ScriptedClient(place_script=["429"])
    venue = venue_of(client, clock)
    venue.submit(request_of("o1"), 0)
    at_limit = clock.now
    venue.submit(request_of("o2"), 0)
    assert clock.now - at_limit >= 2.0


def test_the_budget_per_minute_is_never_exceeded() -> None:
    clock = FakeClock()
    pacing = Pacing(per_minute=5, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(12):
        pacing.acquire()
        times.append(clock.now)
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u < t + 60.0) <= 5


def test_reads_retry_and_authentication_failures_do_not() -> None:
    """BF-05: a GET that fails with 503 is asked again; BF-15: a 401 halts at once."""
    clock, client = FakeClock(), ScriptedClient(find_script=["503", "503"])
    venue = venue_of(client, clock)
    client.orders["o1"] = OrderSnapshot(request_of("o1"), "v1", OrderStatus.ACCEPTED)
    assert venue.reports("o1") is not None and client.finds == 3
    auth = ScriptedClient(place_script=["auth"])
    with pytest.raises(AuthFailedError):
        venue_of(auth, FakeClock()).submit(request_of("o1"), 0)
    assert auth.posts == 1


def test_duplicate_late_and_replayed_reports_reach_the_engine_once() -> None:
    """BF-07: a fill re-sent, an ack after its fill, a cancel after the order filled."""
    clock, client = FakeClock(), ScriptedClient()
    venue = venue_of(client, clock)
    request = request_of("o1", quantity=10.0)
    told = venue.submit(request, 0)
    first = client.fill("o1", 4.0, "t1")
    second = client.fill("o1", 6.0, "t2")
    cid = request.client_order_id
    venue.receive([OrderUpdate(cid, second), OrderUpdate(cid, first), OrderUpdate(cid, first)])
    venue.receive([OrderUpdate(cid, Accepted("v-o1")), OrderUpdate(cid, Canceled("late"))])
    told += venue.on_bars(0, [])
    state = fold(request, told)
    assert state.status is OrderStatus.FILLED and state.filled_qty == 10.0
    assert sorted(state.trade_ids) == ["t1", "t2"]


def test_a_duplicate_client_id_answer_adopts_the_order_the_venue_holds() -> None:
    clock, client = FakeClock(), ScriptedClient()
    request = request_of("o1")
    client.orders["o1"] = OrderSnapshot(request, "v-o1", OrderStatus.ACCEPTED)
    told = venue_of(client, clock).submit(request, 0)
    assert [type(u.event) for u in told] == [Accepted] and len(client.orders) == 1


def test_recovery_adopts_only_what_the_engine_state_lacks_whatever_the_order() -> None:
    """The engine got fill t2 before the ack; the venue's canonical list adds t1 and the end."""
    request = request_of("o1", quantity=10.0)
    t1, t2 = fill_of(request, 4.0, trade_id="t1"), fill_of(request, 6.0, trade_id="t2")
    state = OrderState.sent(request).apply(Filled(t2))
    canonical = OrderSnapshot(request, "v1", OrderStatus.FILLED, (t1, t2)).reports()
    missing = unseen(state, canonical, applied=1)
    assert [u.event for u in missing] == [Filled(t1)]
    assert fold(request, [OrderUpdate("o1", Filled(t2)), *missing]).status is OrderStatus.FILLED
