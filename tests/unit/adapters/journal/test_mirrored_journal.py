"""SQLite first, Redis mirror second: a Redis outage loses nothing and heals (CR-12)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Protocol

import pytest
import redis

from alphagate.adapters.journal import (
    MirroredJournal,
    RedisJournal,
    SqliteJournal,
    open_journal,
)


class Server(Protocol):
    port: int

    @property
    def url(self) -> str: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


class Clock:
    """A hand-moved monotonic clock, so retry intervals need no sleeping."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Listener:
    def __init__(self) -> None:
        self.calls: list[tuple[bool, str]] = []

    def __call__(self, degraded: bool, reason: str) -> None:
        self.calls.append((degraded, reason))


def _stream(url: str, key: str) -> list[tuple[bytes, bytes]]:
    client = redis.Redis.from_url(url)
    try:
        return [(entry_id, fields[b"record"]) for entry_id, fields in client.xrange(key)]
    finally:
        client.close()


def _sqlite_rows(journal: SqliteJournal) -> list[tuple[bytes, bytes]]:
    rows = journal._conn.execute("SELECT seq, record FROM journal ORDER BY seq").fetchall()
    return [(f"{seq}-0".encode(), text.encode()) for seq, text in rows]


def _mirrored(tmp_path: Path, url: str, key: str, **options) -> MirroredJournal:
    mirror = RedisJournal(url, key, verify=False, connect_timeout_s=0.5, timeout_s=1.0)
    return MirroredJournal(SqliteJournal(tmp_path / "j.db"), mirror, **options)


def test_a_healthy_mirror_holds_every_record_and_the_snapshot(
    tmp_path: Path, redis_url: str, stream_key: str
):
    listener = Listener()
    with _mirrored(tmp_path, redis_url, stream_key, on_change=listener) as journal:
        for i in range(5):
            assert journal.append("tick", {"i": i, "p": i / 7}) == i + 1
        journal.snapshot(5, {"cash": 1.25})
        assert not journal.degraded and journal.degraded_reason is None
        assert _stream(redis_url, stream_key) == _sqlite_rows(journal.primary)
        assert journal.mirror.latest_snapshot() == (5, {"cash": 1.25})
        assert journal.latest_snapshot() == (5, {"cash": 1.25})
    assert listener.calls == []


def test_redis_killed_mid_run_keeps_sqlite_then_catches_up_after_restart(
    tmp_path: Path, redis_server: Server, stream_key: str
):
    clock, listener = Clock(), Listener()
    journal = _mirrored(
        tmp_path, redis_server.url, stream_key, on_change=listener, clock=clock,
        retry_interval_s=5.0,
    )  # fmt: skip
    for i in range(3):
        journal.append("tick", {"i": i})
    redis_server.stop()

    seqs = [journal.append("tick", {"i": i}) for i in range(3, 10)]
    assert seqs == list(range(4, 11))  # every append returned: SQLite kept them
    assert journal.degraded and "record 4" in (journal.degraded_reason or "")
    assert listener.calls and listener.calls[0][0] is True
    assert len(listener.calls) == 1  # told once, not once per append
    assert [rec["i"] for _, _, rec in journal.replay()] == list(range(10))

    redis_server.start()
    journal.append("tick", {"i": 10})  # within the retry interval: no attempt yet
    assert journal.degraded
    clock.now += 6.0
    assert journal.append("tick", {"i": 11}) == 12  # this one triggers the catch-up
    assert not journal.degraded
    assert listener.calls[-1] == (False, "caught up")
    assert _stream(redis_server.url, stream_key) == _sqlite_rows(journal.primary)
    journal.append("tick", {"i": 12})
    assert _stream(redis_server.url, stream_key) == _sqlite_rows(journal.primary)
    journal.close()


def test_redis_down_at_start_starts_degraded_and_catch_up_heals_it(
    tmp_path: Path, redis_server: Server, stream_key: str
):
    redis_server.stop()
    listener = Listener()
    journal = _mirrored(tmp_path, redis_server.url, stream_key, on_change=listener)
    assert journal.degraded and "unreachable" in (journal.degraded_reason or "")
    assert listener.calls[0][0] is True
    for i in range(4):
        journal.append("tick", {"i": i})
    journal.snapshot(4, {"cash": 3.0})

    redis_server.start()
    assert journal.catch_up()
    assert not journal.degraded
    assert _stream(redis_server.url, stream_key) == _sqlite_rows(journal.primary)
    assert journal.mirror.latest_snapshot() == (4, {"cash": 3.0})
    journal.close()


def test_a_mirror_ahead_of_sqlite_stays_degraded_naming_the_stream(
    tmp_path: Path, redis_url: str, stream_key: str
):
    with RedisJournal(redis_url, stream_key) as stale:
        for i in range(3):
            stale.append("tick", {"i": i})
    with _mirrored(tmp_path, redis_url, stream_key) as journal:
        assert journal.degraded
        assert "up to 3" in (journal.degraded_reason or "")
        assert stream_key in (journal.degraded_reason or "")
        assert journal.append("tick", {"i": 0}) == 1  # SQLite still takes records


def test_a_mirror_whose_last_record_differs_stays_degraded(
    tmp_path: Path, redis_url: str, stream_key: str
):
    with RedisJournal(redis_url, stream_key) as stale:
        stale.append("tick", {"i": "other run"})
    primary = SqliteJournal(tmp_path / "j.db")
    primary.append("tick", {"i": 0})
    mirror = RedisJournal(redis_url, stream_key, verify=False)
    with MirroredJournal(primary, mirror) as journal:
        assert journal.degraded and "differs" in (journal.degraded_reason or "")


def test_a_failing_listener_does_not_stop_journaling(tmp_path: Path, stream_key: str):
    def explode(degraded: bool, reason: str) -> None:
        raise RuntimeError("notifier down")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with _mirrored(tmp_path, f"redis://127.0.0.1:{port}/0", stream_key, on_change=explode) as j:
        assert j.degraded
        assert j.append("tick", {}) == 1


def test_open_journal_builds_a_mirrored_journal_from_one_url(
    tmp_path: Path, redis_url: str, stream_key: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///j.db?mirror={redis_url}%3Fstream%3D{stream_key}"
    journal = open_journal(url)
    assert isinstance(journal, MirroredJournal)
    journal.append("tick", {"x": 1})
    journal.close()
    assert (tmp_path / "j.db").exists()
    assert [entry_id for entry_id, _ in _stream(redis_url, stream_key)] == [b"1-0"]
