"""``kill -9`` the paper engine as a process, restart it, and end where a clean run ends.

RELIABILITY 3.1 (CR-01..CR-13) with invariants I1-I5, against the real
process: ``python -m alphagate.testing.paper_session`` (SQLite journal and
ledger in a folder) driven by :mod:`alphagate.testing.crash`, which sets
``ALPHAGATE_CRASH_AT`` so the engine SIGKILLs itself at a named checkpoint
(:data:`alphagate.live.checkpoints.CHECKPOINTS`) or at the N-th checkpoint of
any name, then restarts it until it finishes.

The oracle is an uninterrupted run of the same replay, and the venue's own
books: after every crash sequence the orders (client ids, statuses, filled
quantities, prices), positions and cash equal the clean run's (I2, I4), and
also equal what the venue's ledger rebuilds into a fresh venue (I2, venue
truth); each client id was submitted to the venue once (I1, counted in the
ledger); each trade id was journaled once (I3); and ``PRAGMA
integrity_check`` is ok on both files after every attempt (CR-05).

Crash sequences are chained (crash, restart that crashes again, ..., clean
restart): every restart is a recovery from a ``kill -9``, and one process
start per crash keeps the module to about a minute on two cores.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from alphagate.adapters.journal import SqliteJournal
from alphagate.app.paper_engine import JOURNAL, LEDGER
from alphagate.execution.fill_models import NextOpenFill
from alphagate.execution.venue import SimulatedVenue
from alphagate.live.checkpoints import CHECKPOINTS
from alphagate.live.paper_venue import PaperVenue
from alphagate.testing import random_walk_bars
from alphagate.testing.crash import (
    Attempt,
    CrashRun,
    attempt,
    child_environment,
    random_points,
    run_with_crashes,
)
from alphagate.testing.paper_session import CASH, KILL_STATE, REFUSED

pytestmark = pytest.mark.slow

BARS = random_walk_bars({"AAA": 0, "BBB": 5}, 60, seed=5)
SYMBOLS = ("AAA", "BBB")
SMA = ("sma_cross", "fast=3,slow=8")
BRACKETS = ("every_nth_bracket", "every=6")
SEED = 20240517
RANDOM_CRASHES = 20


@dataclass(frozen=True)
class Reference:
    """An uninterrupted run: its summary, its files' dumps and its checkpoint passes."""

    summary: dict[str, Any]
    session: Path
    passes: int


@pytest.fixture(scope="module")
def bars_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bars") / "bars.parquet"
    BARS.reset_index().to_parquet(path)
    return path


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return child_environment()


class Sessions:
    """Builds the command for a session folder and keeps each strategy's clean run."""

    def __init__(self, bars: Path, root: Path, env: dict[str, str]) -> None:
        self.bars, self.root, self.env = bars, root, env
        self._references: dict[tuple[str, str], Reference] = {}
        self._made = 0

    def fresh(self) -> Path:
        self._made += 1
        return self.root / f"session-{self._made}"

    def command(self, session: Path, strategy: tuple[str, str] = SMA, *extra: str) -> list[str]:
        name, params = strategy
        return [
            sys.executable, "-m", "alphagate.testing.paper_session", "--bars", str(self.bars),
            "--session", str(session), "--strategy", name, "--params", params, *extra,
        ]  # fmt: skip

    def reference(self, strategy: tuple[str, str] = SMA) -> Reference:
        if strategy not in self._references:
            session = self.fresh()
            done = attempt(self.command(session, strategy), env=self.env)
            assert done.returncode == 0, done.stderr
            summary = json.loads(done.stdout)
            self._references[strategy] = Reference(summary, session, checkpoint_passes(session))
        return self._references[strategy]


@pytest.fixture(scope="module")
def sessions(
    bars_file: Path, tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]
) -> Sessions:
    return Sessions(bars_file, tmp_path_factory.mktemp("sessions"), env)


