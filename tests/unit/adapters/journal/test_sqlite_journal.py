"""The SQLite journal: durable ordered records, snapshots, one writer, clear refusals."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from alphagate.adapters.journal import (
    JournalClosedError,
    JournalError,
    JournalLockedError,
    SqliteJournal,
)
from alphagate.adapters.journal import sqlite as sqlite_journal

RECORDS = [
    ("decision", {"symbol": "AAPL", "p_up": 0.61, "size": 0.25}),
    ("intent", {"client_id": "c1", "side": "buy", "qty": 10, "limit": None}),
    ("fill", {"client_id": "c1", "qty": 10, "price": 187.3100000001, "tags": ["a", "b"]}),
    ("risk", {"rule": "max_drawdown", "breached": False, "nested": {"y": [1, {"z": -0.0}]}}),
]


def _feed(journal: SqliteJournal, records=RECORDS) -> list[int]:
    return [journal.append(kind, record) for kind, record in records]


def test_records_replay_in_order_with_seq_from_one_and_no_holes(tmp_path: Path):
    with SqliteJournal(tmp_path / "j.db") as journal:
        seqs = _feed(journal)
        replayed = list(journal.replay())
    assert seqs == [1, 2, 3, 4]
    assert [(seq, kind, dict(rec)) for seq, kind, rec in replayed] == [
        (i + 1, kind, rec) for i, (kind, rec) in enumerate(RECORDS)
    ]


def test_replay_after_returns_only_later_records(tmp_path: Path):
    with SqliteJournal(tmp_path / "j.db") as journal:
        _feed(journal)
        assert [seq for seq, _, _ in journal.replay(after=2)] == [3, 4]
        assert list(journal.replay(after=4)) == []


def test_replay_pages_through_more_records_than_one_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(sqlite_journal, "_PAGE", 3)
    with SqliteJournal(tmp_path / "j.db") as journal:
        for i in range(11):
            journal.append("tick", {"i": i})
        seen = [(seq, rec["i"]) for seq, _, rec in journal.replay(after=2)]
    assert seen == [(i + 1, i) for i in range(2, 11)]


def test_seq_continues_after_reopening(tmp_path: Path):
    path = tmp_path / "j.db"
    with SqliteJournal(path) as journal:
        _feed(journal)
    with SqliteJournal(path) as journal:
        assert journal.last_seq == 4
        assert journal.append("tick", {}) == 5
        assert [seq for seq, _, _ in journal.replay()] == [1, 2, 3, 4, 5]


def test_the_stored_rows_are_the_canonical_json(tmp_path: Path):
    path = tmp_path / "j.db"
    with SqliteJournal(path) as journal:
        journal.append("fill", {"qty": 1, "price": 0.1, "a": "é"})
    rows = sqlite3.connect(path).execute("SELECT seq, kind, record FROM journal").fetchall()
    assert rows == [(1, "fill", '{"a":"é","price":0.1,"qty":1}')]


def test_snapshots_the_latest_wins_and_one_per_seq(tmp_path: Path):
    with SqliteJournal(tmp_path / "j.db") as journal:
        assert journal.latest_snapshot() is None
        _feed(journal)
        journal.snapshot(2, {"cash": 100.0, "positions": {}})
        journal.snapshot(4, {"cash": 90.0, "positions": {"AAPL": 10}})
        assert journal.latest_snapshot() == (4, {"cash": 90.0, "positions": {"AAPL": 10}})
        journal.snapshot(4, {"cash": 91.0})
        assert journal.latest_snapshot() == (4, {"cash": 91.0})


def test_a_snapshot_past_the_last_record_is_refused(tmp_path: Path):
    with SqliteJournal(tmp_path / "j.db") as journal:
        _feed(journal)
        with pytest.raises(JournalError, match=r"after record 5 is impossible.*1 to 4"):
            journal.snapshot(5, {})


def test_snapshots_survive_reopening(tmp_path: Path):
    path = tmp_path / "j.db"
    with SqliteJournal(path) as journal:
        _feed(journal)
        journal.snapshot(3, {"cash": 1.5})
    with SqliteJournal(path) as journal:
        assert journal.latest_snapshot() == (3, {"cash": 1.5})


def test_the_file_is_wal_with_full_sync_and_passes_integrity_check(tmp_path: Path):
    path = tmp_path / "j.db"
    with SqliteJournal(path) as journal:
        _feed(journal)
        assert journal.integrity_ok()
        assert journal._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_two_journals_fed_the_same_records_are_byte_identical(tmp_path: Path):
    """RELIABILITY I5: equal runs write equal journals, record bytes and file contents."""
    paths = [tmp_path / "a.db", tmp_path / "b.db"]
    for index, path in enumerate(paths):
        with SqliteJournal(path) as journal:
            # Each run builds its records afresh, keys in a different order.
            for kind, record in RECORDS:
                shuffled = dict(reversed(list(record.items()))) if index else dict(record)
                journal.append(kind, shuffled)
            journal.snapshot(4, {"b": 2.5, "a": [1]} if index else {"a": [1], "b": 2.5})

    def dump(path: Path) -> tuple[list[tuple[int, str, bytes]], list[str]]:
        conn = sqlite3.connect(path)
        rows = conn.execute(
            "SELECT seq, kind, CAST(record AS BLOB) FROM journal ORDER BY seq"
        ).fetchall()
        return rows, list(conn.iterdump())

    rows_a, dump_a = dump(paths[0])
    rows_b, dump_b = dump(paths[1])
    assert rows_a == rows_b
    assert len(rows_a) == len(RECORDS)
    assert dump_a == dump_b
    # The bytes are the canonical spelling, checked against an independent encoder call.
    expected = json.dumps(RECORDS[2][1], sort_keys=True, separators=(",", ":"))
    assert rows_a[2][2] == expected.encode()


def test_a_second_writer_in_this_process_is_refused_naming_the_file_and_pid(tmp_path: Path):
    path = tmp_path / "j.db"
    expected = rf"{re.escape(str(path))}.*process {os.getpid()}"
    with SqliteJournal(path), pytest.raises(JournalLockedError, match=expected):
        SqliteJournal(path)


def test_a_second_writer_in_another_process_is_refused(tmp_path: Path):
    path = tmp_path / "j.db"
    script = (
        "import sys\n"
        "from alphagate.adapters.journal import SqliteJournal, JournalLockedError\n"
        "try:\n    SqliteJournal(sys.argv[1])\n"
        "except JournalLockedError as exc:\n    print(exc); sys.exit(3)\n"
    )
    with SqliteJournal(path) as journal:
        journal.append("tick", {})
        child = subprocess.run(
            [sys.executable, "-c", script, str(path)],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert child.returncode == 3, child.stderr
    assert "already open for writing" in child.stdout and str(path) in child.stdout


def test_the_lock_is_released_on_close(tmp_path: Path):
    path = tmp_path / "j.db"
    SqliteJournal(path).close()
    with SqliteJournal(path) as journal:
        assert journal.append("tick", {}) == 1


def test_a_reader_opens_beside_the_writer_and_cannot_write(tmp_path: Path):
    path = tmp_path / "j.db"
    with SqliteJournal(path) as writer, SqliteJournal(path, readonly=True) as reader:
        _feed(writer)
        writer.snapshot(1, {"x": 1})
        assert [seq for seq, _, _ in reader.replay()] == [1, 2, 3, 4]
        assert reader.last_seq == 4
        assert reader.latest_snapshot() == (1, {"x": 1})
        with pytest.raises(JournalError, match="read-only"):
            reader.append("tick", {})


def test_appending_after_close_raises(tmp_path: Path):
    journal = SqliteJournal(tmp_path / "j.db")
    journal.close()
    journal.close()
    with pytest.raises(JournalClosedError, match="closed"):
        journal.append("tick", {})


def test_a_record_with_nan_is_refused_and_nothing_is_stored(tmp_path: Path):
    with SqliteJournal(tmp_path / "j.db") as journal:
        with pytest.raises(JournalError, match="'price'"):
            journal.append("fill", {"price": float("nan")})
        assert journal.append("fill", {"price": 1.0}) == 1


def test_a_newer_schema_version_is_refused_with_the_fix(tmp_path: Path):
    path = tmp_path / "j.db"
    SqliteJournal(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE journal_meta SET value = '99' WHERE key = 'schema_version'")
    expected = rf"{re.escape(str(path))}.*schema version 99.*upgrade alphagate"
    with pytest.raises(JournalError, match=expected):
        SqliteJournal(path)
    with SqliteJournal(path.with_name("fresh.db")):
        pass  # the refusal released the lock it took: a fresh journal still opens


def test_a_file_that_is_not_a_database_is_refused_naming_it(tmp_path: Path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not sqlite " * 100)
    with pytest.raises(JournalError, match=re.escape(str(path))):
        SqliteJournal(path)
    path.unlink()
    with SqliteJournal(path) as journal:  # the lock was released by the failed open
        assert journal.append("tick", {}) == 1


def test_a_read_only_open_of_a_missing_file_is_refused(tmp_path: Path):
    with pytest.raises(JournalError, match="does not exist"):
        SqliteJournal(tmp_path / "none.db", readonly=True)
