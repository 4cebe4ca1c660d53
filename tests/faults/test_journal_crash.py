"""CR-05 for the journal itself: ``kill -9`` at 20 seeded random moments while appending.

A child process appends records in a loop and prints each seq once
``append`` has returned. The parent kills it with SIGKILL at a seeded random
moment (often mid-write), reopens the journal as the next run would, and
checks: ``PRAGMA integrity_check`` is ok, the records are a gap-free prefix
of what the child tried (each record's content is a function of its seq, so
a torn or misplaced record shows), and every seq the child reported is
there (durable before return). The child resumes the same file each round,
so damage from one crash would surface in the next.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alphagate.adapters.journal import SqliteJournal

ROUNDS = 20
SEED = 20240517

_CHILD = """
import sys
from alphagate.adapters.journal import SqliteJournal

journal = SqliteJournal(sys.argv[1])
print("ready", flush=True)
while True:
    n = journal.last_seq + 1
    seq = journal.append("tick", {"n": n, "third": n / 3, "pad": "x" * (n % 613)})
    if seq % 25 == 0:
        journal.snapshot(seq, {"upto": seq})
    print(seq, flush=True)
"""


def _expected(n: int) -> dict[str, object]:
    return {"n": n, "third": n / 3, "pad": "x" * (n % 613)}


@pytest.mark.slow
def test_kill_9_at_random_moments_never_loses_or_damages_a_record(tmp_path: Path):
    path = tmp_path / "journal.db"
    rng = random.Random(SEED)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    stored = 0
    started = time.monotonic()
    for round_ in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, env=env
        )
        assert child.stdout is not None
        first = child.stdout.readline()
        assert first == b"ready\n", f"round {round_}: the child did not start: {first!r}"
        time.sleep(rng.uniform(0.0, 0.3))
        os.kill(child.pid, signal.SIGKILL)
        rest = child.stdout.read()
        child.wait(timeout=10)
        reported = [int(line) for line in rest.split()]

        with SqliteJournal(path) as journal:  # the lock died with the child
            assert journal.integrity_ok(), f"round {round_}: integrity_check failed"
            records = list(journal.replay())
            snapshot = journal.latest_snapshot()
        seqs = [seq for seq, _, _ in records]
        assert seqs == list(range(1, len(records) + 1)), f"round {round_}: holes in {seqs[-5:]}"
        for seq, kind, record in records:
            assert kind == "tick" and dict(record) == _expected(seq), f"record {seq} differs"
        assert len(records) >= stored, f"round {round_}: records lost after the crash"
        if reported:
            assert max(reported) <= len(records), (
                f"round {round_}: the child reported {max(reported)} appended, "
                f"but only {len(records)} survived"
            )
            assert reported == list(range(reported[0], reported[-1] + 1))
        if snapshot is not None:
            assert snapshot[0] <= len(records) and snapshot[1] == {"upto": snapshot[0]}
        stored = len(records)
    assert stored >= ROUNDS, f"only {stored} records in {ROUNDS} rounds: the kills came too early"
    assert time.monotonic() - started < 60