# -- reading the files a session left ------------------------------------------------------


def records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every record of a journal file, read with plain sqlite3 (not the code under test)."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT kind, record FROM journal ORDER BY seq").fetchall()
    for kind, text in rows:
        yield kind, json.loads(text)


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def checkpoint_passes(session: Path) -> int:
    """A lower bound on the checkpoints a clean run passes, counted from its journal.

    One pass after each bars and close record, one after each batch of
    commands and each batch of updates (consecutive records of one kind
    count as one batch: a lower bound), one per command sent.
    """
    passes, previous = 0, None
    for kind, _ in records(session / JOURNAL):
        if kind in ("bars", "close") or kind != previous:
            passes += 1
        if kind == "command":
            passes += 1
        previous = kind
    return passes


def ledger_account(session: Path) -> tuple[float, dict[str, float]]:
    """Cash and positions the venue's ledger rebuilds into a fresh venue: venue truth."""
    ledger = SqliteJournal(session / LEDGER, readonly=True)
    try:
        venue = PaperVenue(
            SimulatedVenue(NextOpenFill(), symbols=SYMBOLS, starting_cash=CASH), ledger
        )
        account = venue.account()
    finally:
        ledger.close()
    return account.cash, {s: float(q) for s, q in account.positions.items() if q}


def check_files(done: Attempt, session: Path) -> None:
    """CR-05 after every attempt: both files pass ``PRAGMA integrity_check``."""
    for name in (JOURNAL, LEDGER):
        if (session / name).exists():
            assert integrity(session / name) == "ok", (done.crash_at, name)


def assert_invariants(session: Path, summary: dict[str, Any], reference: Reference) -> None:
    """I1-I4 and the clean run's books, for a session that finished after crashes."""
    expected = reference.summary
    assert summary["orders"] == expected["orders"]
    assert summary["positions"] == expected["positions"]
    assert summary["cash"] == expected["cash"]
    # I2: the engine's books are the venue's, as its ledger rebuilds them.
    cash, positions = ledger_account(session)
    assert positions == summary["positions"]
    assert cash == pytest.approx(summary["cash"], rel=1e-12)
    # I1: every order reached the venue exactly once, and nothing else did.
    submits = Counter(
        r["request"]["client_order_id"] for k, r in records(session / LEDGER) if k == "submit"
    )
    assert set(submits) == set(expected["orders"])
    assert max(submits.values()) == 1
    # I3: every trade id was journaled once; the fills add up to each order's filled qty.
    fills = [r for k, r in records(session / JOURNAL) if k == "update" and r["event"] == "filled"]
    trade_ids = Counter(r["fill"]["trade_id"] for r in fills)
    assert max(trade_ids.values(), default=1) == 1
    filled: Counter[str] = Counter()
    for r in fills:
        filled[r["client_order_id"]] += r["fill"]["quantity"]
    for cid, order in expected["orders"].items():
        assert filled[cid] == pytest.approx(order["filled_qty"]), cid
    for name in (JOURNAL, LEDGER):
        assert integrity(session / name) == "ok"


def crash_and_compare(
    sessions: Sessions, points: list[str], strategy: tuple[str, str] = SMA
) -> CrashRun:
    reference = sessions.reference(strategy)
    session = sessions.fresh()
    run = run_with_crashes(
        sessions.command(session, strategy),
        points,
        env=sessions.env,
        inspect=lambda done: check_files(done, session),
    )
    reached = [a.crash_at for a in run.attempts if a.killed]
    assert reached == points, f"crash points not reached: {points[len(reached) :]}"
    assert_invariants(session, json.loads(run.final.stdout), reference)
    return run


# -- the clean runs ------------------------------------------------------------------------


