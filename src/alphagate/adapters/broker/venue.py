"""A broker or exchange behind the :class:`~alphagate.ports.Venue` port, safe to send money through.

The live driver calls a venue synchronously and journals every report it
answers with before the kernel sees it. :class:`BrokerVenue` keeps that
contract for a venue that answers late, twice, out of order or not at all:

* **Send once.** :meth:`submit` POSTs once. A refusal the venue states
  (``FAILED``) becomes a ``REJECTED`` report with its reason, never a silent
  drop (BF-03, BF-08). An ambiguous failure (``UNKNOWN``: timeout, 5xx) is
  *not* resent: the order stays ``SUBMITTED`` and is settled at the next
  cycles by asking the venue for its client id (BF-01). Only when the venue
  still does not know it after ``grace_s`` is it sent again, with the *same*
  client id (a venue refuses a second order with an id it holds, so this can
  never make two orders), at most ``max_resends`` times, then rejected (BF-02).
* **One report once.** Streams re-send, reconnects replay, acks arrive
  after fills. Every report, from an answer, the stream or a query, passes
  one filter per order: an ack after the order was acked or filled, a fill
  whose execution id was seen, anything after the order ended, are dropped
  (BF-07). Stream messages for orders this engine never sent nor asked
  about are dropped too: reconciliation sees their effect on positions.
* **Reads retry, writes don't.** Queries go through
  :func:`~alphagate.adapters.broker.retry.read_with_retry`; every request is
  paced (:class:`~alphagate.adapters.broker.pacing.Pacing`).
* **Sustained 429s degrade trading** (BF-04): every request's 429 or success
  is counted by :attr:`BrokerVenue.rate_limits`
  (:class:`~alphagate.adapters.broker.rate_health.RateLimitHealth`), whose
  check the live engine registers in its health registry.
* **Stream in, cycle out.** The adapter's stream thread hands reports to
  :meth:`receive` (or whole orders to :meth:`receive_snapshot`, for a REST
  catch-up after a reconnect, BF-10); the driver collects them at
  :meth:`on_bars`, journals them, and only then does the kernel see them.

Authentication failures propagate (:class:`~.errors.AuthFailedError`): trading
halts, with no retry loop (BF-15).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from alphagate.adapters.broker.client import BracketClient, BrokerClient, OrderSnapshot
from alphagate.adapters.broker.errors import (
    AuthFailedError,
    BrokerError,
    DuplicateClientIdError,
    OrderNotFoundError,
    OutcomeUnknownError,
)
from alphagate.adapters.broker.pacing import Pacing
from alphagate.adapters.broker.rate_health import RateLimitHealth
from alphagate.adapters.broker.retry import DEFAULT_RETRY, RetryPolicy, read_with_retry, send_once
from alphagate.domain.bar import Bar
from alphagate.domain.order_state import (
    Accepted,
    Filled,
    OrderState,
    OrderUpdate,
    Rejected,
    after_fill,
)
from alphagate.domain.orders import OrderRequest, OrderStatus
from alphagate.ports import VenueAccount, VenueCapabilities

log = logging.getLogger(__name__)


@dataclass
class _Seen:
    """What the engine has been told about one order, to drop what it was already told."""

    quantity: float
    accepted: bool = False
    trade_ids: set[str] = field(default_factory=set)
    filled: float = 0.0
    ended: bool = False


@dataclass
class _Unsettled:
    """An order sent with an unknown outcome, waiting for the venue to say whether it has it."""

    request: OrderRequest
    since: float
    resends: int = 0
    legs: tuple[OrderRequest, ...] = ()
    """A broker-held bracket's legs, sent (and settled, and resent) with their entry."""


