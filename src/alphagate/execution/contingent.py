"""Contingent orders at the simulated venue: brackets and one-cancels-other groups.

Two relations tie orders together, and this module holds both, so the venue
itself only deals with one order at a time:

- **Parent and child** (``parent_id``): a bracket's stop-loss and take-profit
  act only on what their entry has filled. A child may fill up to
  ``min(its quantity, entry's filled quantity)``, so a protective order is
  always sized to the position it protects, also after a partial entry
  (RELIABILITY BF-06). An entry's fill counts for its children on the same bar
  only if it happened at the open; after a fill inside the bar the path is
  unknown, so the children start on the next bar. A child whose entry ends
  with nothing filled is canceled, and one whose entry ends partly filled is
  canceled once it has covered that part.
- **OCO groups** (``oco_group_id``): members are tried together on each bar;
  when one fills, even in part, the others are canceled, and the group takes
  no new members. When several could fill on one bar, a fill at the open wins
  (it is known to come first); otherwise a stop wins over a limit. With an
  unknown path inside the bar, a bracket whose stop-loss and take-profit both
  lie in the bar's range is assumed to have hit the stop first: the adverse
  case, as in the triple-barrier labels.
"""

from __future__ import annotations

from collections.abc import Mapping

from alphagate.domain.order_state import (
    FILL_TOLERANCE,
    TERMINAL_STATUSES,
    Canceled,
    OrderEvent,
    OrderState,
    Submitted,
)
from alphagate.domain.orders import OrderRequest, OrderStatus, OrderType
from alphagate.execution.fill_models import FillDecision


class Ticket:
    """The venue's mutable record of one order: where it stands and what its rules track.

    The venue keeps the status and filled quantity its rules read, and the
    events it reported, rather than an :class:`OrderState` rebuilt at every
    event: the engine folds the same reports into its own state, and
    :meth:`state` folds them here when someone asks. Slotted: a venue holds
    one per order it was ever sent, and reads their fields on every bar.
    """

    __slots__ = (
        "capacity",
        "events",
        "filled_before_bar",
        "filled_qty",
        "fills",
        "last_fill_at_open",
        "last_fill_ts",
        "linked",
        "request",
        "session",
        "status",
        "submitted_at",
        "triggered",
        "venue_order_id",
        "wait_bars",
    )  # fmt: skip

    def __init__(
        self, request: OrderRequest, venue_order_id: str, submitted_at: int, wait_bars: int
    ) -> None:
        self.request = request
        # A bracket child or an OCO member: only these consult the links. An order
        # with no parent and no group may still be a parent; its children find it.
        self.linked = request.parent_id is not None or request.oco_group_id is not None
        self.venue_order_id = venue_order_id
        self.submitted_at = submitted_at  # ns since the epoch, UTC: compared with each bar's
        self.wait_bars = wait_bars  # latency bars still to pass
        self.status = OrderStatus.SUBMITTED
        self.filled_qty = 0.0
        self.events: list[OrderEvent] = []  # as reported, in order
        self.triggered = False  # its stop was reached on an earlier bar
        self.session: int | None = None  # UTC day (since the epoch) of its first fillable bar
        self.capacity = 0.0  # the most it may fill on the current bar
        self.fills = 0
        self.last_fill_ts: int | None = None  # ns since the epoch of its last fill's bar
        self.filled_before_bar = 0.0  # filled quantity before the bar of its last fill
        self.last_fill_at_open = False

    @property
    def client_order_id(self) -> str:
        """The order's client id."""
        return self.request.client_order_id

    @property
    def is_terminal(self) -> bool:
        """True once the order has ended (filled, canceled, rejected or expired)."""
        return self.status in TERMINAL_STATUSES

    @property
    def remaining_qty(self) -> float:
        """Quantity still to be filled."""
        return max(self.request.quantity - self.filled_qty, 0.0)

    def state(self) -> OrderState:
        """The order's state as the venue reported it: its events folded over the submission."""
        state = OrderState.new(self.request).apply(Submitted())
        for event in self.events:
            state = state.apply(event)
        return state

    def record_fill(self, ts: int, at_open: bool) -> None:
        """Note a fill about to be applied on the bar at ``ts`` ns (call before applying it)."""
        if self.last_fill_ts != ts:
            self.filled_before_bar = self.filled_qty
            self.last_fill_ts = ts
        self.last_fill_at_open = at_open

    def protectable_qty(self, ts: int) -> float:
        """What this order has filled that its children may act on during the bar at ``ts`` ns."""
        if self.last_fill_ts == ts and not self.last_fill_at_open:
            return self.filled_before_bar
        return self.filled_qty