def test_the_reference_runs_trade_enough_to_test_anything(sessions: Sessions) -> None:
    for strategy, least in ((SMA, 6), (BRACKETS, 9)):
        summary = sessions.reference(strategy).summary
        assert len(summary["orders"]) >= least, strategy
        assert summary["cycles"] == len(BARS.index.get_level_values("ts").unique())
    statuses = {o["status"] for o in sessions.reference(BRACKETS).summary["orders"].values()}
    assert {"filled", "canceled"} <= statuses


def test_i5_two_clean_runs_write_byte_identical_journals_and_ledgers(sessions: Sessions) -> None:
    """I5: the same inputs give byte-identical journals (and venue ledgers)."""
    first = sessions.reference(SMA).session
    second = sessions.fresh()
    done = attempt(sessions.command(second), env=sessions.env)
    assert done.returncode == 0, done.stderr
    for name in (JOURNAL, LEDGER):
        assert dump(second / name) == dump(first / name), name
    assert json.loads(done.stdout) == sessions.reference(SMA).summary


# -- kill -9 at named checkpoints ----------------------------------------------------------


def test_cr01_kill_after_the_command_is_journaled_before_it_is_sent(sessions: Sessions) -> None:
    """CR-01: ``kill -9`` after the intent row is committed, before the send.

    Pass: the venue has 0 or 1 orders with that client id; on restart the
    intent is resubmitted with the same client id (or closed as never sent);
    I1-I4 hold. Here the batch never reached the venue, so the restart must
    resend exactly the journaled client ids.
    """
    run = crash_and_compare(sessions, ["command-journaled:2", "command-journaled:3"])
    final = json.loads(run.final.stdout)
    assert final["recovered"]["resent"], "the journaled, unsent orders were not resent"


@pytest.mark.parametrize("strategy", [SMA, BRACKETS], ids=["sma", "brackets"])
def test_cr02_kill_after_the_venue_accepted_before_the_ack_is_stored(
    sessions: Sessions, strategy: tuple[str, str]
) -> None:
    """CR-02: ``kill -9`` after the venue accepted, before its answer is journaled.

    Pass: the restart asks the venue by client id, adopts its status and
    makes 0 new submissions (I1 counts the ledger's submits).
    """
    run = crash_and_compare(sessions, ["command-sent:2", "command-sent:4"], strategy)
    final = json.loads(run.final.stdout)
    assert final["recovered"]["resent"] == []


def test_cr03_kill_between_a_fill_at_the_venue_and_its_persist(sessions: Sessions) -> None:
    """CR-03: ``kill -9`` between a fill and its persist.

    Pass: the fill is applied exactly once (trade-id dedup, I3); position,
    cash and P&L equal the crash-free run's.

    The window is inside the driver's close step: the venue was shown the
    bars (its ledger holds them, so it has filled) and the engine has not
    journaled the venue's reports yet. No named checkpoint sits there, so the
    state a ``kill -9`` leaves is made exactly: the engine is killed at the
    close of the cycle that fills the first entry, and the journal records
    written after the venue filled (the fill reports and the close: an
    append-only journal's last records) are removed, as if the kill had come
    before they were written.
    """
    reference = sessions.reference(SMA)
    session = sessions.fresh()
    cycle = _first_fill_cycle(reference.session)
    first = attempt(sessions.command(session), f"close-journaled:{cycle}", env=sessions.env)
    assert first.killed, first.stderr
    rows = _journal_rows(session)
    assert rows[-1][1] == "close"
    tail = [seq for seq, kind, record in rows[-3:-1] if record.get("event") == "filled"]
    assert tail, "the cycle killed at did not fill at the venue"
    with sqlite3.connect(session / JOURNAL) as conn:
        conn.execute("DELETE FROM journal WHERE seq >= ?", (min(tail),))
    assert ledger_account(session)[1], "the venue must hold the filled position"
    assert not any(r.get("event") == "filled" for _, _, r in _journal_rows(session))

    done = attempt(sessions.command(session), env=sessions.env)

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["recovered"]["adopted"] == len(tail)
    assert summary["recovered"]["resent"] == []
    assert_invariants(session, summary, reference)


