"""An order's progress as an immutable snapshot, changed only by events.

``OrderState.apply(event)`` returns a new snapshot and never edits the old
one. That is what lets the engine journal an event *before* acting on it and
rebuild any order after a crash by folding the journaled events over
:meth:`OrderState.new`: the same events always give the same state.

The legal status moves are one explicit table, :data:`TRANSITIONS`, rather
than conditions spread over methods, so the whole lifecycle can be read (and
tested, pair by pair) in one place. An event that would make an illegal move
raises :class:`IllegalTransition`; it is never quietly dropped, since an
event the engine did not expect means its picture of the venue is wrong and
reconciliation has to look.

Duplicates are the exception, and only for fills: a fill whose ``trade_id``
the order has already seen is ignored (RELIABILITY invariant I3), because
venues and reconnecting streams do re-send fills, and each trade id
identifies one execution. Status events carry no such id, so telling a
duplicate status report from a wrong one is the order manager's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, TypeAlias, assert_never

from alphagate.domain.orders import Fill, OrderRequest, OrderStatus

FILL_TOLERANCE: Final = 1e-9
"""Relative slack when summing fill quantities: ``0.1 + 0.2`` filled against an
order of ``0.3`` is a complete fill, not an underfill by 5e-17 nor an overfill."""

_S = OrderStatus
TRANSITIONS: Final[Mapping[OrderStatus, frozenset[OrderStatus]]] = MappingProxyType(
    {
        # Not sent yet: it may be sent, refused by our own pre-trade checks, or
        # withdrawn (for instance closed as never-sent after a crash).
        _S.NEW: frozenset({_S.SUBMITTED, _S.REJECTED, _S.CANCELED}),
        # Sent: the venue's ack races its fills and cancels (an IOC order can be
        # filled or canceled before the ack is read), so any venue outcome may come first.
        _S.SUBMITTED: frozenset(
            {_S.ACCEPTED, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.REJECTED, _S.EXPIRED}
        ),
        _S.ACCEPTED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.EXPIRED}),
        # A further partial fill keeps the status; the fill quantity moves on.
        _S.PARTIALLY_FILLED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.EXPIRED}),
        # Terminal: nothing more may happen to the order.
        _S.FILLED: frozenset(),
        _S.CANCELED: frozenset(),
        _S.REJECTED: frozenset(),
        _S.EXPIRED: frozenset(),
    }
)
"""Every legal status move. A status missing from a set is an illegal move from the key."""

TERMINAL_STATUSES: Final = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)


class IllegalTransition(ValueError):  # noqa: N818 - the name the design uses for a broken rule
    """An event asked an order to make a status move :data:`TRANSITIONS` forbids."""

    def __init__(self, client_order_id: str, from_status: OrderStatus, to_status: OrderStatus):
        self.client_order_id = client_order_id
        self.from_status = from_status
        self.to_status = to_status
        super().__init__(
            f"order {client_order_id!r}: illegal transition {from_status.name} -> {to_status.name}"
        )


class OverfillError(ValueError):
    """A fill would take an order's filled quantity past its quantity."""


def check_transition(
    client_order_id: str, from_status: OrderStatus, to_status: OrderStatus
) -> None:
    """Raise :class:`IllegalTransition` unless the table allows ``from_status -> to_status``."""
    if to_status not in TRANSITIONS[from_status]:
        raise IllegalTransition(client_order_id, from_status, to_status)


def after_fill(quantity: float, filled: float, fill_quantity: float) -> tuple[float, OrderStatus]:
    """The filled quantity and status of an order of ``quantity`` after one more fill.

    Within :data:`FILL_TOLERANCE` of the whole, the order is complete and its
    filled quantity is exactly ``quantity``. Shared by :meth:`OrderState.apply`
    and the simulated venue's own books, so both call the same fill complete.
    """
    total = filled + fill_quantity
    if total >= quantity - FILL_TOLERANCE * quantity:
        return quantity, OrderStatus.FILLED
    return total, OrderStatus.PARTIALLY_FILLED


@dataclass(frozen=True, slots=True)
class Submitted:
    """The order was handed to the venue (after its intent was journaled)."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """The venue acknowledged the order and it is working.

    ``venue_order_id`` is the venue's own id, kept so reconciliation can match
    the venue's order list with ours.
    """

    venue_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class Filled:
    """The venue executed some or all of the order."""

    fill: Fill


@dataclass(frozen=True, slots=True)
class _Ended:
    """An event that ends an order, with the reason why."""

    reason: str


@dataclass(frozen=True, slots=True)
class Canceled(_Ended):
    """The order stopped working before it was filled in full, by request or by the venue."""


@dataclass(frozen=True, slots=True)
class Rejected(_Ended):
    """The venue, or our own pre-trade checks, refused the order."""


@dataclass(frozen=True, slots=True)
class Expired(_Ended):
    """The order's time in force ran out."""

    reason: str = "time in force elapsed"


OrderEvent: TypeAlias = Submitted | Accepted | Filled | Canceled | Rejected | Expired


