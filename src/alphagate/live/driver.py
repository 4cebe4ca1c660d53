"""The live driver's cycle: journal, then act, for every event in and every command out.

For each timestamp whose bars have closed, the driver does what the
backtest driver (:mod:`alphagate.backtest.driver`) does for the same step, in
the same order, so the same bars give the same orders, fills and equity;
the difference is that every input is journaled before the kernel sees it
and every command before it leaves:

1. ``bars``: the bars are journaled, stored in the kernel's market data,
   and, when targets wait for an open, the kernel sizes them at these opens
   (``on_open``);
2. the venue is shown the bars (when orders are working or its fill model
   keeps a history) and each report it makes is journaled, then folded in;
3. ``close``: journaled, then ``on_bars``: the guard and the strategy answer.

Each command the kernel answers with is journaled, then sent; each report
the venue answers with is journaled, then given to the kernel. The journal
therefore holds every kernel input in order, and the kernel is
deterministic: replaying the journal into a fresh kernel rebuilds exactly
the state the crashed process had (:mod:`alphagate.live.recovery`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from alphagate.domain.bar import Bar
from alphagate.domain.commands import Cancel, Command, Submit
from alphagate.domain.order_state import Filled, OrderState, OrderUpdate, Rejected
from alphagate.domain.orders import Fill, OrderRequest
from alphagate.engine.kernel import Kernel
from alphagate.live.checkpoints import checkpoint
from alphagate.live.health_gate import HealthGate
from alphagate.live.operator_switch import OperatorSwitch
from alphagate.live.records import bars_record, command_record, risk_record, update_record
from alphagate.ports import Journal, VenueAccount
from alphagate.risk.events import RiskEvent


class PaperVenueLike(Protocol):
    """A venue that is shown bars and answers at once: the paper venue (and the simulated one)."""

    def submit(self, request: OrderRequest, now: int) -> list[OrderUpdate]: ...

    def cancel(self, client_order_id: str) -> list[OrderUpdate]: ...

    def on_bars(self, ts: int, bars: Sequence[Bar]) -> list[OrderUpdate]: ...

    def reports(
        self, client_order_id: str, request: OrderRequest | None = None
    ) -> list[OrderUpdate] | None: ...

    def open_orders(self) -> list[OrderState]: ...

    def account(self) -> VenueAccount: ...


@runtime_checkable
class BracketVenue(Protocol):
    """A venue that can take an entry and its protective legs as one order (broker-held)."""

    def submit_bracket(
        self, parent: OrderRequest, legs: Sequence[OrderRequest], now: int
    ) -> list[OrderUpdate] | None: ...


class LiveDriver:
    """Runs the kernel's cycle per timestamp with journal-then-act; see the module docstring.

    Parameters
    ----------
    feed_every_bar
        Show the venue every bar, not only while orders work (a fill model
        that keeps a bar history needs them all), as the backtest does.
    """

    def __init__(
        self,
        kernel: Kernel,
        venue: PaperVenueLike,
        journal: Journal,
        *,
        feed_every_bar: bool = False,
        gate: HealthGate | None = None,
        operator: OperatorSwitch | None = None,
        on_risk: Callable[[RiskEvent], None] | None = None,
    ) -> None:
        self.kernel, self.venue, self.journal = kernel, venue, journal
        self._every_bar = feed_every_bar
        self.gate, self.operator, self._on_risk = gate, operator, on_risk
        self.cycles = 0
        self.last_ts: int | None = None
        """The close of the last cycle finished (or replayed)."""
        self.last_seq = 0
        """The journal's last sequence number this driver wrote or replayed."""
        self.applied: dict[str, int] = {}
        """Venue reports folded in so far, per client id: what reconciliation asks beyond."""
        self.fills: list[Fill] = []
        """Every fill folded in, in order (replayed ones included)."""

    def record(self, kind: str, record: Mapping[str, object]) -> None:
        """Append one record to the journal (durable when this returns)."""
        self.last_seq = self.journal.append(kind, record)

    def record_many(self, records: Sequence[tuple[str, Mapping[str, object]]]) -> None:
        """Append records in one durable write."""
        self.last_seq = self.journal.append_many(records)

    # -- one cycle -------------------------------------------------------------------------

    def cycle(self, ts: int, bars: Sequence[Bar]) -> None:
        """Run the whole cycle for the bars closing at ``ts``."""
        if self.operator is not None:
            switched = self.operator.poll(ts)
            if switched is not None:
                self.record("switch", {"ts": ts, **switched})
                self.operator.apply(ts, switched)
        self.record("bars", bars_record(ts, bars))
        checkpoint("bars-journaled")
        if self.gate is not None:
            for event in self.gate.begin(ts, bars):
                self.record("risk", risk_record(event))
                if self._on_risk is not None:
                    self._on_risk(event)
        self.open(ts, bars)
        self.close(ts, bars)

    def open(self, ts: int, bars: Sequence[Bar]) -> None:
        """Store the bars (already journaled) and size waiting targets at their opens."""
        kernel = self.kernel
        for bar in bars:
            kernel.market.append(bar)
        if kernel.pending:
            self.carry_out(kernel.on_open(ts, {b.symbol: b.open for b in bars}))

    def close(self, ts: int, bars: Sequence[Bar]) -> None:
        """Show the venue the bars, then journal the close and let the kernel decide."""
        kernel = self.kernel
        if kernel.working or self._every_bar:
            answered = self.venue.on_bars(ts, bars)
            checkpoint("venue-answered")
            self.apply(answered)
        self.record("close", {"ts": ts})
        checkpoint("close-journaled")
        self.carry_out(kernel.on_bars(ts, tuple(b.symbol for b in bars)))
        self.cycles += 1
        self.last_ts = ts

    # -- commands out, reports in ----------------------------------------------------------

    def carry_out(self, commands: Sequence[Command]) -> None:
        """Journal the commands (one write), send each, then fold in what the venue answered.

        Sending the whole batch before folding the answers in gives the
        kernel the state the backtest's one-at-a-time hand-off gives: a
        venue's answer never depends on the kernel, and the answers are
        folded in the order they came.
        """
        if not commands:
            return
        self.record_many([("command", command_record(c)) for c in commands])
        checkpoint("command-journaled")
        self.apply(self.send_all(commands))

    def send_all(self, commands: Sequence[Command]) -> list[OrderUpdate]:
        """Send journaled commands in order; an entry with its legs as one order where it can.

        The kernel emits a bracket as an entry and its legs (``parent_id``) in
        one batch. A venue that holds brackets itself (:class:`BracketVenue`)
        gets the entry and those legs in one call, so the stop exists at the
        broker the moment the entry does (RELIABILITY CR-04); a venue that
        cannot hold these legs answers ``None`` and each order goes on its own.
        """
        legs: dict[str, list[Submit]] = {}
        if isinstance(self.venue, BracketVenue):
            entries = {c.request.client_order_id for c in commands if isinstance(c, Submit)}
            for command in commands:
                if isinstance(command, Submit) and command.request.parent_id in entries:
                    legs.setdefault(command.request.parent_id, []).append(command)
        riding = {leg.request.client_order_id for group in legs.values() for leg in group}
        updates: list[OrderUpdate] = []
        for command in commands:
            if isinstance(command, Submit) and command.request.client_order_id in riding:
                continue  # goes with its entry
            if isinstance(command, Submit) and command.request.client_order_id in legs:
                group = legs[command.request.client_order_id]
                answer = self._send_bracket(command, group)
                if answer is None:
                    answer = [u for c in (command, *group) for u in self.send(c)]
                updates += answer
                continue
            updates += self.send(command)
        return updates

    def _send_bracket(self, entry: Submit, legs: Sequence[Submit]) -> list[OrderUpdate] | None:
        """One venue call for an entry and its legs; the health gate judges the entry for all."""
        assert isinstance(self.venue, BracketVenue)
        request = entry.request
        refusal = None if self.gate is None else self.gate.refusal(request)
        if refusal is not None:
            return [
                OrderUpdate(c.request.client_order_id, Rejected(refusal)) for c in (entry, *legs)
            ]
        answer = self.venue.submit_bracket(request, [c.request for c in legs], request.ts_init)
        if answer is not None:
            checkpoint("command-sent")
        return answer

    def send(self, command: Command) -> list[OrderUpdate]:
        """Hand one journaled command to the venue; return its answer, not yet journaled.

        An order the health gate refuses is answered here, ``REJECTED``, and
        never reaches the venue.
        """
        if isinstance(command, Submit):
            request = command.request
            refusal = None if self.gate is None else self.gate.refusal(request)
            if refusal is not None:
                return [OrderUpdate(request.client_order_id, Rejected(refusal))]
            updates = self.venue.submit(request, request.ts_init)
        elif isinstance(command, Cancel):
            updates = self.venue.cancel(command.client_order_id)
        else:  # pragma: no cover - Command is a closed union
            raise TypeError(f"unknown command {command!r}")
        checkpoint("command-sent")
        return updates

    def apply(self, updates: Sequence[OrderUpdate]) -> None:
        """Journal the venue's reports (one write), then give each to the kernel."""
        if not updates:
            return
        self.record_many([("update", update_record(u)) for u in updates])
        checkpoint("update-journaled")
        for update in updates:
            self.fold(update)

    def fold(self, update: OrderUpdate) -> None:
        """Give one (journaled) venue report to the kernel and count it."""
        self.kernel.on_order_update(update)
        if type(update.event) is Filled:
            self.fills.append(update.event.fill)
        cid = update.client_order_id
        self.applied[cid] = self.applied.get(cid, 0) + 1
