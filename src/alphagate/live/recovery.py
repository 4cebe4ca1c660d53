"""Start-up, which is also crash recovery: replay the journal, reconcile with the venue, resume.

There is one way in (RELIABILITY: start-up and recovery share one path).
:func:`recover` is called on every start, with an empty journal on the
first:

1. **Replay.** Every journaled kernel input (bars, venue reports, closes) is
   fed to the fresh kernel in order. The kernel is deterministic, so it
   answers with the commands it answered before; each is checked against the
   journaled command at the same place, and a difference stops the start
   (the code or the settings changed under a running journal: the journal
   cannot be trusted to describe this engine). Commands it answers that the
   journal lacks were decided just before a crash and never sent: they are
   journaled now.
2. **Orders whose outcome is unknown.** For every order sent (or about to
   be) whose reports the journal does not hold in full, the venue is asked
   by client id (:meth:`~alphagate.ports.Venue.reports`). An order it has is
   adopted: the reports the journal lacks are journaled, then folded in
   (CR-02, CR-03). An order it never got is kept for step 3.
3. **Resume** (:func:`resume`, after the caller installed what a live engine
   obeys: the health gate). First **positions** are compared with the
   venue's (venue truth wins): a difference is a :class:`ReconciliationError`,
   and the engine neither sends nor trades on a book it cannot explain (fail
   closed, I2, I4). Then the orders the venue never got are sent, with the
   *same* client id (CR-01); nothing is ever sent twice, since the venue is
   asked first and refuses a client id it holds. Last, an **interrupted
   cycle** (bars journaled, close not) is finished: the venue is shown the
   bars (it ignores bars it has seen) and the kernel decides.

The decision path's state (standardiser windows, IC history, posteriors)
is never snapshotted separately: replaying the inputs rebuilds it exactly,
where a second serialised copy could disagree with the first. Snapshots
(:func:`~alphagate.live.status.snapshot_state`) summarise positions, cash
and open orders for ``paper status``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from alphagate.domain.bar import Bar
from alphagate.domain.commands import Command, Submit
from alphagate.domain.order_state import IllegalTransition, OrderState, OrderUpdate
from alphagate.domain.orders import OrderRequest
from alphagate.engine.kernel import Kernel
from alphagate.errors import AlphagateError
from alphagate.live.driver import LiveDriver
from alphagate.live.records import bars_of, command_of, command_record, update_of

POSITION_TOLERANCE: Final = 1e-9


class RecoveryError(AlphagateError):
    """The journal does not describe this engine; it will not trade on it."""


class ReconciliationError(AlphagateError):
    """The engine's books and the venue's disagree in a way recovery cannot explain."""


@dataclass
class Recovered:
    """What start-up found: how much it replayed and what it had to mend."""

    records: int = 0
    cycles: int = 0
    resent: list[str] = field(default_factory=list)
    """Client ids sent at start-up because the venue had never received them (CR-01)."""
    adopted: int = 0
    """Venue reports the journal lacked, journaled and folded in at start-up (CR-02, CR-03)."""
    finished_cycle: int | None = None
    """The close of an interrupted cycle finished at start-up, if any."""
    unsent: list[Command] = field(default_factory=list)
    """Journaled commands the venue never received, for :func:`resume` to send."""
    interrupted: tuple[int, list[Bar]] | None = None
    """A cycle whose bars are journaled but not its close, for :func:`resume` to finish."""


def recover(driver: LiveDriver, on_cycle: Callable[[LiveDriver], None] | None = None) -> Recovered:
    """Bring a fresh driver's kernel to the journaled state and square it with the venue.

    ``on_cycle`` is called after each replayed close, as the runner calls it
    after each live one, so whatever follows the books (the trading
    database, the equity curve) sees every cycle of the session.
    """
    kernel, journal = driver.kernel, driver.journal
    found = Recovered()
    produced: deque[Command] = deque()
    applied = driver.applied
    sent: dict[str, Command] = {}  # every journaled command, by client id, last one wins
    interrupted: tuple[int, list[Bar]] | None = None
    for seq, kind, record in journal.replay():
        found.records += 1
        driver.last_seq = seq
        if kind == "bars":
            ts, bars = bars_of(record)
            for bar in bars:
                kernel.market.append(bar)
            if kernel.pending:
                produced.extend(kernel.on_open(ts, {b.symbol: b.open for b in bars}))
            interrupted = (ts, bars)
        elif kind == "close":
            if interrupted is None or interrupted[0] != record["ts"]:
                raise RecoveryError(f"journal record {seq}: a close without its bars")
            ts, bars = interrupted
            produced.extend(kernel.on_bars(ts, tuple(b.symbol for b in bars)))
            interrupted = None
            driver.cycles += 1
            driver.last_ts = ts
            if on_cycle is not None:
                on_cycle(driver)
        elif kind == "command":
            command = command_of(record)
            _check_same(seq, produced, command)
            sent[_order_id(command)] = command
        elif kind == "update":
            driver.fold(update_of(record))
        elif kind == "switch":
            if driver.operator is None:
                raise RecoveryError(
                    f"journal record {seq}: an operator kill-switch record, but this engine "
                    "was started without the operator's switch"
                )
            driver.operator.apply(int(record["ts"]), record)
    found.cycles = driver.cycles
    # Decided just before the crash, never journaled, so never sent: journal them now.
    driver.record_many([("command", command_record(c)) for c in produced])
    for command in produced:
        sent[_order_id(command)] = command
    _settle_unknown_outcomes(driver, sent, applied, found)
    found.interrupted = interrupted
    return found


def resume(
    driver: LiveDriver, found: Recovered, on_cycle: Callable[[LiveDriver], None] | None = None
) -> None:
    """Carry out what :func:`recover` left: check positions, send what never arrived, finish.

    Kept apart from the replay so that the caller can install what a live
    engine obeys (the operator's kill switch, the health gate) in between:
    an order sent at start-up passes the same checks as any other.
    """
    check_positions(driver)
    found.resent += [c.request.client_order_id for c in found.unsent if isinstance(c, Submit)]
    driver.apply(driver.send_all(found.unsent))
    if found.interrupted is not None:
        ts, bars = found.interrupted
        driver.close(ts, bars)
        found.finished_cycle = ts
        if on_cycle is not None:
            on_cycle(driver)


def _order_id(command: Command) -> str:
    return (
        command.request.client_order_id if isinstance(command, Submit) else command.client_order_id
    )


def _check_same(seq: int, produced: deque[Command], journaled: Command) -> None:
    if not produced:
        raise RecoveryError(
            f"journal record {seq} holds a command the engine did not decide on replay "
            f"({command_record(journaled)}): the journal was written by other code or settings"
        )
    expected = produced.popleft()
    if expected != journaled:
        raise RecoveryError(
            f"journal record {seq}: replay decided {command_record(expected)} where the journal "
            f"holds {command_record(journaled)}: the code or settings changed under this journal; "
            "finish it with the version that wrote it, or start a new journal"
        )


def _settle_unknown_outcomes(
    driver: LiveDriver, sent: Mapping[str, Command], applied: Mapping[str, int], found: Recovered
) -> None:
    """Ask the venue about every order whose reports the journal may lack; send or adopt."""
    kernel, venue = driver.kernel, driver.venue
    for cid, command in sent.items():
        state = kernel.orders.get(cid)
        if applied.get(cid) and state is not None and state.is_terminal:
            continue  # its end is journaled: nothing the venue says can change it
        request = command.request if isinstance(command, Submit) else _request_of(kernel, cid)
        reports = venue.reports(cid, request)
        if reports is None:
            if isinstance(command, Submit):
                found.unsent.append(command)  # never received: send it, same client id (CR-01)
            continue
        missing = unseen(kernel.orders.get(cid), reports, applied.get(cid, 0))
        found.adopted += len(missing)
        driver.apply(missing)
        if not isinstance(command, Submit) and not kernel.orders[cid].is_terminal:
            found.unsent.append(command)  # a cancel that never reached the venue


def _request_of(kernel: Kernel, client_order_id: str) -> OrderRequest | None:
    """The order's request, for a venue that finds some orders through another (a leg)."""
    state = kernel.orders.get(client_order_id)
    return None if state is None else state.request


def unseen(
    state: OrderState | None, reports: Sequence[OrderUpdate], applied: int
) -> list[OrderUpdate]:
    """The venue's reports for one order that the engine's state does not already reflect.

    A simulated venue lists an order's reports in the order the engine got
    them, so those past the ``applied`` count are new. A broker cannot: its
    stream may have delivered a fill before the ack, a query lists them in
    its own canonical order. So each report is tried against the order's
    state, in turn: one that changes nothing (a fill whose trade id it
    holds) or that the state machine refuses (an ack after a fill, anything
    after the end) was already told, and only the rest are adopted. Both
    rules give the same answer for a simulated venue.
    """
    if state is None:
        return list(reports[applied:])
    fresh: list[OrderUpdate] = []
    for report in reports:
        try:
            after = state.apply(report.event)
        except IllegalTransition:
            continue
        if after != state:
            fresh.append(report)
            state = after
    return fresh


def check_positions(driver: LiveDriver) -> None:
    """Raise :class:`ReconciliationError` when the kernel's positions differ from the venue's."""
    ours: Mapping[str, float] = driver.kernel.portfolio.quantities
    theirs: Mapping[str, Any] = driver.venue.account().positions
    differ = {
        s: (ours.get(s, 0.0), float(theirs.get(s, 0.0)))
        for s in {*ours, *theirs}
        if abs(ours.get(s, 0.0) - float(theirs.get(s, 0.0)))
        > POSITION_TOLERANCE * max(1.0, abs(ours.get(s, 0.0)))
    }
    if differ:
        detail = ", ".join(
            f"{s}: engine {a:g}, venue {b:g}" for s, (a, b) in sorted(differ.items())
        )
        raise ReconciliationError(
            f"positions differ from the venue's ({detail}); the venue is right, and the engine "
            "will not trade until the difference is explained (see `alphagate paper status`)"
        )


def reconcile(driver: LiveDriver) -> int:
    """The periodic check: adopt what the venue reported that the journal lacks, then positions.

    For every working order the venue is asked for its reports; those
    beyond what the engine folded in (a fill the stream never delivered, a
    cancel by the venue) are journaled and folded in (venue truth wins).
    Then positions must match, or :class:`ReconciliationError` stops the
    engine (fail closed). Returns how many reports were adopted.
    """
    adopted: list[OrderUpdate] = []
    for cid in sorted(driver.kernel.working):
        reports = driver.venue.reports(cid, _request_of(driver.kernel, cid))
        if reports is not None:
            adopted += unseen(driver.kernel.orders.get(cid), reports, driver.applied.get(cid, 0))
    driver.apply(adopted)
    check_positions(driver)
    return len(adopted)
