"""A crash at any persist boundary, then a restart, ends exactly where an uninterrupted run ends.

The engine's journal and the paper venue's ledger are written in one global
order here, so a crash after any single durable write can be reproduced
exactly: both are cut at that point, a fresh engine and venue start on what
survived, recover, and run the rest of the replay. Compared with the run
that never crashed: the same orders (each sent once: the venue refuses a
client id twice, so a resend would raise), the same fills, the same
positions and cash (RELIABILITY I1-I3, CR-01..CR-03).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from paper_kit import EveryNthBracket, paper_driver, symbols_in

from alphagate.live.feeds import ReplayFeed, steps_of
from alphagate.live.recovery import ReconciliationError, RecoveryError, reconcile, recover
from alphagate.live.runner import run_live
from alphagate.strategies.builtin import SmaCross
from alphagate.testing import fill_of, random_walk_bars, request_of
from alphagate.testing.journal import MemoryJournal

BARS = random_walk_bars({"AAA": 0, "BBB": 5}, 60, seed=5)


class Recorded(MemoryJournal):
    """A memory journal that notes each append in an order shared with another journal."""

    def __init__(self, name: str, order: list[str]) -> None:
        super().__init__()
        self._name, self._order = name, order

    def append(self, kind: str, record: Mapping[str, object]) -> int:
        seq = super().append(kind, record)
        self._order.append(self._name)
        return seq


def cut(source: MemoryJournal, keep: int) -> MemoryJournal:
    """A journal holding the first ``keep`` records of ``source``: what survived a crash."""
    journal = MemoryJournal()
    for _, kind, record in list(source.replay())[:keep]:
        journal.append(kind, record)
    return journal


def books(driver: Any) -> dict[str, Any]:
    kernel = driver.kernel
    return {
        "orders": {
            cid: (s.status, s.filled_qty, s.avg_fill_price) for cid, s in kernel.orders.items()
        },
        "positions": dict(kernel.portfolio.quantities),
        "cash": kernel.portfolio.cash,
        "venue": driver.venue.account(),
    }


def run(strategy: Any, journal: MemoryJournal, ledger: MemoryJournal) -> Any:
    driver = paper_driver(strategy, symbols_in(BARS), journal, ledger)
    asyncio.run(run_live(driver, ReplayFeed(BARS), handle_signals=False))
    return driver


def crash_points(order: list[str]) -> Iterator[tuple[int, int]]:
    """After each global write: how many engine records and venue records had survived."""
    engine = venue = 0
    for name in order:
        engine += name == "engine"
        venue += name == "venue"
        yield engine, venue


@pytest.mark.parametrize(
    "make", [lambda: SmaCross(3, 8), lambda: EveryNthBracket(every=6)], ids=["sma", "brackets"]
)
def test_a_crash_after_any_write_recovers_to_the_uninterrupted_run(make: Any) -> None:
    order: list[str] = []
    journal, ledger = Recorded("engine", order), Recorded("venue", order)
    reference = run(make(), journal, ledger)
    expected = books(reference)
    assert len(expected["orders"]) >= 6
    points = list(crash_points(order))
    for engine_kept, venue_kept in points:
        survived_journal = cut(journal, engine_kept)
        survived_ledger = cut(ledger, venue_kept)
        restarted = run(make(), survived_journal, survived_ledger)
        assert books(restarted) == expected, (engine_kept, venue_kept)
        # I1: every client id reached the venue once (a second submit raises), and the
        # engine's journal names each order's submission exactly once.
        submits = [
            r["submit"]["client_order_id"]
            for _, k, r in survived_journal.replay()
            if k == "command" and "submit" in r
        ]
        assert len(submits) == len(set(submits))


def test_a_second_start_after_a_clean_end_sends_nothing_and_changes_nothing() -> None:
    order: list[str] = []
    journal, ledger = Recorded("engine", order), Recorded("venue", order)
    first = run(SmaCross(3, 8), journal, ledger)
    before = len(journal.rows)
    again = run(SmaCross(3, 8), journal, ledger)
    assert books(again) == books(first)
    assert len(journal.rows) == before


def test_a_journal_written_by_other_settings_is_refused_before_anything_is_sent() -> None:
    journal, ledger = MemoryJournal(), MemoryJournal()
    run(SmaCross(3, 8), journal, ledger)
    other = paper_driver(SmaCross(4, 9), symbols_in(BARS), journal, ledger)
    with pytest.raises(RecoveryError, match=r"settings changed|other code or settings"):
        recover(other)


def test_journal_records_are_plain_json() -> None:
    journal, ledger = MemoryJournal(), MemoryJournal()
    run(EveryNthBracket(every=6), journal, ledger)
    kinds = {kind for _, kind, _ in journal.replay()}
    assert kinds == {"bars", "close", "command", "update"}
    for _, _, text in journal.rows:
        assert json.loads(text) is not None


def test_reconciliation_adopts_a_fill_the_engine_never_heard_of_and_then_agrees() -> None:
    journal, ledger = MemoryJournal(), MemoryJournal()
    driver = paper_driver(EveryNthBracket(every=6), symbols_in(BARS), journal, ledger)
    recover(driver)
    steps = iter(steps_of(BARS))
    unseen: list[object] = []
    for ts, bars in steps:  # run until the venue acts on a bar the engine never sees
        if driver.kernel.working:
            unseen = list(driver.venue.on_bars(ts, bars))  # a stream that lost these
            if unseen:
                break
        driver.cycle(ts, bars)
    assert unseen
    adopted = reconcile(driver)
    assert adopted == len(unseen)
    assert dict(driver.kernel.portfolio.quantities) == {
        s: q for s, q in driver.venue.account().positions.items() if q
    }


def test_reconciliation_fails_closed_on_a_position_it_cannot_explain() -> None:
    journal, ledger = MemoryJournal(), MemoryJournal()
    driver = paper_driver(SmaCross(3, 8), symbols_in(BARS), journal, ledger)
    recover(driver)
    for ts, bars in list(steps_of(BARS))[:30]:
        driver.cycle(ts, bars)
    driver.kernel.portfolio.apply_fill(
        fill_of(request_of("ag-outside", symbol="AAA", quantity=5), 5, 50.0, trade_id="out-1")
    )
    with pytest.raises(ReconciliationError, match="positions differ"):
        reconcile(driver)
