"""A venue that does exactly what a test says: the simplest thing that speaks ``ports.Venue``.

It acknowledges every order at once, fills only when the test calls
:meth:`ScriptedVenue.fill` (whole or in parts), cancels on request, and
keeps its own account from its fills, so a test can drive the kernel the way
a broker would and then reconcile. It refuses a second order with a client id
it has seen, as every venue must.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from alphagate.domain.order_state import (
    Accepted,
    Canceled,
    Filled,
    OrderState,
    OrderUpdate,
    Submitted,
)
from alphagate.domain.orders import OrderRequest, Side
from alphagate.ports import VenueAccount, VenueCapabilities
from alphagate.testing.orders import as_ns, fill_of

_CAPABILITIES = VenueCapabilities(brackets=False, fractional=True, shorting=True)


@dataclass
class ScriptedVenue:
    """See the module docstring; ``sent`` lists client ids in the order they arrived."""

    cash: float = 0.0
    capabilities: VenueCapabilities = field(default=_CAPABILITIES)
    sent: list[str] = field(default_factory=list)
    requests: dict[str, OrderRequest] = field(default_factory=dict)
    _working: dict[str, OrderState] = field(default_factory=dict)
    _held: dict[str, float] = field(default_factory=dict)
    _reports: dict[str, list[OrderUpdate]] = field(default_factory=dict)

    def submit(self, request: OrderRequest, now: int) -> list[OrderUpdate]:
        """Acknowledge ``request``; a client id seen before is refused with ``ValueError``."""
        cid = request.client_order_id
        if cid in self.requests:
            raise ValueError(f"order {cid!r} was already submitted to this venue")
        self.requests[cid] = request
        self.sent.append(cid)
        accepted = Accepted(f"scripted-{len(self.sent)}")
        self._working[cid] = OrderState.new(request).apply(Submitted()).apply(accepted)
        return self._report(OrderUpdate(cid, accepted))

    def cancel(self, client_order_id: str) -> list[OrderUpdate]:
        """Cancel a working order; one that has ended (or never existed) reports nothing."""
        if self._working.pop(client_order_id, None) is None:
            return []
        return self._report(OrderUpdate(client_order_id, Canceled("canceled on request")))

    def open_orders(self) -> list[OrderState]:
        """The orders not yet filled or canceled, in the order they arrived."""
        return list(self._working.values())

    def reports(
        self, client_order_id: str, request: OrderRequest | None = None
    ) -> list[OrderUpdate] | None:
        """Every report made for the order, or ``None`` when it never arrived."""
        reports = self._reports.get(client_order_id)
        return None if reports is None else list(reports)

    def account(self) -> VenueAccount:
        """Cash and positions as this venue's fills left them."""
        return VenueAccount(self.cash, {s: q for s, q in self._held.items() if q != 0.0})

    def fill(
        self, client_order_id: str, quantity: float, price: float, ts: int | pd.Timestamp
    ) -> OrderUpdate:
        """Fill ``quantity`` of a working order at ``price`` at ``ts`` (ns or a Timestamp)."""
        state = self._working[client_order_id]
        at = as_ns(ts)
        fill = fill_of(state.request, quantity, price, ts=at, trade_id=f"fill-{at}-{price}")
        state = state.apply(Filled(fill))
        if state.is_terminal:
            del self._working[client_order_id]
        else:
            self._working[client_order_id] = state
        signed = quantity if fill.side is Side.BUY else -quantity
        self._held[fill.symbol] = self._held.get(fill.symbol, 0.0) + signed
        self.cash -= signed * price
        return self._report(OrderUpdate(client_order_id, Filled(fill)))[0]

    def _report(self, update: OrderUpdate) -> list[OrderUpdate]:
        self._reports.setdefault(update.client_order_id, []).append(update)
        return [update]
