"""The asyncio runner: a feed in, the driver's cycles, snapshots, and a clean stop on a signal.

Start-up is :func:`~alphagate.live.recovery.recover` whatever came before (a
first start, a clean stop, a ``kill -9``). Then each step of the feed after
the last close the journal holds is one driver cycle. Every
``snapshot_every`` cycles, and at the end, the books are snapshotted; every
``reconcile_every`` seconds (wall clock, between cycles) the engine is
reconciled with the venue (:func:`~alphagate.live.recovery.reconcile`).

SIGINT and SIGTERM set a stop flag: the cycle under way finishes (a cycle is
never cut in the middle by a signal), the open-order policy is applied
(``cancel`` journals and sends a cancel for every working order; ``keep``
leaves them at the venue), a final snapshot is written, and the run returns
its summary: the caller prints it and exits 0.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from alphagate.domain.bar import Bar
from alphagate.domain.commands import Cancel
from alphagate.live.checkpoints import checkpoint
from alphagate.live.driver import LiveDriver
from alphagate.live.recovery import Recovered, reconcile, recover, resume
from alphagate.live.status import snapshot_state

OpenOrderPolicy = Literal["cancel", "keep"]


class SteppingFeed(Protocol):
    """A feed of closed bars grouped by close, resumable after a given close."""

    def stream(self, after: int | None = None) -> AsyncIterator[tuple[int, Sequence[Bar]]]: ...


@dataclass(frozen=True)
class RunSummary:
    """How a run went: what start-up mended, the cycles run, and why it stopped."""

    recovered: Recovered
    cycles: int
    stopped_by: str


async def run_live(
    driver: LiveDriver,
    feed: SteppingFeed,
    *,
    max_cycles: int | None = None,
    snapshot_every: int = 50,
    open_orders: OpenOrderPolicy = "keep",
    on_cycle: Callable[[LiveDriver], None] | None = None,
    after_recovery: Callable[[LiveDriver], None] | None = None,
    handle_signals: bool = True,
    reconcile_every: float = 30.0,
) -> RunSummary:
    """Recover, then run the feed's steps through the driver until it ends, a limit or a signal.

    ``after_recovery`` runs once the books are rebuilt and before the first
    new cycle: where the engine swaps the replay's scratch parts for the
    real ones (the operator's kill switch).
    """
    recovered = recover(driver, on_cycle)
    if after_recovery is not None:
        after_recovery(driver)
    resume(driver, recovered, on_cycle)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM) if handle_signals else ()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    cycles, stopped_by = 0, "end of feed"
    next_reconcile = time.monotonic() + reconcile_every
    try:
        async for ts, bars in feed.stream(after=driver.last_ts):
            if stop.is_set():
                stopped_by = "signal"
                break
            driver.cycle(ts, bars)
            cycles += 1
            next_reconcile = _reconcile_when_due(driver, next_reconcile, reconcile_every)
            if on_cycle is not None:
                on_cycle(driver)
            if driver.cycles % snapshot_every == 0:
                write_snapshot(driver)
            if max_cycles is not None and cycles >= max_cycles:
                stopped_by = "cycle limit"
                break
        else:
            if stop.is_set():
                stopped_by = "signal"
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
    if open_orders == "cancel":
        driver.carry_out(
            [
                Cancel(cid, "shutdown: open-order policy cancel")
                for cid in sorted(driver.kernel.working)
            ]
        )
    write_snapshot(driver)
    return RunSummary(recovered, cycles, stopped_by)


def _reconcile_when_due(driver: LiveDriver, due: float, every: float) -> float:
    """Reconcile when the wall clock has passed ``due``; return when the next one is due."""
    if time.monotonic() < due:
        return due
    reconcile(driver)
    return time.monotonic() + every


def write_snapshot(driver: LiveDriver) -> None:
    """Snapshot the books as of the journal's last record."""
    if driver.last_seq:
        driver.journal.snapshot(driver.last_seq, snapshot_state(driver))
        checkpoint("snapshot-written")
