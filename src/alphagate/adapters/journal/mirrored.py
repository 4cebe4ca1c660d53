"""SQLite authoritative, Redis a best-effort copy: the journal for RELIABILITY CR-12.

"Redis down at start, or mid-run": the engine must not lose a record nor
trade on unknown state, and it need not stop either, since the SQLite
journal alone is enough to recover. So every record goes to SQLite first,
and only then to the mirror; a mirror failure marks the mirror degraded
(a property the health registry reads, and a callback for notices) and
never reaches the caller. While degraded, appends go to SQLite only, and
at most every ``retry_interval_s`` an append tries to catch the mirror up
by copying what it lacks from SQLite; :meth:`MirroredJournal.catch_up`
does the same on demand (a timer in the runner).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from alphagate.adapters.journal.errors import JournalError
from alphagate.adapters.journal.redis import RedisJournal
from alphagate.adapters.journal.sqlite import SqliteJournal

_log = logging.getLogger(__name__)

MirrorListener = Callable[[bool, str], None]
"""Told ``(degraded, reason)`` each time the mirror falls behind or catches up."""


class MirroredJournal:
    """A :class:`~alphagate.ports.Journal` writing SQLite (authoritative), then a Redis mirror.

    Reads (replay, snapshots) come from SQLite. Construction tries to catch
    the mirror up at once, so a mirror that is down at start begins degraded.
    """

    def __init__(
        self,
        primary: SqliteJournal,
        mirror: RedisJournal,
        *,
        on_change: MirrorListener | None = None,
        retry_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._primary = primary
        self._mirror = mirror
        self._on_change = on_change
        self._retry_interval_s = retry_interval_s
        self._clock = clock
        self._degraded_reason: str | None = None
        self._next_try = 0.0
        self.catch_up()

    @property
    def primary(self) -> SqliteJournal:
        """The authoritative journal."""
        return self._primary

    @property
    def mirror(self) -> RedisJournal:
        """The copy."""
        return self._mirror

    @property
    def degraded(self) -> bool:
        """Whether the mirror lags SQLite (down, or not yet caught up)."""
        return self._degraded_reason is not None

    @property
    def degraded_reason(self) -> str | None:
        """Why the mirror lags, or ``None`` while it holds every record."""
        return self._degraded_reason

    def append(self, kind: str, record: Mapping[str, object]) -> int:
        """Store in SQLite (durable before return), then copy to the mirror if it is healthy."""
        seq = self._primary.append(kind, record)
        if self._degraded_reason is None:
            try:
                self._mirror.append_at(seq, kind, record)
            except JournalError as exc:
                self._degrade(f"appending record {seq} failed: {exc}")
        elif self._clock() >= self._next_try:
            self.catch_up()
        return seq

    def append_many(self, records: Sequence[tuple[str, Mapping[str, object]]]) -> int:
        """Store the batch in SQLite (durable before return), then copy it to a healthy mirror."""
        last = self._primary.append_many(records)
        first = last - len(records) + 1
        if self._degraded_reason is None:
            try:
                self._mirror.extend((first + i, k, r) for i, (k, r) in enumerate(records))
            except JournalError as exc:
                self._degrade(f"appending records {first}..{last} failed: {exc}")
        elif self._clock() >= self._next_try:
            self.catch_up()
        return last

    def replay(self, after: int = 0) -> Iterator[tuple[int, str, Mapping[str, object]]]:
        """Every record above ``after``, from SQLite."""
        return self._primary.replay(after)

    def snapshot(self, seq: int, state: Mapping[str, object]) -> None:
        """Store the snapshot in SQLite, then in the mirror if it is healthy."""
        self._primary.snapshot(seq, state)
        if self._degraded_reason is None:
            try:
                self._mirror.snapshot(seq, state)
            except JournalError as exc:
                self._degrade(f"storing the snapshot after record {seq} failed: {exc}")

    def latest_snapshot(self) -> tuple[int, Mapping[str, object]] | None:
        """The latest snapshot, from SQLite."""
        return self._primary.latest_snapshot()

    def catch_up(self) -> bool:
        """Copy to the mirror what it lacks; return whether it now holds every record.

        A mirror holding records SQLite does not, or whose last record differs
        from SQLite's (a stale stream from another journal), stays degraded:
        its stream must be deleted or renamed by hand, since only SQLite is
        known to be right.
        """
        self._next_try = self._clock() + self._retry_interval_s
        try:
            self._mirror.check()
            behind = self._mirror.last_seq
            ahead = self._primary.last_seq
            if behind > ahead:
                self._degrade(
                    f"the mirror holds records up to {behind} but the authoritative journal "
                    f"{self._primary.path} ends at {ahead}: delete the stream "
                    f"{self._mirror.stream_key!r} or use another key"
                )
                return False
            if behind and not self._same_record(behind):
                self._degrade(
                    f"the mirror's record {behind} differs from the authoritative journal "
                    f"{self._primary.path}: delete the stream {self._mirror.stream_key!r} "
                    "or use another key"
                )
                return False
            self._mirror.extend(self._primary.replay(behind))
            latest = self._primary.latest_snapshot()
            if latest is not None:
                mirrored = self._mirror.latest_snapshot()
                if mirrored is None or mirrored[0] < latest[0]:
                    self._mirror.snapshot(*latest)
        except JournalError as exc:
            self._degrade(f"catching up failed: {exc}")
            return False
        if self._degraded_reason is not None:
            self._degraded_reason = None
            _log.warning("journal mirror %s caught up", self._mirror.stream_key)
            self._tell(degraded=False, reason="caught up")
        return True

    def close(self) -> None:
        """Close both; a mirror that fails to close does not keep SQLite open."""
        try:
            self._primary.close()
        finally:
            self._mirror.close()

    def __enter__(self) -> MirroredJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _same_record(self, seq: int) -> bool:
        """Whether both journals hold the same record ``seq`` (a cheap check for a stale stream)."""
        mine = next(self._primary.replay(seq - 1), None)
        theirs = next(self._mirror.replay(seq - 1), None)
        return mine is not None and mine == theirs

    def _degrade(self, reason: str) -> None:
        first = self._degraded_reason is None
        self._degraded_reason = reason
        self._next_try = self._clock() + self._retry_interval_s
        if first:
            _log.warning("journal mirror degraded (SQLite stays authoritative): %s", reason)
            self._tell(degraded=True, reason=reason)

    def _tell(self, *, degraded: bool, reason: str) -> None:
        """Call the listener; a listener that fails must not stop journaling."""
        if self._on_change is None:
            return
        try:
            self._on_change(degraded, reason)
        except Exception:
            _log.exception("the journal mirror's listener failed")
