"""The simulated venue: an exchange for backtests and paper runs, fed bar by bar.

The engine talks to it as it would to a broker: it marks an order
``SUBMITTED`` itself when it hands it to :meth:`SimulatedVenue.submit` (as it
would after journaling the intent and sending it), and folds the reports that
come back into its own :class:`~alphagate.domain.order_state.OrderState`: each
report an :class:`OrderUpdate` (client order id, order event), starting with
the venue's ``Accepted`` or ``Rejected``, as a broker acknowledges. The venue
keeps its own books of every order (status, filled quantity and the events it
reported) and checks each move against the same transition table, so a move
the lifecycle forbids raises here too; :meth:`SimulatedVenue.order` folds the
events into an ``OrderState`` when asked.

Rules, in the order :meth:`~SimulatedVenue.on_bar` applies them to each
working order of the bar's symbol, in submission order:

1. **After submission.** Only bars stamped after ``now`` at submission count;
   the engine submits after a bar closes, so a market order fills on the next
   bar the venue sees.
2. **Latency.** The order then lets ``latency_bars`` bars of its symbol pass
   before it can fill (latency 0: the next bar; 1: the one after).
3. **Brackets and OCO** (:mod:`alphagate.execution.contingent`): a child fills
   only what its entry has filled; OCO siblings are tried together, the
   adverse one (the stop) first when the bar cannot tell, and one fill cancels
   the others.
4. **Time in force.** An order's session is the UTC date of the first bar on
   which it could fill. A DAY order expires, unfilled part only, on the first
   later bar whose date differs (the start of the next session); so an order
   sent after the close works through the next session, as at a broker, and
   latency does not eat into its session. IOC fills what it can on its first
   such bar and cancels the rest. GTC stays until filled or canceled.
5. **Price and fees** come from the :class:`~alphagate.execution.fill_models.FillModel`
   and the :class:`~alphagate.execution.commission.CommissionModel`.

Fills are stamped with the bar's ``ts`` as their ``ts_event`` (its close:
the first moment the venue can report them), in ns since the epoch like
every time the venue handles. Venue and trade ids are counters, so two runs with
the same inputs give identical reports (RELIABILITY I5).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from types import MappingProxyType
from typing import Final

from alphagate.domain.bar import Bar
from alphagate.domain.instants import NS_PER_DAY, check_ns
from alphagate.domain.order_state import (
    TERMINAL_STATUSES,
    Accepted,
    Canceled,
    Expired,
    Filled,
    OrderEvent,
    OrderState,
    OrderUpdate,
    Rejected,
    after_fill,
    check_transition,
)
from alphagate.domain.orders import Fill, OrderRequest, OrderStatus, Side, TimeInForce
from alphagate.execution.commission import CommissionModel, NoCommission
from alphagate.execution.contingent import ContingentOrders, Ticket
from alphagate.execution.fill_models import (
    FillDecision,
    FillModel,
    WorkingOrder,
    stop_trigger_price,
)
from alphagate.execution.market_history import NO_HISTORY, BarHistory, MarketState
from alphagate.ports import VenueAccount, VenueCapabilities

# What each status event moves an order to; a fill's move depends on its quantity.
_STATUS_AFTER: Final[dict[type, OrderStatus]] = {
    Accepted: OrderStatus.ACCEPTED,
    Canceled: OrderStatus.CANCELED,
    Rejected: OrderStatus.REJECTED,
    Expired: OrderStatus.EXPIRED,
}


_CAPABILITIES: Final = VenueCapabilities(brackets=True, fractional=True, shorting=True)


class UnknownOrderError(LookupError):
    """The venue holds no order with the client id asked for."""


class DuplicateOrderError(ValueError):
    """A second order reuses a client id the venue already holds (RELIABILITY I1)."""


class SimulatedVenue:
    """Fills orders against bars by a fill model; see the module docstring for the rules.

    Parameters
    ----------
    fill_model
        Prices each fill (:class:`~alphagate.execution.fill_models.NextOpenFill`, ...).
    commission
        Fees per fill; none by default.
    latency_bars
        Bars of its symbol an order lets pass, after submission, before it may fill.
    symbols
        The tradable universe; orders for other symbols are rejected. ``None``
        accepts any symbol.
    starting_cash
        The account's cash before the first fill, for :meth:`account`.
    """

    def __init__(
        self,
        fill_model: FillModel,
        commission: CommissionModel | None = None,
        latency_bars: int = 0,
        symbols: Iterable[str] | None = None,
        starting_cash: float = 0.0,
    ) -> None:
        if latency_bars < 0:
            raise ValueError(f"latency_bars must be >= 0, got {latency_bars}")
        self._model = fill_model
        self._commission = commission if commission is not None else NoCommission()
        self._latency = latency_bars
        self._symbols = None if symbols is None else frozenset(symbols)
        self._history = BarHistory(fill_model.history_bars) if fill_model.history_bars else None
        self._orders: dict[str, Ticket] = {}  # every order ever submitted, by client id
        self._working: dict[str, dict[str, Ticket]] = {}  # symbol -> id -> ticket, in order
        self._links = ContingentOrders(self._orders)
        # The venue's own books, kept from its fills alone: what reconciliation
        # compares the engine's portfolio with (``account``).
        self._cash = starting_cash
        self._positions: dict[str, float] = {}

    def order(self, client_order_id: str) -> OrderState:
        """Return the venue's state of one order.

        Raises
        ------
        UnknownOrderError
            When no order with that id was submitted here.
        """
        return self._ticket(client_order_id, "query").state()

    def reports(
        self, client_order_id: str, request: OrderRequest | None = None
    ) -> list[OrderUpdate] | None:
        """Every report made for one order, in order; ``None`` when it was never submitted here."""
        ticket = self._orders.get(client_order_id)
        if ticket is None:
            return None
        return [OrderUpdate(client_order_id, event) for event in ticket.events]

    @property
    def capabilities(self) -> VenueCapabilities:
        """Brackets and OCO are held here; any quantity and shorts are accepted."""
        return _CAPABILITIES

    def open_orders(self) -> list[OrderState]:
        """Return every working order, in submission order within each symbol."""
        return [t.state() for book in self._working.values() for t in book.values()]

    def account(self) -> VenueAccount:
        """Cash and positions as this venue's own fills left them, from ``starting_cash``."""
        held = {s: q for s, q in self._positions.items() if q != 0.0}
        return VenueAccount(cash=self._cash, positions=MappingProxyType(held))

    def submit(self, request: OrderRequest, now: int) -> list[OrderUpdate]:
        """Take an order sent at ``now`` (ns since the epoch, UTC); report it accepted or rejected.

        Prices and quantities were checked when the request was built; the
        venue rejects an unknown symbol and broken bracket or OCO links.

        Raises
        ------
        DuplicateOrderError
            When the client id is already held: a replayed decision must not
            become a second order, and the first order is left as it was.
        """
        cid = request.client_order_id
        if cid in self._orders:
            raise DuplicateOrderError(f"order {cid!r} was already submitted to this venue")
        now = check_ns(now, f"order {cid!r}: now")
        venue_id = f"sim-{len(self._orders) + 1}"
        ticket = Ticket(request, venue_id, now, self._latency)
        self._orders[cid] = ticket
        updates: list[OrderUpdate] = []
        reason = self._links.refusal(request) if ticket.linked else None
        if self._symbols is not None and request.symbol not in self._symbols:
            reason = f"unknown symbol {request.symbol!r}"
        if reason is not None:
            self._apply(ticket, Rejected(reason), updates)
            return updates
        self._apply(ticket, Accepted(venue_id), updates)
        self._working.setdefault(request.symbol, {})[cid] = ticket
        if ticket.linked:
            self._links.register(ticket)
        return updates

    def cancel(self, client_order_id: str) -> list[OrderUpdate]:
        """Cancel a working order; an order that has already ended reports nothing.

        Raises
        ------
        UnknownOrderError
            When no order with that id was submitted here.
        """
        ticket = self._ticket(client_order_id, "cancel")
        updates: list[OrderUpdate] = []
        self._end(ticket, Canceled("canceled on request"), updates)
        return updates

    def on_bar(self, bar: Bar) -> list[OrderUpdate]:
        """Try every working order of ``bar.symbol`` against ``bar``; return what happened."""
        book = self._working.get(bar.symbol)
        if book is None:  # the common case in a backtest: nothing working, nothing to do
            if self._history is not None:
                self._history.observe(bar)
            return []
        updates: list[OrderUpdate] = []
        market = NO_HISTORY if self._history is None else self._history.state(bar.symbol)
        now = bar.ts
        session = now // NS_PER_DAY  # the UTC day, as days since the epoch
        tried: set[str] | None = None  # OCO members already tried with a sibling
        for ticket in list(book.values()):
            if ticket.status in TERMINAL_STATUSES:
                continue
            request = ticket.request
            if request.oco_group_id is None:  # the common case: an order on its own
                if not self._is_live(ticket, now, session, updates):
                    continue
                live = [ticket]
            elif tried is not None and request.client_order_id in tried:
                continue
            else:
                together = self._links.tried_with(ticket)
                tried = tried if tried is not None else set()
                tried.update(t.client_order_id for t in together)
                live = [t for t in together if self._is_live(t, now, session, updates)]
                if not live:
                    continue
            self._fill_first(live, bar, market, updates)
            for t in live:
                if t.request.time_in_force is TimeInForce.IOC:
                    self._end(t, Canceled("IOC: unfilled remainder canceled"), updates)
        if self._history is not None:  # after the fills: they must not see their own bar
            self._history.observe(bar)
        return updates

    def _is_live(self, ticket: Ticket, now: int, session: int, updates: list[OrderUpdate]) -> bool:
        """Apply rules 1-4 to one order for the bar at ``now`` ns; True when it may fill on it."""
        if now <= ticket.submitted_at:
            return False
        if ticket.wait_bars > 0:
            ticket.wait_bars -= 1
            return False
        ticket.capacity = (
            self._links.capacity(ticket, now) if ticket.linked else ticket.remaining_qty
        )
        if ticket.capacity == 0:
            return False  # a child waiting for its entry to fill (more)
        if ticket.session is None:
            ticket.session = session
        elif ticket.request.time_in_force is TimeInForce.DAY and session != ticket.session:
            ended = _utc_date(ticket.session)
            self._end(ticket, Expired(f"DAY order: session {ended} ended"), updates)
            return False
        return True

    def _fill_first(
        self, live: list[Ticket], bar: Bar, market: MarketState, updates: list[OrderUpdate]
    ) -> None:
        """Fill the order among ``live`` (a lone order or OCO siblings) that fills first."""
        model = self._model
        candidates: list[tuple[Ticket, FillDecision]] = []
        for ticket in live:
            request = ticket.request
            decision = model.fill(
                WorkingOrder(request, ticket.capacity, ticket.triggered), bar, market
            )
            if decision is not None:
                candidates.append((ticket, decision))
            stop = request.stop_price
            if stop is not None and not ticket.triggered:
                ticket.triggered = stop_trigger_price(request.side, stop, bar) is not None
        if not candidates:
            return
        ticket, decision = candidates[0] if len(candidates) == 1 else self._links.winner(candidates)
        request = ticket.request
        quantity, price, liquidity = decision.quantity, decision.price, decision.liquidity
        ticket.fills += 1
        fill = Fill(
            client_order_id=request.client_order_id,
            trade_id=f"{ticket.venue_order_id}-{ticket.fills}",
            symbol=request.symbol,
            side=request.side,
            quantity=quantity,
            price=price,
            ts_event=bar.ts,
            fee=self._commission.fee(quantity, price, liquidity),
            reference_price=decision.reference_price,
            slippage=decision.slippage,
            impact=decision.impact,
            liquidity=liquidity,
        )
        ticket.record_fill(bar.ts, decision.at_open)
        self._book_fill(ticket, fill, updates)
        if ticket.status is OrderStatus.FILLED:
            self._retire(ticket, updates)
        if ticket.linked:
            for other, event in self._links.after_fill(ticket):
                self._end(other, event, updates)

    def _ticket(self, client_order_id: str, action: str) -> Ticket:
        ticket = self._orders.get(client_order_id)
        if ticket is None:
            raise UnknownOrderError(
                f"cannot {action} order {client_order_id!r}: no order with that client id "
                "was submitted to this venue"
            )
        return ticket

    def _book_fill(self, ticket: Ticket, fill: Fill, updates: list[OrderUpdate]) -> None:
        """Move ``ticket`` by one fill (refusing a move the lifecycle forbids) and report it."""
        filled, status = after_fill(ticket.request.quantity, ticket.filled_qty, fill.quantity)
        check_transition(ticket.request.client_order_id, ticket.status, status)
        ticket.filled_qty, ticket.status = filled, status
        signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
        symbol = fill.symbol
        self._positions[symbol] = self._positions.get(symbol, 0.0) + signed
        self._cash -= signed * fill.price + fill.fee
        event = Filled(fill)
        ticket.events.append(event)
        updates.append(OrderUpdate(fill.client_order_id, event))

    def _apply(self, ticket: Ticket, event: OrderEvent, updates: list[OrderUpdate]) -> None:
        """Move ``ticket`` by a status event (refusing a move the lifecycle forbids); report it."""
        status = _STATUS_AFTER[type(event)]
        check_transition(ticket.client_order_id, ticket.status, status)
        ticket.status = status
        ticket.events.append(event)
        updates.append(OrderUpdate(ticket.client_order_id, event))

    def _end(self, ticket: Ticket, event: OrderEvent, updates: list[OrderUpdate]) -> None:
        """End a working order with ``event``; nothing happens to one that has already ended."""
        if not ticket.is_terminal:
            self._apply(ticket, event, updates)
            self._retire(ticket, updates)

    def _retire(self, ticket: Ticket, updates: list[OrderUpdate]) -> None:
        """Drop a finished order from the working book and end what depended on it."""
        symbol = ticket.request.symbol
        book = self._working[symbol]
        del book[ticket.client_order_id]
        if not book:
            del self._working[symbol]
        for other, event in self._links.after_end(ticket):
            self._end(other, event, updates)


_EPOCH_DAY: Final = dt.date(1970, 1, 1).toordinal()


def _utc_date(day: int) -> dt.date:
    """The UTC calendar date of ``day`` days since the epoch.

    Sessions are compared as day numbers (``ts // NS_PER_DAY``): building
    a date for every bar with an order working cost more than the comparison.
    """
    return dt.date.fromordinal(_EPOCH_DAY + day)