def _journal_rows(session: Path) -> list[tuple[int, str, dict[str, Any]]]:
    with sqlite3.connect(session / JOURNAL) as conn:
        rows = conn.execute("SELECT seq, kind, record FROM journal ORDER BY seq").fetchall()
    return [(seq, kind, json.loads(text)) for seq, kind, text in rows]


def _first_fill_cycle(session: Path) -> int:
    """The number of the cycle whose close step journaled the run's first fill."""
    closes = 0
    for _, kind, record in _journal_rows(session):
        closes += kind == "close"
        if kind == "update" and record["event"] == "filled":
            return closes + 1
    raise AssertionError("the clean run never filled")


@pytest.mark.parametrize(
    "points",
    [
        ["bars-journaled:5", "bars-journaled:17", "bars-journaled:9"],
        ["close-journaled:8", "close-journaled:13", "close-journaled:21"],
        ["snapshot-written:1", "snapshot-written:1"],
        # CR-03 by a real kill: the venue filled, its answer is not journaled yet.
        ["venue-answered:2", "venue-answered:1", "venue-answered:1"],
    ],
    ids=["bars-journaled", "close-journaled", "snapshot-written", "venue-answered"],
)
def test_kill_at_every_other_checkpoint_recovers_to_the_clean_run(
    sessions: Sessions, points: list[str]
) -> None:
    run = crash_and_compare(sessions, points)
    assert run.crashes == len(points)


def test_every_checkpoint_is_covered() -> None:
    named = {"command-journaled", "command-sent", "update-journaled", "bars-journaled"}
    named |= {"close-journaled", "snapshot-written", "venue-answered"}
    assert named == set(CHECKPOINTS)


def test_cr05_twenty_seeded_random_kills_recover_to_the_clean_run(sessions: Sessions) -> None:
    """CR-05 (scaled down): 20 seeded ``kill -9``s at random checkpoints of any name.

    Pass: ``PRAGMA integrity_check`` ok on every restart (checked after each
    attempt), I1-I3 hold, and no restart needs manual repair.
    """
    passes = sessions.reference(BRACKETS).passes
    points = random_points(SEED, RANDOM_CRASHES, passes)
    run = crash_and_compare(sessions, points, BRACKETS)
    assert run.crashes == RANDOM_CRASHES


# -- start-up itself -----------------------------------------------------------------------


def test_cr06_a_crash_during_start_up_recovery_twice_in_a_row(sessions: Sessions) -> None:
    """CR-06: restart during start-up reconciliation, twice in a row.

    Pass: the final state equals a single clean reconciliation's. The first
    crash leaves a journaled, unsent batch; the next start dies while
    resending it (its first ``command-sent`` is recovery's), the one after
    while journaling what the venue answered (its first
    ``update-journaled``); the third start finishes.
    """
    run = crash_and_compare(
        sessions, ["command-journaled:4", "command-sent:1", "update-journaled:1"]
    )
    assert run.crashes == 3


def test_cr09_journal_long_venue_flat_refuses_to_trade(sessions: Sessions) -> None:
    """CR-09: persisted state says long, the venue is flat (a stale engine database).

    RELIABILITY asks that local state be corrected to flat and no exit be
    sent. Today the engine fails closed instead: start-up raises a
    reconciliation error naming the difference, exits non-zero, and sends
    nothing. The venue's ledger is edited to forget every filled order.
    """
    reference = sessions.reference(SMA)
    assert reference.summary["positions"], "the clean run must end holding something"
    session = sessions.fresh()
    done = attempt(sessions.command(session), env=sessions.env)
    assert done.returncode == 0, done.stderr
    filled = [c for c, o in reference.summary["orders"].items() if o["status"] == "filled"]
    with sqlite3.connect(session / LEDGER) as conn:
        conn.executemany(
            "DELETE FROM journal WHERE kind = 'submit' "
            "AND json_extract(record, '$.request.client_order_id') = ?",
            [(cid,) for cid in filled],
        )
    before = dump(session / LEDGER)
    assert ledger_account(session)[1] == {}, "the edited venue must be flat"

    refused = attempt(sessions.command(session), env=sessions.env)

    assert refused.returncode == REFUSED, refused.stderr
    assert "positions differ from the venue's" in refused.stderr
    assert "will not trade" in refused.stderr
    held = sorted(reference.summary["positions"])
    assert all(symbol in refused.stderr for symbol in held)
    assert refused.stdout == ""
    assert dump(session / LEDGER) == before, "something was sent to the venue"