def _fills_first(candidate: tuple[Ticket, FillDecision]) -> tuple[bool, bool]:
    ticket, decision = candidate
    is_stop = ticket.request.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
    return (not decision.at_open, not is_stop)


class ContingentOrders:
    """The parent/child and OCO relations between a venue's orders, and what they imply.

    It never changes an order: it answers which orders may fill how much,
    which fill wins, and which orders must end, as ``(ticket, event)`` pairs
    the venue applies.

    Parameters
    ----------
    tickets
        The venue's tickets by client id, read as they change.
    """

    def __init__(self, tickets: Mapping[str, Ticket]) -> None:
        self._tickets = tickets
        self._children: dict[str, list[str]] = {}
        self._groups: dict[str, list[str]] = {}
        self._spent_groups: set[str] = set()

    def refusal(self, request: OrderRequest) -> str | None:
        """Return why the venue must reject ``request``'s links, or ``None`` when they are sound."""
        if request.oco_group_id in self._spent_groups:
            return f"OCO group {request.oco_group_id!r} already had a fill"
        if request.parent_id is None:
            return None
        parent = self._tickets.get(request.parent_id)
        if parent is None:
            return f"unknown parent order {request.parent_id!r}"
        if parent.request.symbol != request.symbol:
            return f"parent order {request.parent_id!r} is for {parent.request.symbol!r}"
        if parent.is_terminal and parent.filled_qty == 0:
            return f"parent order {request.parent_id!r} ended {parent.status} unfilled"
        return None

    def register(self, ticket: Ticket) -> None:
        """Record an accepted order's links."""
        request = ticket.request
        if request.parent_id is not None:
            self._children.setdefault(request.parent_id, []).append(ticket.client_order_id)
        if request.oco_group_id is not None:
            self._groups.setdefault(request.oco_group_id, []).append(ticket.client_order_id)

    def tried_with(self, ticket: Ticket) -> list[Ticket]:
        """Return the working orders tried together with ``ticket`` on its symbol's bar."""
        group = ticket.request.oco_group_id
        if group is None:
            return [ticket]
        members = (self._tickets[cid] for cid in self._groups[group])
        symbol = ticket.request.symbol
        return [t for t in members if t.request.symbol == symbol and not t.is_terminal]

    def capacity(self, ticket: Ticket, ts: int) -> float:
        """The most ``ticket`` may fill on the bar at ``ts`` ns (0 while its entry has not)."""
        parent_id = ticket.request.parent_id
        if parent_id is None:
            return ticket.remaining_qty
        entry = self._tickets[parent_id].protectable_qty(ts)
        covered = min(ticket.request.quantity, entry) - ticket.filled_qty
        return covered if covered > FILL_TOLERANCE * ticket.request.quantity else 0.0

    @staticmethod
    def winner(candidates: list[tuple[Ticket, FillDecision]]) -> tuple[Ticket, FillDecision]:
        """Return the fill that happens among OCO siblings that could all fill on one bar."""
        return min(candidates, key=_fills_first)

    def after_fill(self, ticket: Ticket) -> list[tuple[Ticket, OrderEvent]]:
        """Return what a fill of ``ticket`` ends: its OCO siblings, or itself once it is covered."""
        ends: list[tuple[Ticket, OrderEvent]] = []
        group = ticket.request.oco_group_id
        if group is not None:
            self._spent_groups.add(group)
            reason = f"OCO group {group!r}: {ticket.client_order_id!r} filled"
            for cid in self._groups[group]:
                sibling = self._tickets[cid]
                if sibling is not ticket and not sibling.is_terminal:
                    ends.append((sibling, Canceled(reason)))
        if ticket.request.parent_id is not None:
            ends += self._settle(ticket, self._tickets[ticket.request.parent_id])
        return ends

    def after_end(self, ticket: Ticket) -> list[tuple[Ticket, OrderEvent]]:
        """Return the children that ``ticket`` ending leaves with nothing more to protect."""
        ends: list[tuple[Ticket, OrderEvent]] = []
        for cid in self._children.get(ticket.client_order_id, ()):
            ends += self._settle(self._tickets[cid], ticket)
        return ends

    @staticmethod
    def _settle(child: Ticket, parent: Ticket) -> list[tuple[Ticket, OrderEvent]]:
        if child.is_terminal or not parent.is_terminal:
            return []
        entry = parent.filled_qty
        if entry == 0:
            return [(child, Canceled(f"entry {parent.client_order_id!r} ended unfilled"))]
        if child.filled_qty >= min(child.request.quantity, entry) * (1 - FILL_TOLERANCE):
            reason = f"entry {parent.client_order_id!r} filled only {entry:g}"
            return [(child, Canceled(reason))]
        return []
