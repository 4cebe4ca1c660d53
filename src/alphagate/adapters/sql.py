"""The relational store for trading state and system events, through SQLAlchemy.

SQLite is the default because a single-user trading box needs no server; it
is made safe for that job on every connection:

* ``journal_mode=WAL`` lets the monitor read while the engine writes;
* ``synchronous=FULL`` makes a committed event survive power loss, which an
  audit trail of orders and risk decisions must;
* ``foreign_keys=ON`` because SQLite ignores them otherwise;
* ``busy_timeout=5000`` so a second process waits for the lock instead of
  failing at once with "database is locked".

A PostgreSQL URL works unchanged. Its password comes from the environment
(``storage.database_password``) and is set on the parsed URL, never pasted
into a string, so it cannot leak through a log line or an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from alphagate.errors import ConfigError

_log = logging.getLogger(__name__)

SQLITE_PRAGMAS: tuple[str, ...] = (
    "PRAGMA busy_timeout=5000",  # first, so the journal-mode switch waits for a lock too
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
)

metadata = MetaData()

system_events = Table(
    "system_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", DateTime(timezone=True), nullable=False, index=True),
    Column("kind", String(64), nullable=False, index=True),
    Column("source", String(128), nullable=True),
    Column("message", Text, nullable=False),
    # none_as_null: a missing payload is SQL NULL, not the JSON text 'null'.
    Column("payload", JSON(none_as_null=True), nullable=True),
)


@dataclass(frozen=True)
class SystemEvent:
    """One row of ``system_events``; ``ts`` is always tz-aware UTC."""

    id: int
    ts: datetime
    kind: str
    source: str | None
    message: str
    payload: dict[str, Any] | None


def create_db_engine(url: str, password: SecretStr | None = None) -> Engine:
    """Create an engine for ``url``, hardening SQLite and setting ``password`` if given.

    For a SQLite file the parent directory is created, so a fresh checkout
    works with the default ``sqlite:///state/alphagate.db``.

    Raises
    ------
    ConfigError
        When ``url`` is not a SQLAlchemy URL or names an unavailable driver;
        the message never contains the password.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        # The raw string may hold a password, so it is not echoed.
        raise ConfigError("storage.database_url is not a valid SQLAlchemy URL") from None
    if password is not None:
        parsed = parsed.set(password=password.get_secret_value())
    shown = parsed.render_as_string(hide_password=True)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        _make_sqlite_parent(parsed)
    try:
        engine = create_engine(parsed)
    except (ArgumentError, ImportError) as error:
        raise ConfigError(f"cannot create a database engine for {shown}: {error}") from None
    if sqlite:
        event.listen(engine, "connect", _set_sqlite_pragmas)
    _log.debug("database engine for %s", shown)
    return engine


def create_schema(engine: Engine) -> None:
    """Create every table that does not exist yet; safe to call on each start."""
    metadata.create_all(engine)


def record_event(
    engine: Engine,
    kind: str,
    message: str,
    *,
    source: str | None = None,
    payload: Mapping[str, Any] | None = None,
    ts: datetime | None = None,
) -> int:
    """Append one system event and return its id; ``ts`` defaults to now (UTC).

    Raises
    ------
    ValueError
        On a naive ``ts`` or a ``kind``/``source`` longer than its column, checked
        here because SQLite would store them silently and PostgreSQL would not.
    """
    if ts is None:
        ts = datetime.now(UTC)
    elif ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"event ts must be tz-aware, got naive {ts.isoformat()}")
    if not kind or len(kind) > 64:
        raise ValueError(f"event kind must be 1 to 64 characters, got {len(kind)}")
    if source is not None and len(source) > 128:
        raise ValueError(f"event source must be at most 128 characters, got {len(source)}")
    statement = insert(system_events).values(
        ts=ts.astimezone(UTC),
        kind=kind,
        source=source,
        message=message,
        payload=None if payload is None else dict(payload),
    )
    with engine.begin() as connection:
        key = connection.execute(statement).inserted_primary_key
    assert key is not None  # an INSERT of one row always has a primary key
    return int(key[0])


def recent_events(engine: Engine, limit: int = 20, kind: str | None = None) -> list[SystemEvent]:
    """Return the newest ``limit`` events (optionally of one ``kind``), newest first."""
    if limit < 0:
        raise ValueError(f"limit must be non-negative, got {limit}")
    query = select(system_events).order_by(system_events.c.ts.desc(), system_events.c.id.desc())
    if kind is not None:
        query = query.where(system_events.c.kind == kind)
    with engine.connect() as connection:
        rows = connection.execute(query.limit(limit)).mappings().all()
    return [
        SystemEvent(
            id=int(row["id"]),
            ts=_as_utc(row["ts"]),
            kind=str(row["kind"]),
            source=row["source"],
            message=str(row["message"]),
            payload=row["payload"],
        )
        for row in rows
    ]


def _as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC); PostgreSQL, aware ones."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _make_sqlite_parent(url: URL) -> None:
    """Create the directory of a SQLite file; in-memory and URI databases have none."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    if url.query.get("uri") == "true" or url.query.get("mode") == "memory":
        return
    Path(database).parent.mkdir(parents=True, exist_ok=True)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()
