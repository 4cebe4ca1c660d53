"""A journal in a Redis Stream: for a second copy another machine can read live.

Records are stream entries with explicit ids ``<seq>-0`` and fields
``kind`` and ``record`` (the canonical JSON of
:mod:`~alphagate.adapters.journal.encoding`, so the bytes equal the SQLite
journal's). A Lua script reads the last id and adds the next one in one
atomic step, so sequence numbers have no holes even with two writers, and a
caller that knows which seq a record must get (the mirror catching up) has
the script refuse any other. The latest snapshot lives in a hash beside the
stream, ``<stream_key>:snapshot``.

Nothing is retried: a write whose reply was lost may have happened, and a
blind retry would store the record twice (RELIABILITY: at most once, then
reconcile). The caller learns of the failure as :class:`JournalUnavailable`
and the mirror reconciles by reading the stream's last seq.

Durability is Redis's own: ``fsync=True`` refuses a server not running
``appendonly yes`` with ``appendfsync always``, and ``replicas=N`` waits
(``WAIT``) for N replicas after each append.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from alphagate.adapters.journal.encoding import decode_record, encode_record
from alphagate.adapters.journal.errors import (
    JournalClosedError,
    JournalError,
    JournalUnavailable,
)

_PAGE: Final = 1000
_BATCH: Final = 500  # records per pipelined round trip while catching up

_APPEND: Final = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local seq = 1
if #last > 0 then seq = tonumber(string.match(last[1][1], '^(%d+)-')) + 1 end
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= seq then
  return redis.error_reply('SEQ the next record is ' .. seq .. ', not ' .. ARGV[3])
end
redis.call('XADD', KEYS[1], string.format('%d-0', seq), 'kind', ARGV[1], 'record', ARGV[2])
return seq
"""

_SNAPSHOT: Final = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local top = 0
if #last > 0 then top = tonumber(string.match(last[1][1], '^(%d+)-')) end
local seq = tonumber(ARGV[1])
if seq > top then
  return redis.error_reply('SEQ a snapshot after record ' .. seq .. ' but the last is ' .. top)
