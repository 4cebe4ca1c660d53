"""The default journal: one SQLite file in WAL mode, one committed transaction per record.

Why these settings:

* ``journal_mode=WAL`` with ``synchronous=FULL``: a commit returns only once
  its WAL frame is fsynced, so a record :meth:`SqliteJournal.append`
  returned is on disk even if the process is ``kill -9``-ed or the power
  fails the next instant (RELIABILITY CR-05). WAL also lets a reader
  (``paper status``) look while the engine writes.
* One writer, enforced: two engines appending to one journal would
  interleave sequence numbers and both act on the same intents. SQLite's
  own lock is held only during a transaction, so an ``fcntl`` lock on a
  file beside the journal is held for the journal's whole life; the kernel
  drops it when the holder dies, so a crashed engine never blocks its
  restart.
* Sequence numbers are assigned here, one above the last, inside the
  transaction that stores the record: no holes, even across crashes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final

from alphagate.adapters.journal.encoding import decode_record, encode_record
from alphagate.adapters.journal.errors import (
    JournalClosedError,
    JournalError,
    JournalLockedError,
)
from alphagate.atomic import fsync_directory

SCHEMA_VERSION: Final = 1
_PAGE: Final = 1000  # records fetched per query while replaying
_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS journal ("
    "seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, record TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS snapshots (seq INTEGER PRIMARY KEY, state TEXT NOT NULL)",
)


class SqliteJournal:
    """A :class:`~alphagate.ports.Journal` in one SQLite file; the authoritative store.

    Parameters
    ----------
    path
        The journal file; its folder is created if missing. A lock file
        ``<path>.lock`` beside it names the writer's pid.
    readonly
        Open to read only (replay and snapshots), without taking the writer's
        lock, so a status command can read the journal of a running engine.

    Raises
    ------
    JournalLockedError
        Another live process is this journal's writer.
    JournalError
        The file is not a journal, was written by a newer alphagate, or
        cannot be opened; the message names the file.
    """

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self._path = Path(path)
        self._readonly = readonly
        self._lock: IO[str] | None = None
        self._closed = False
        if not readonly:
            self._lock = self._take_lock()
        try:
            created = not readonly and not self._path.exists()
            self._conn = self._connect()
            self._last_seq = self._prepare()
            if created:
                # The new file's (and its WAL's) directory entries must survive a power
                # loss too, or a durable record could sit in a file that vanishes.
                fsync_directory(self._path.parent)
        except OSError as exc:
            self._release_lock()
            raise JournalError(f"cannot create the journal {self._path}: {exc}") from None
        except BaseException:
            self._release_lock()
            raise

    @property
    def path(self) -> Path:
        """The journal file."""
        return self._path

    @property
    def last_seq(self) -> int:
        """The sequence number of the last record stored (0 when empty)."""
        if self._readonly:
            return self._read_last_seq()
        return self._last_seq

    def append(self, kind: str, record: Mapping[str, object]) -> int:
        """Store one record in its own committed, fsynced transaction; return its seq."""
        self._check_writable()
        if not isinstance(kind, str) or not kind:
            raise JournalError(f"{self._path}: a record's kind must be a non-empty string")
        text = encode_record(record)
        seq = self._last_seq + 1
        self._write("INSERT INTO journal (seq, kind, record) VALUES (?, ?, ?)", (seq, kind, text))
        self._last_seq = seq
        return seq

    def append_many(self, records: Sequence[tuple[str, Mapping[str, object]]]) -> int:
        """Store ``(kind, record)`` pairs in one fsynced transaction; return the last seq."""
        self._check_writable()
        rows: list[tuple[object, ...]] = []
        for offset, (kind, record) in enumerate(records, start=1):
            if not isinstance(kind, str) or not kind:
                raise JournalError(f"{self._path}: a record's kind must be a non-empty string")
            rows.append((self._last_seq + offset, kind, encode_record(record)))
        if rows:
            self._write_many("INSERT INTO journal (seq, kind, record) VALUES (?, ?, ?)", rows)
            self._last_seq += len(rows)
        return self._last_seq

    def replay(self, after: int = 0) -> Iterator[tuple[int, str, Mapping[str, object]]]:
        """Every record above ``after``, in order, fetched a page at a time.

        No statement stays open between pages, so the caller may append while
        iterating (it sees the records that existed when each page was read).
        """
        self._check_open()
        cursor = after
        while True:
            rows = self._read(
                "SELECT seq, kind, record FROM journal WHERE seq > ? ORDER BY seq LIMIT ?",
                (cursor, _PAGE),
            )
            for seq, kind, text in rows:
                yield seq, kind, self._decode(text, f"record {seq}")
            if len(rows) < _PAGE:
                return
            cursor = rows[-1][0]

    def snapshot(self, seq: int, state: Mapping[str, object]) -> None:
        """Store the state as of record ``seq``; a second snapshot at one seq replaces the first."""
        self._check_writable()
        if not 0 <= seq <= self._last_seq:
            raise JournalError(
                f"{self._path}: a snapshot after record {seq} is impossible: the journal "
                f"holds records 1 to {self._last_seq}"
            )
        text = encode_record(state)
        self._write("INSERT OR REPLACE INTO snapshots (seq, state) VALUES (?, ?)", (seq, text))

    def latest_snapshot(self) -> tuple[int, Mapping[str, object]] | None:
        """The snapshot with the highest seq, or ``None`` before the first."""
        self._check_open()
        rows = self._read("SELECT seq, state FROM snapshots ORDER BY seq DESC LIMIT 1", ())
        if not rows:
            return None
        seq, text = rows[0]
        return seq, self._decode(text, f"the snapshot after record {seq}")

    def integrity_ok(self) -> bool:
        """Whether ``PRAGMA integrity_check`` finds the file sound (run after every restart)."""
        self._check_open()
        return self._read("PRAGMA integrity_check", ()) == [("ok",)]

    def close(self) -> None:
        """Close the file and release the writer's lock; closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        try:
            self._conn.close()
        finally:
            self._release_lock()

    def __enter__(self) -> SqliteJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteJournal({str(self._path)!r})"

    # opening

    def _take_lock(self) -> IO[str]:
        lock_path = self._path.with_name(self._path.name + ".lock")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            handle = lock_path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise JournalError(f"cannot open the journal {self._path}: {exc}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise JournalLockedError(
                f"the journal {self._path} is already open for writing by process {holder}; "
                "a journal has one writer: stop that engine first, or give this one its "
                "own journal file"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return handle

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the descriptor releases the flock
            self._lock = None

    def _connect(self) -> sqlite3.Connection:
        try:
            if self._readonly:
                if not self._path.exists():
                    raise JournalError(f"the journal {self._path} does not exist")
                conn = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, isolation_level=None)
            else:
                conn = sqlite3.connect(self._path, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=5000")
            if not self._readonly:
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if mode != "wal":
                    raise JournalError(
                        f"the journal {self._path} cannot use WAL mode (got {mode!r}); "
                        "put it on a local file system"
                    )
                conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open the journal {self._path}: {exc}") from None
        return conn

    def _prepare(self) -> int:
        """Create the tables on first use, check the schema version, return the last seq."""
        try:
            if not self._readonly:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _SCHEMA:
                        self._conn.execute(statement)
                    self._conn.execute(
                        "INSERT OR IGNORE INTO journal_meta (key, value) "
                        "VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),),
                    )
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            row = self._conn.execute(
                "SELECT value FROM journal_meta WHERE key = 'schema_version'"
            ).fetchone()
        except sqlite3.Error as exc:
            self._conn.close()
            raise JournalError(
                f"{self._path} is not an alphagate journal or is damaged ({exc}); "
                "point the engine at its journal file, or move this file away"
            ) from None
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            self._conn.close()
            raise JournalError(
                f"the journal {self._path} has schema version {version}, written by a newer "
                f"alphagate; this one reads up to version {SCHEMA_VERSION}: upgrade alphagate"
            )
        return self._read_last_seq()

    # reading and writing

    def _read_last_seq(self) -> int:
        rows = self._read("SELECT COALESCE(MAX(seq), 0) FROM journal", ())
        return int(rows[0][0])

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        self._write_many(sql, [params])

    def _write_many(self, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(sql, rows)
                self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise JournalError(f"cannot write to the journal {self._path}: {exc}") from None

    def _read(self, sql: str, params: tuple[object, ...]) -> list[Any]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise JournalError(f"cannot read the journal {self._path}: {exc}") from None

    def _decode(self, text: object, what: str) -> dict[str, object]:
        try:
            return decode_record(text if isinstance(text, (str, bytes)) else str(text))
        except JournalError as exc:
            raise JournalError(f"{self._path}, {what}: {exc}") from None

    def _check_open(self) -> None:
        if self._closed:
            raise JournalClosedError(f"the journal {self._path} is closed")

    def _check_writable(self) -> None:
        self._check_open()
        if self._readonly:
            raise JournalError(f"the journal {self._path} was opened read-only")