@dataclass(frozen=True, slots=True)
class OrderState:
    """One order's request and how far it has got.

    Build it with :meth:`new`; change it only with :meth:`apply`, which builds
    the next state field by field (``dataclasses.replace`` would look the
    fields up again at every event of every order). Those two are the only
    ways in, and each keeps the invariants below (``apply`` refuses an
    overfill before it builds anything), so a state is not re-checked on
    construction: every order is rebuilt at each of its events. Immutable,
    equal by value.

    Attributes
    ----------
    filled_qty
        Sum of the distinct fills applied; never decreases, never exceeds the
        request's quantity.
    avg_fill_price
        Quantity-weighted mean price of those fills; ``None`` exactly while
        nothing is filled.
    reason
        Why the order ended, for canceled, rejected and expired orders.
    trade_ids
        Every fill's ``trade_id`` applied so far, in order, so a re-sent fill
        is recognised. A tuple: an order has a handful of fills, and a
        one-element tuple takes a fifth of a one-element frozenset's memory.
    """

    request: OrderRequest
    status: OrderStatus = OrderStatus.NEW
    filled_qty: float = 0.0
    avg_fill_price: float | None = None
    reason: str | None = None
    venue_order_id: str | None = None
    trade_ids: tuple[str, ...] = ()

    @classmethod
    def new(cls, request: OrderRequest) -> OrderState:
        """The state of an order that exists only on our side: ``NEW``, nothing filled."""
        return cls(request=request)

    @classmethod
    def sent(cls, request: OrderRequest) -> OrderState:
        """The state of an order just handed to a venue: ``new(request).apply(Submitted())``.

        Built at once: ``NEW -> SUBMITTED`` is always legal, and an engine sends
        every order it makes, so the ``NEW`` state would only be thrown away.
        """
        return cls(request, OrderStatus.SUBMITTED)

    @property
    def client_order_id(self) -> str:
        """The order's id, from its request."""
        return self.request.client_order_id

    @property
    def remaining_qty(self) -> float:
        """Quantity still to be filled (zero once the order is filled)."""
        return max(self.request.quantity - self.filled_qty, 0.0)

    @property
    def is_terminal(self) -> bool:
        """True when no further event may change the order."""
        return self.status in TERMINAL_STATUSES

    def apply(self, event: OrderEvent) -> OrderState:
        """Return the state after ``event``; ``self`` is left as it was.

        Raises
        ------
        IllegalTransition
            When the event asks for a status move :data:`TRANSITIONS` forbids.
        OverfillError
            When a fill would take ``filled_qty`` past the order's quantity.
        ValueError
            When a fill belongs to another order, symbol or side.
        """
        match event:
            case Filled(fill=fill):
                return self._apply_fill(fill)
            case Submitted():
                return self._move(OrderStatus.SUBMITTED)
            case Accepted(venue_order_id=venue_order_id):
                check_transition(self.client_order_id, self.status, OrderStatus.ACCEPTED)
                return OrderState(
                    self.request, OrderStatus.ACCEPTED, self.filled_qty, self.avg_fill_price,
                    self.reason, venue_order_id or self.venue_order_id, self.trade_ids,
                )  # fmt: skip
            case Canceled(reason=reason):
                return self._move(OrderStatus.CANCELED, reason)
            case Rejected(reason=reason):
                return self._move(OrderStatus.REJECTED, reason)
            case Expired(reason=reason):
                return self._move(OrderStatus.EXPIRED, reason)
            case _:
                assert_never(event)

    def _move(self, target: OrderStatus, reason: str | None = None) -> OrderState:
        check_transition(self.client_order_id, self.status, target)
        return OrderState(
            self.request, target, self.filled_qty, self.avg_fill_price,
            reason if reason is not None else self.reason, self.venue_order_id, self.trade_ids,
        )  # fmt: skip

    def _apply_fill(self, fill: Fill) -> OrderState:
        if fill.trade_id in self.trade_ids:
            return self
        request = self.request
        if (fill.client_order_id, fill.symbol, fill.side) != (
            request.client_order_id,
            request.symbol,
            request.side,
        ):
            raise ValueError(
                f"order {request.client_order_id!r} ({request.side} {request.symbol}): "
                f"fill {fill.trade_id!r} is for order {fill.client_order_id!r} "
                f"({fill.side} {fill.symbol})"
            )
        total = self.filled_qty + fill.quantity
        filled, target = after_fill(request.quantity, self.filled_qty, fill.quantity)
        # The status check comes first so a fill on a finished order is reported as
        # the lifecycle error it is, not as an arithmetic one.
        check_transition(request.client_order_id, self.status, target)
        if total > request.quantity + FILL_TOLERANCE * request.quantity:
            raise OverfillError(
                f"order {request.client_order_id!r}: fill {fill.trade_id!r} of {fill.quantity} "
                f"would take filled quantity to {total}, past the order's {request.quantity}"
            )
        previous_price = self.avg_fill_price if self.avg_fill_price is not None else 0.0
        average = (previous_price * self.filled_qty + fill.price * fill.quantity) / total
        return OrderState(
            request, target, filled, average, self.reason, self.venue_order_id,
            (*self.trade_ids, fill.trade_id),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """One event a venue reports for one order."""

    client_order_id: str
    event: OrderEvent