end
local current = redis.call('HGET', KEYS[2], 'seq')
if current and tonumber(current) > seq then return 0 end
redis.call('HSET', KEYS[2], 'seq', ARGV[1], 'state', ARGV[2])
return 1
"""


def mask_url(url: str) -> str:
    """``url`` with its password (in the user part or a ``password=`` query) shown as ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:***@{host}" if colon else netloc
    query = parts.query
    if query:
        pairs = [
            (key, "***" if key.lower() == "password" else value)
            for key, value in parse_qsl(query, keep_blank_values=True)
        ]
        query = urlencode(pairs, safe="*/:")
    if "://" not in url:
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    # Joined by hand: urlunsplit drops the empty authority of unix:///path.
    return (
        f"{parts.scheme}://{netloc}{parts.path}"
        + (f"?{query}" if query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


def _secrets(url: str) -> list[str]:
    """The password as it may appear in an error text: raw and percent-decoded."""
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [value for key, value in parse_qsl(parts.query) if key.lower() == "password"]
    return [text for secret in found for text in {secret, unquote(secret)} if text]


class RedisJournal:
    """A :class:`~alphagate.ports.Journal` in a Redis Stream.

    Parameters
    ----------
    url
        ``redis://[user:password@]host:port/db``, ``rediss://...`` or
        ``unix://...``. Messages show it with the password masked.
    stream_key
        The stream's key; one journal per key.
    fsync
        Refuse a server that does not fsync every write (``appendonly yes``,
        ``appendfsync always``).
    replicas
        After each append, wait until this many replicas hold it.
    verify
        Connect and check the server now. The mirror passes ``False`` so a
        server that is down at start degrades it instead of stopping it.

    Raises
    ------
    JournalUnavailable
        The server cannot be reached (only with ``verify=True``).
    JournalError
        The server's durability settings fall short of ``fsync``.
    """

    def __init__(
        self,
        url: str,
        stream_key: str,
        *,
        fsync: bool = False,
        replicas: int = 0,
        wait_timeout_ms: int = 1000,
        connect_timeout_s: float = 2.0,
        timeout_s: float = 5.0,
        verify: bool = True,
    ) -> None:
        if not stream_key:
            raise JournalError("a Redis journal needs a non-empty stream key")
        self._url = url
        self._where = f"the Redis journal {stream_key!r} at {mask_url(url)}"
        self._secrets = _secrets(url)
        self._key = stream_key
        self._snapshot_key = f"{stream_key}:snapshot"
        self._fsync = fsync
        self._replicas = replicas
        self._wait_timeout_ms = wait_timeout_ms
        self._closed = False
        try:
            self._client: redis.Redis = redis.Redis.from_url(
                url,
                socket_connect_timeout=connect_timeout_s,
                socket_timeout=timeout_s,
                retry=Retry(NoBackoff(), 0),
            )
        except ValueError as exc:
            raise JournalError(
                f"{self._where}: the URL is malformed ({self._scrub(exc)})"
            ) from None
        self._append_script = self._client.register_script(_APPEND)
        self._snapshot_script = self._client.register_script(_SNAPSHOT)
        if verify:
            self.check()

    @property
    def stream_key(self) -> str:
        """The stream's key."""
        return self._key

    def check(self) -> None:
        """Ping the server and check its durability settings; raise if it falls short."""
        self._check_open()
        self._call(self._client.ping)
        if self._fsync:
            config: dict[bytes, bytes] = self._call(
                lambda: {
                    **self._client.config_get("appendonly"),
                    **self._client.config_get("appendfsync"),
                }
            )
            settings = {_text(key): _text(value) for key, value in config.items()}
            if settings.get("appendonly") != "yes" or settings.get("appendfsync") != "always":
                raise JournalError(
                    f"{self._where} must fsync every write, but the server runs appendonly="
                    f"{settings.get('appendonly')} appendfsync={settings.get('appendfsync')}: "
                    "start redis-server with --appendonly yes --appendfsync always"
                )

    @property
    def last_seq(self) -> int:
        """The sequence number of the last record stored (0 when empty); one round trip."""
        self._check_open()
        entries = self._call(lambda: self._client.xrevrange(self._key, count=1))
        return _seq(entries[0][0]) if entries else 0

    def append(self, kind: str, record: Mapping[str, object]) -> int:
        """Store one record as the stream's next entry; return its seq."""
        return self._append(kind, record, "")

    def append_many(self, records: Sequence[tuple[str, Mapping[str, object]]]) -> int:
        """Store ``(kind, record)`` pairs as the next entries, pipelined; return the last seq.

        Each entry is added by the next-seq script, so a failure part way
        leaves a prefix of the batch, never a hole.
        """
        first = self.last_seq + 1
        self.extend((first + i, kind, record) for i, (kind, record) in enumerate(records))
        return first + len(records) - 1

    def append_at(self, seq: int, kind: str, record: Mapping[str, object]) -> None:
        """Store one record that must get sequence number ``seq`` (the mirror's copy)."""
        self._append(kind, record, str(seq))

    def extend(self, records: Iterable[tuple[int, str, Mapping[str, object]]]) -> int:
        """Store records (seq, kind, record) that continue the stream, pipelined; return the count.

        Each must be the stream's next seq; the first that is not stops the
        copy with an error, leaving the earlier ones stored.
        """
        self._check_open()
        count = 0
        batch: list[tuple[int, str, str]] = []
        for seq, kind, record in records:
            batch.append((seq, kind, encode_record(record)))
            if len(batch) == _BATCH:
                count += self._send_batch(batch)
                batch = []
        if batch:
            count += self._send_batch(batch)
        return count

    def replay(self, after: int = 0) -> Iterator[tuple[int, str, Mapping[str, object]]]:
        """Every record above ``after``, in order, a page of entries per round trip."""
        self._check_open()
        start = f"{after + 1}-0"
        while True:
            entries = self._call(
                lambda start=start: self._client.xrange(self._key, min=start, count=_PAGE)
            )
            for entry_id, fields in entries:
                seq = _seq(entry_id)
                yield seq, _text(fields[b"kind"]), self._decode(fields[b"record"], f"record {seq}")
            if len(entries) < _PAGE:
                return
            start = f"{_seq(entries[-1][0]) + 1}-0"

    def snapshot(self, seq: int, state: Mapping[str, object]) -> None:
        """Store the state as of record ``seq``, unless a later snapshot is already stored."""
        self._check_open()
        text = encode_record(state)
        self._call(
            lambda: self._snapshot_script(keys=[self._key, self._snapshot_key], args=[seq, text])
        )

    def latest_snapshot(self) -> tuple[int, Mapping[str, object]] | None:
        """The stored snapshot as (seq, state), or ``None`` before the first."""
        self._check_open()
        fields: dict[bytes, bytes] = self._call(lambda: self._client.hgetall(self._snapshot_key))
        if not fields:
            return None
        seq = int(fields[b"seq"])
        return seq, self._decode(fields[b"state"], f"the snapshot after record {seq}")

    def close(self) -> None:
        """Close the connections; closing twice is harmless."""
        if not self._closed:
            self._closed = True
            self._client.close()

    def __enter__(self) -> RedisJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RedisJournal({mask_url(self._url)!r}, {self._key!r})"

    def _append(self, kind: str, record: Mapping[str, object], expected: str) -> int:
        self._check_open()
        if not isinstance(kind, str) or not kind:
            raise JournalError(f"{self._where}: a record's kind must be a non-empty string")
        text = encode_record(record)
        seq = int(
            self._call(lambda: self._append_script(keys=[self._key], args=[kind, text, expected]))
        )
        self._wait_for_replicas(seq)
        return seq

    def _send_batch(self, batch: list[tuple[int, str, str]]) -> int:
        def send() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for seq, kind, text in batch:
                self._append_script(keys=[self._key], args=[kind, text, str(seq)], client=pipe)
            return pipe.execute(raise_on_error=True)

        self._call(send)
        self._wait_for_replicas(batch[-1][0])
        return len(batch)

    def _wait_for_replicas(self, seq: int) -> None:
        if self._replicas <= 0:
            return
        acked = int(self._call(lambda: self._client.wait(self._replicas, self._wait_timeout_ms)))
        if acked < self._replicas:
            raise JournalUnavailable(
                f"{self._where}: record {seq} reached {acked} of {self._replicas} replicas "
                f"within {self._wait_timeout_ms} ms"
            )

    def _call(self, action: Any) -> Any:
        """Run one Redis call, turning its failures into journal errors that hide the password.

        Typed ``Any``: redis-py types each reply as a union over its sync,
        async and decoded modes; with ``decode_responses`` off, replies are
        bytes, and the call sites read them as such.
        """
        try:
            return action()
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise JournalUnavailable(
                f"{self._where} is unreachable ({type(exc).__name__}: {self._scrub(exc)}); "
                "start redis-server or fix the URL"
            ) from None
        except ResponseError as exc:
            raise JournalError(f"{self._where} refused a command: {self._scrub(exc)}") from None
        except RedisError as exc:
            raise JournalError(f"{self._where}: {type(exc).__name__}: {self._scrub(exc)}") from None

    def _scrub(self, exc: BaseException) -> str:
        text = str(exc)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _decode(self, raw: bytes, what: str) -> dict[str, object]:
        try:
            return decode_record(raw)
        except JournalError as exc:
            raise JournalError(f"{self._where}, {what}: {exc}") from None

    def _check_open(self) -> None:
        if self._closed:
            raise JournalClosedError(f"{self._where} is closed")


def _seq(entry_id: bytes | str) -> int:
    return int(_text(entry_id).partition("-")[0])


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