class BrokerVenue:
    """The shared venue over one adapter's :class:`BrokerClient`; see the module docstring.

    Parameters
    ----------
    client
        The venue's adapter.
    pacing
        The connection's request budget and ``Retry-After`` holds.
    grace_s
        How long an order with an unknown outcome may stay unknown to the
        venue before it is sent again with the same client id.
    max_resends
        Sends after the first before such an order is rejected.
    clock
        Monotonic seconds (replaceable in tests).
    rate_limits
        Where each request's 429s are counted; by default one on the pacing's clock.
    """

    def __init__(
        self,
        client: BrokerClient,
        *,
        pacing: Pacing | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        grace_s: float = 5.0,
        max_resends: int = 1,
        clock: Callable[[], float] = time.monotonic,
        rate_limits: RateLimitHealth | None = None,
    ) -> None:
        self._client = client
        self._pacing = pacing if pacing is not None else Pacing()
        self.rate_limits = (
            rate_limits
            if rate_limits is not None
            else RateLimitHealth(clock=self._pacing.clock, venue=client.name)
        )
        self._retry, self._grace_s, self._max_resends = retry, grace_s, max_resends
        self._clock = clock
        self._seen: dict[str, _Seen] = {}
        self._requests: dict[str, OrderRequest] = {}
        self._unsettled: dict[str, _Unsettled] = {}
        self._inbox: list[OrderUpdate] = []
        self._lock = threading.Lock()

    @property
    def capabilities(self) -> VenueCapabilities:
        """The adapter's."""
        return self._client.capabilities

    @property
    def unsettled(self) -> tuple[str, ...]:
        """Client ids sent with an unknown outcome and not yet found or rejected."""
        return tuple(self._unsettled)

    @property
    def tracked(self) -> tuple[str, ...]:
        """Client ids of orders sent or asked about that have not ended: what a catch-up asks."""
        seen = self._seen.copy()  # a stream's thread asks while the engine's adds orders
        return tuple(cid for cid, order in seen.items() if not order.ended)

    # -- the Venue port ----------------------------------------------------------------------

    def submit(self, request: OrderRequest, now: int) -> list[OrderUpdate]:
        """Send the order once; see the module docstring for each outcome."""
        self._track(request)
        return self._send(request, _Unsettled(request, self._clock()))

    def submit_bracket(
        self, parent: OrderRequest, legs: Sequence[OrderRequest], now: int
    ) -> list[OrderUpdate] | None:
        """Send an entry and its legs as one broker-held order, once; ``None`` if it can't.

        ``None`` (nothing sent) when the adapter holds no brackets or not these
        legs: the caller sends each order on its own. Otherwise the outcome
        rules of :meth:`submit` apply to the three orders together: a refusal
        rejects them all, an unknown outcome settles them all by the entry's
        client id.
        """
        client = self._client
        if not isinstance(client, BracketClient) or not client.holds(parent, legs):
            return None
        for request in (parent, *legs):
            self._track(request)
        return self._send(parent, _Unsettled(parent, self._clock(), legs=tuple(legs)))

    def cancel(self, client_order_id: str) -> list[OrderUpdate]:
        """Ask once to cancel, then report what the venue says the order became (BF-09).

        A cancel that times out or finds no order is followed by a query: the
        order may have filled meanwhile, and that fill must not be lost.
        """
        try:
            send_once(
                self.rate_limits.watch(lambda: self._client.cancel(client_order_id)),
                self._pacing,
            )
        except AuthFailedError:
            raise
        except (OrderNotFoundError, OutcomeUnknownError) as error:
            log.warning("cancel of %s: %s; asking what became of it", client_order_id, error)
        except BrokerError as error:
            log.warning("cancel of %s refused: %s", client_order_id, error)
        found = self._find(client_order_id)
        return [] if found is None else self._admit(found.reports())

    def on_bars(self, ts: int, bars: Sequence[Bar]) -> list[OrderUpdate]:
        """What the stream reported since the last cycle, and orders whose outcome was settled."""
        with self._lock:
            received, self._inbox = self._inbox, []
        return self._admit(received) + self._settle()

    def reports(
        self, client_order_id: str, request: OrderRequest | None = None
    ) -> list[OrderUpdate] | None:
        """Every report for the order in canonical order, or ``None`` if the venue never got it.

        Recovery compares these with what its journal holds; they also mark
        the order as known, so the stream's copies of them are dropped.
        ``request`` lets a broker-held leg be found through its entry.
        """
        if request is not None:
            self._requests.setdefault(client_order_id, request)
        found = self._find(client_order_id)
        if found is None:
            return None
        self._track(found.request)
        updates = found.reports()
        self._admit(updates)
        return updates

    def open_orders(self) -> list[OrderState]:
        """Every order the venue still works, as order states."""
        working = self.rate_limits.watch(self._client.working)
        snapshots = read_with_retry(working, self._pacing, self._retry)
        return [snapshot.state() for snapshot in snapshots]

    def account(self) -> VenueAccount:
        """The venue's cash and positions (retried read)."""
        account = self.rate_limits.watch(self._client.account)
        return read_with_retry(account, self._pacing, self._retry)

    # -- the stream's side -------------------------------------------------------------------

    def receive(self, updates: Sequence[OrderUpdate]) -> None:
        """Hand over reports from the stream (any thread); the next cycle collects them."""
        with self._lock:
            self._inbox.extend(updates)

    def receive_snapshot(self, snapshot: OrderSnapshot) -> None:
        """Hand over an order's whole state, e.g. from a catch-up query after a reconnect."""
        self.receive(snapshot.reports())

    # -- inside ------------------------------------------------------------------------------

    def _send(self, request: OrderRequest, pending: _Unsettled) -> list[OrderUpdate]:
        cid = request.client_order_id
        orders = (request, *pending.legs)
        try:
            snapshots = send_once(
                self.rate_limits.watch(lambda: self._place(request, pending.legs)), self._pacing
            )
        except AuthFailedError:
            raise
        except DuplicateClientIdError:
            found = [self._find(o.client_order_id) for o in orders]
            if found[0] is None:  # the venue says it has it but cannot show it: ask again later
                self._unsettled[cid] = pending
                return []
            return self._admit([u for f in found if f is not None for u in f.reports()])
        except OutcomeUnknownError as error:
            log.warning("order %s: %s; settling it by client id, not resending", cid, error)
            self._unsettled[cid] = pending
            return []
        except BrokerError as error:
            return self._admit(
                [OrderUpdate(o.client_order_id, Rejected(str(error))) for o in orders]
            )
        return self._admit([u for snapshot in snapshots for u in snapshot.reports()])

    def _place(self, request: OrderRequest, legs: Sequence[OrderRequest]) -> list[OrderSnapshot]:
        if not legs:
            return [self._client.place(request)]
        assert isinstance(self._client, BracketClient)
        return self._client.place_bracket(request, legs)

    def lookup(self, client_order_id: str) -> OrderSnapshot | None:
        """One unretried query by client id, through its entry for a broker-held leg."""
        found = self._client.find(client_order_id)
        request = self._requests.get(client_order_id)
        client = self._client
        if found is None and request is not None and request.parent_id is not None:
            found = client.find_leg(request) if isinstance(client, BracketClient) else None
        return found

    def _settle(self) -> list[OrderUpdate]:
        """Ask about every order sent with an unknown outcome; adopt, resend once, or reject."""
        updates: list[OrderUpdate] = []
        for cid, pending in list(self._unsettled.items()):
            try:
                found = self._find(cid)
            except AuthFailedError:
                raise
            except BrokerError as error:
                log.warning("order %s still unknown: %s", cid, error)
                continue
            if found is not None:
                del self._unsettled[cid]
                legs = [self._find(leg.client_order_id) for leg in pending.legs]
                updates += self._admit(
                    [u for f in (found, *legs) if f is not None for u in f.reports()]
                )
            elif self._clock() - pending.since >= self._grace_s:
                del self._unsettled[cid]
                if pending.resends >= self._max_resends:
                    reason = f"the venue never received it after {pending.resends + 1} sends"
                    orders = (pending.request, *pending.legs)
                    updates += self._admit(
                        [OrderUpdate(o.client_order_id, Rejected(reason)) for o in orders]
                    )
                else:
                    again = _Unsettled(
                        pending.request, self._clock(), pending.resends + 1, pending.legs
                    )
                    updates += self._send(pending.request, again)
        return updates

    def _find(self, client_order_id: str) -> OrderSnapshot | None:
        lookup = self.rate_limits.watch(lambda: self.lookup(client_order_id))
        return read_with_retry(lookup, self._pacing, self._retry)

    def _track(self, request: OrderRequest) -> None:
        self._seen.setdefault(request.client_order_id, _Seen(request.quantity))
        self._requests.setdefault(request.client_order_id, request)

    def _admit(self, updates: Sequence[OrderUpdate]) -> list[OrderUpdate]:
        """Keep the reports the engine was not already given; see "One report once"."""
        fresh: list[OrderUpdate] = []
        for update in updates:
            seen = self._seen.get(update.client_order_id)
            if seen is None:
                log.info("report for unknown order %s dropped", update.client_order_id)
                continue
            event = update.event
            if seen.ended:
                continue
            if isinstance(event, Accepted):
                if seen.accepted or seen.trade_ids:
                    continue
                seen.accepted = True
            elif isinstance(event, Filled):
                if event.fill.trade_id in seen.trade_ids:
                    continue
                seen.trade_ids.add(event.fill.trade_id)
                seen.filled, status = after_fill(seen.quantity, seen.filled, event.fill.quantity)
                seen.ended = status is OrderStatus.FILLED
            else:
                seen.ended = True
            fresh.append(update)
        return fresh
