"""The contract between one venue's adapter and the shared :class:`BrokerVenue`.

An adapter implements :class:`BrokerClient` with single, unretried calls to
its library (the venue paces and retries them) and describes every order as
an :class:`OrderSnapshot`: the venue's word on it at the moment of asking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from alphagate.domain.order_state import (
    Accepted,
    Canceled,
    Expired,
    Filled,
    OrderEvent,
    OrderState,
    OrderUpdate,
    Rejected,
)
from alphagate.domain.orders import Fill, OrderRequest, OrderStatus
from alphagate.ports import VenueAccount, VenueCapabilities


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """One order as the venue holds it: the request, its status, every execution so far.

    ``fills`` carry the venue's own execution ids as ``trade_id``, so a fill
    seen on the stream and the same fill listed by a query are one fill
    (invariant I3). ``status`` ``SUBMITTED`` means the venue has the order
    but has not yet accepted it (Alpaca's ``pending_new``).
    """

    request: OrderRequest
    venue_order_id: str
    status: OrderStatus
    fills: tuple[Fill, ...] = ()
    reason: str | None = None

    @property
    def client_order_id(self) -> str:
        """The order's client id, from its request."""
        return self.request.client_order_id

    def reports(self) -> list[OrderUpdate]:
        """The order's life as the canonical sequence of reports: ack, fills in time order, end.

        Every venue and every moment of asking give the same sequence for
        the same facts, so what a crashed engine had already folded in is a
        prefix (up to duplicates the order state ignores) of what a later
        query lists.
        """
        events: list[OrderEvent] = []
        if self.status is not OrderStatus.SUBMITTED and not (
            self.status is OrderStatus.REJECTED and not self.fills
        ):
            events.append(Accepted(self.venue_order_id))
        events += [Filled(f) for f in sorted(self.fills, key=lambda f: (f.ts_event, f.trade_id))]
        reason = self.reason or f"{self.status.value} at the venue"
        if self.status is OrderStatus.CANCELED:
            events.append(Canceled(reason))
        elif self.status is OrderStatus.REJECTED:
            events.append(Rejected(reason))
        elif self.status is OrderStatus.EXPIRED:
            events.append(Expired(reason))
        cid = self.client_order_id
        return [OrderUpdate(cid, event) for event in events]

    def state(self) -> OrderState:
        """The order state these reports build from a freshly sent order."""
        state = OrderState.sent(self.request)
        for update in self.reports():
            state = state.apply(update.event)
        return state


class BrokerClient(Protocol):
    """One venue's calls, each a single request raising :mod:`.errors` classes on failure."""

    @property
    def name(self) -> str:
        """The venue's name in messages (``alpaca``, ``binance``)."""
        ...

    @property
    def capabilities(self) -> VenueCapabilities:
        """What the venue does itself (brackets held at the broker, fractional, shorting)."""
        ...

    def place(self, request: OrderRequest) -> OrderSnapshot:
        """POST the order with its client id; the venue's answer as a snapshot."""
        ...

    def find(self, client_order_id: str) -> OrderSnapshot | None:
        """GET the order by client id; ``None`` when the venue never got it."""
        ...

    def cancel(self, client_order_id: str) -> None:
        """Ask the venue to cancel; :class:`~.errors.OrderNotFoundError` if it has no such order."""
        ...

    def working(self) -> Sequence[OrderSnapshot]:
        """Every order the venue still works."""
        ...

    def account(self) -> VenueAccount:
        """Cash and signed positions as the venue holds them."""
        ...


@runtime_checkable
class BracketClient(BrokerClient, Protocol):
    """A venue that holds an entry's stop-loss and take-profit itself, sent as one order.

    The broker names the legs itself; the adapter maps them back to our leg
    client ids, and finds a leg through its entry (``request.parent_id``).
    """

    def holds(self, parent: OrderRequest, legs: Sequence[OrderRequest]) -> bool:
        """Whether these legs can ride with ``parent`` as one broker-held order."""
        ...

    def place_bracket(
        self, parent: OrderRequest, legs: Sequence[OrderRequest]
    ) -> list[OrderSnapshot]:
        """POST the entry with its legs once; snapshots of the entry, then each leg."""
        ...

    def find_leg(self, leg: OrderRequest) -> OrderSnapshot | None:
        """The leg as the broker holds it, through its entry; ``None`` if it has none."""
        ...
