"""The Redis journal against a real redis-server on loopback."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Protocol

import pytest
import redis

from alphagate.adapters.journal import (
    JournalClosedError,
    JournalError,
    JournalUnavailable,
    RedisJournal,
    SqliteJournal,
    mask_url,
)
from alphagate.adapters.journal import redis as redis_journal

RECORDS = [
    ("decision", {"symbol": "AAPL", "p_up": 0.61, "size": 0.25}),
    ("intent", {"client_id": "c1", "side": "buy", "qty": 10, "limit": None}),
    ("fill", {"client_id": "c1", "qty": 10, "price": 187.3100000001, "note": "é"}),
]


class Server(Protocol):
    port: int
    password: str | None

    @property
    def url(self) -> str: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_records_replay_in_order_with_seq_from_one(redis_url: str, stream_key: str):
    with RedisJournal(redis_url, stream_key) as journal:
        seqs = [journal.append(kind, record) for kind, record in RECORDS]
        assert seqs == [1, 2, 3]
        assert journal.last_seq == 3
        assert [(s, k, dict(r)) for s, k, r in journal.replay()] == [
            (i + 1, kind, record) for i, (kind, record) in enumerate(RECORDS)
        ]
        assert [s for s, _, _ in journal.replay(after=1)] == [2, 3]
        assert list(journal.replay(after=3)) == []


def test_the_stream_holds_the_same_bytes_as_the_sqlite_journal(
    redis_url: str, stream_key: str, tmp_path: Path
):
    """I5 across stores: a mirror can be compared with its primary byte for byte."""
    with RedisJournal(redis_url, stream_key) as rj, SqliteJournal(tmp_path / "j.db") as sj:
        for kind, record in RECORDS:
            rj.append(kind, record)
            sj.append(kind, record)
        raw = sj._conn.execute("SELECT record FROM journal ORDER BY seq").fetchall()
    entries = redis.Redis.from_url(redis_url).xrange(stream_key)
    assert [entry_id for entry_id, _ in entries] == [b"1-0", b"2-0", b"3-0"]
    assert [fields[b"record"] for _, fields in entries] == [row[0].encode() for row in raw]


def test_replay_pages_through_more_entries_than_one_page(
    redis_url: str, stream_key: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(redis_journal, "_PAGE", 4)
    with RedisJournal(redis_url, stream_key) as journal:
        for i in range(13):
            journal.append("tick", {"i": i})
        assert [(s, r["i"]) for s, _, r in journal.replay(after=5)] == [
            (i + 1, i) for i in range(5, 13)
        ]


def test_two_writers_on_one_stream_leave_no_holes(redis_url: str, stream_key: str):
    with RedisJournal(redis_url, stream_key) as a, RedisJournal(redis_url, stream_key) as b:
        seqs = [(a if i % 2 else b).append("tick", {"i": i}) for i in range(10)]
        assert seqs == list(range(1, 11))
        assert [s for s, _, _ in a.replay()] == list(range(1, 11))


def test_append_at_refuses_any_seq_but_the_next(redis_url: str, stream_key: str):
    with RedisJournal(redis_url, stream_key) as journal:
        journal.append_at(1, "tick", {})
        with pytest.raises(JournalError, match="next record is 2, not 3"):
            journal.append_at(3, "tick", {})
        with pytest.raises(JournalError, match="next record is 2, not 1"):
            journal.append_at(1, "tick", {})
        assert journal.last_seq == 1


def test_extend_copies_in_batches_and_stops_at_a_gap(
    redis_url: str, stream_key: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(redis_journal, "_BATCH", 3)
    with RedisJournal(redis_url, stream_key) as journal:
        assert journal.extend((i, "tick", {"i": i}) for i in range(1, 8)) == 7
        assert journal.last_seq == 7
        with pytest.raises(JournalError, match="next record is 8, not 9"):
            journal.extend([(9, "tick", {})])
        assert journal.last_seq == 7


def test_snapshots_the_latest_wins(redis_url: str, stream_key: str):
    with RedisJournal(redis_url, stream_key) as journal:
        assert journal.latest_snapshot() is None
        for kind, record in RECORDS:
            journal.append(kind, record)
        journal.snapshot(3, {"cash": 90.0})
        journal.snapshot(1, {"cash": 100.0})  # older than the stored one: kept out
        assert journal.latest_snapshot() == (3, {"cash": 90.0})
        with pytest.raises(JournalError, match="after record 4 but the last is 3"):
            journal.snapshot(4, {})


def test_non_json_values_are_refused_naming_the_field(redis_url: str, stream_key: str):
    with RedisJournal(redis_url, stream_key) as journal:
        with pytest.raises(JournalError, match=r"'x'.*finite"):
            journal.append("tick", {"x": float("inf")})
        assert journal.last_seq == 0


def test_an_unreachable_server_raises_unavailable_with_the_password_masked():
    url = f"redis://trader:s3cr%40t-pw@127.0.0.1:{_closed_port()}/0"
    with pytest.raises(JournalUnavailable) as caught:
        RedisJournal(url, "k", connect_timeout_s=0.5)
    message = str(caught.value)
    assert "redis://trader:***@127.0.0.1" in message
    assert "s3cr" not in message and "start redis-server" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_wrong_password_is_unavailable_and_never_printed(redis_server: Server):
    redis_server.stop()
    redis_server.password = "right-pw-123"
    redis_server.start()
    with RedisJournal(redis_server.url, "k") as journal:
        assert journal.append("tick", {}) == 1
    wrong = redis_server.url.replace("right-pw-123", "wrong-pw-456")
    with pytest.raises(JournalUnavailable) as caught:
        RedisJournal(wrong, "k")
    assert "wrong-pw-456" not in str(caught.value) and ":***@" in str(caught.value)


def test_a_server_gone_mid_run_raises_unavailable(redis_server: Server):
    journal = RedisJournal(redis_server.url, "k", timeout_s=1.0)
    journal.append("tick", {})
    redis_server.stop()
    with pytest.raises(JournalUnavailable, match="unreachable"):
        journal.append("tick", {})
    journal.close()


def test_fsync_required_refuses_a_server_without_appendfsync_always(
    redis_server: Server, stream_key: str
):
    RedisJournal(redis_server.url, stream_key, fsync=True).close()  # started with always
    client = redis.Redis.from_url(redis_server.url)
    client.config_set("appendfsync", "everysec")
    client.close()
    with pytest.raises(JournalError, match=r"appendfsync=everysec.*--appendfsync always"):
        RedisJournal(redis_server.url, stream_key, fsync=True)


def test_appending_after_close_raises(redis_url: str, stream_key: str):
    journal = RedisJournal(redis_url, stream_key)
    journal.close()
    with pytest.raises(JournalClosedError):
        journal.append("tick", {})


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@h:1/0", "redis://:***@h:1/0"),
        ("redis://user:p%40ss@h:1", "redis://user:***@h:1"),
        ("redis://user@h:1", "redis://user@h:1"),
        ("unix:///tmp/r.sock?db=0&password=pw", "unix:///tmp/r.sock?db=0&password=***"),
        ("redis://h:1/0", "redis://h:1/0"),
    ],
)
def test_mask_url_hides_passwords_only(url: str, shown: str):
    assert mask_url(url) == shown