def test_cr11_sigterm_mid_run_exits_0_within_10_s_and_resumes(sessions: Sessions) -> None:
    """CR-11: SIGTERM. Pass: exit 0 within 10 s, journal fsynced (a restart replays it)."""
    reference = sessions.reference(SMA)
    session = sessions.fresh()
    # One day of bars every 40 ms: the 60 steps take about 2.4 s.
    paced = sessions.command(session, SMA, "--speed", str(86_400 / 0.04))
    child = subprocess.Popen(
        paced, env=sessions.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (session / JOURNAL).exists() and _closes(session) >= 10:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the paced session never reached its tenth cycle")
        os.kill(child.pid, signal.SIGTERM)
        signalled = time.monotonic()
        out, err = child.communicate(timeout=10)
        took = time.monotonic() - signalled
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert took < 10
    stopped = json.loads(out)
    assert stopped["stopped_by"] == "signal"
    assert 10 <= stopped["cycles"] < reference.summary["cycles"]
    assert integrity(session / JOURNAL) == "ok"

    resumed = attempt(sessions.command(session), env=sessions.env)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["recovered"]["cycles"] == stopped["cycles"]
    assert_invariants(session, summary, reference)


def _closes(session: Path) -> int:
    try:
        return sum(1 for kind, _ in records(session / JOURNAL) if kind == "close")
    except sqlite3.OperationalError:  # the tables are being created
        return 0


def test_cr13_tripped_then_killed_restarts_halted_and_sends_no_entry(
    sessions: Sessions,
) -> None:
    """CR-13: kill switch tripped, then ``kill -9``, then restart.

    Pass: the engine restarts still halted and sends no new entry (a buy,
    for this long-only strategy) until an operator resets the switch; the
    trigger file's removal alone does not resume trading.
    """
    session = sessions.fresh()
    kill_file = session.parent / f"{session.name}-STOP"
    command = sessions.command(session, SMA, "--kill-file", str(kill_file))
    reference = sessions.reference(SMA)
    first = attempt(command, "close-journaled:20", env=sessions.env)
    assert first.killed, first.stderr
    tripped_after = max(r["ts"] for k, r in records(session / JOURNAL) if k == "close")
    kill_file.touch()
    # Halted for cycles 21-50: the clean run enters BBB at cycle 44 (checked below).
    halted = attempt(command, "close-journaled:30", env=sessions.env)
    assert halted.killed, halted.stderr
    kill_file.unlink()
    final = attempt(command, env=sessions.env)
    assert final.returncode == 0, final.stderr
    state = json.loads((session / KILL_STATE).read_text())
    assert state["tripped"] is True
    late_buys = [
        r["request"]["client_order_id"]
        for k, r in records(session / LEDGER)
        if k == "submit" and r["request"]["side"] == "buy" and r["now"] > tripped_after
    ]
    assert late_buys == []
    clean_late_buys = [
        r["request"]["client_order_id"]
        for k, r in records(reference.session / LEDGER)
        if k == "submit" and r["request"]["side"] == "buy" and r["now"] > tripped_after
    ]
    assert clean_late_buys, "the clean run must enter after the trip, or nothing is tested"
