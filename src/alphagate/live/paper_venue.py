"""The paper venue: the simulated venue with books that outlive the engine's process.

A broker keeps its orders when the engine crashes; a paper venue must too,
or recovery could not be tested against it. So every instruction the venue
takes (a submission, a cancel, the bars it is shown) is appended to its own
ledger, a :class:`~alphagate.ports.Journal` separate from the engine's,
*before* the venue acts on it, and a new ``PaperVenue`` on the same ledger
first replays it into a fresh :class:`~alphagate.execution.venue.SimulatedVenue`.
The simulated venue is deterministic, so the rebuilt books are the books the
crashed process had, including orders the engine never heard back about
(RELIABILITY CR-02) and fills it never journaled (CR-03).

Bars are idempotent per symbol: a bar at or before the last one the venue
saw for its symbol changes nothing, so a resumed cycle may show the venue its
bars again.
"""

from __future__ import annotations

from collections.abc import Sequence

from alphagate.domain.bar import Bar
from alphagate.domain.order_state import OrderState, OrderUpdate
from alphagate.domain.orders import OrderRequest
from alphagate.execution.venue import DuplicateOrderError, SimulatedVenue
from alphagate.live.records import bars_of, bars_record, request_of, request_record
from alphagate.ports import Journal, VenueAccount, VenueCapabilities


class PaperVenue:
    """A simulated venue whose every instruction is journaled first; see the module docstring.

    Parameters
    ----------
    venue
        A fresh simulated venue (its fill and commission models are the paper account's).
    ledger
        The venue's own journal; replayed into ``venue`` here.
    """

    def __init__(self, venue: SimulatedVenue, ledger: Journal) -> None:
        self._venue, self._ledger = venue, ledger
        self._last_bar: dict[str, int] = {}
        for _, kind, record in ledger.replay():
            if kind == "submit":
                venue.submit(request_of(record["request"]), record["now"])
            elif kind == "cancel":
                venue.cancel(str(record["client_order_id"]))
            elif kind == "bars":
                self._show(*bars_of(record))

    @property
    def capabilities(self) -> VenueCapabilities:
        """As the simulated venue's."""
        return self._venue.capabilities

    def submit(self, request: OrderRequest, now: int) -> list[OrderUpdate]:
        """Take an order (journaled first); a client id already held is refused, as at a broker."""
        cid = request.client_order_id
        if self._venue.reports(cid) is not None:
            raise DuplicateOrderError(f"order {cid!r} was already submitted to this venue")
        self._ledger.append("submit", {"request": request_record(request), "now": now})
        return self._venue.submit(request, now)

    def cancel(self, client_order_id: str) -> list[OrderUpdate]:
        """Cancel a working order (journaled first)."""
        self._ledger.append("cancel", {"client_order_id": client_order_id})
        return self._venue.cancel(client_order_id)

    def on_bars(self, ts: int, bars: Sequence[Bar]) -> list[OrderUpdate]:
        """Show the venue the bars closing at ``ts`` it has not seen yet; return what happened."""
        fresh = [b for b in bars if b.ts > self._last_bar.get(b.symbol, -1)]
        if not fresh:
            return []
        self._ledger.append("bars", bars_record(ts, fresh))
        return self._show(ts, fresh)

    def _show(self, ts: int, bars: Sequence[Bar]) -> list[OrderUpdate]:
        updates: list[OrderUpdate] = []
        for bar in bars:
            self._last_bar[bar.symbol] = bar.ts
            updates += self._venue.on_bar(bar)
        return updates

    def reports(
        self, client_order_id: str, request: OrderRequest | None = None
    ) -> list[OrderUpdate] | None:
        """Every report made for the order, or ``None`` when it never arrived."""
        return self._venue.reports(client_order_id)

    def open_orders(self) -> list[OrderState]:
        """The working orders."""
        return self._venue.open_orders()

    def account(self) -> VenueAccount:
        """Cash and positions from the venue's own fills."""
        return self._venue.account()
