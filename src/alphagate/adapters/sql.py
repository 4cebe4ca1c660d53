"""The relational store for trading state and system events, through SQLAlchemy.

SQLite is the default because a single-user trading box needs no server; it
is made safe for that job on every connection:

* ``journal_mode=WAL`` lets the monitor read while the engine writes;
* ``synchronous=FULL`` makes a committed event survive power loss, which an
  audit trail of orders and risk decisions must;
* ``foreign_keys=ON`` because SQLite ignores them otherwise;
* ``busy_timeout=5000`` so a second process waits for the lock instead of
  failing at once with "database is locked".

Risk events (:class:`~alphagate.risk.events.RiskEvent`) get their own table,
``risk_events``, rather than rows of ``system_events``: they are queried by
component and severity and replayed per run, and their columns are the
event's own fields, so a stored event reads back equal to the one raised.

A PostgreSQL URL works unchanged. Its password comes from the environment
(``storage.database_password``) and is set on the parsed URL, never pasted
into a string, so it cannot leak through a log line or an exception.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
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
    delete,
    event,
    insert,
    select,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from alphagate.errors import ConfigError
from alphagate.risk.events import RiskEvent, Severity

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

risk_events = Table(
    "risk_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", DateTime(timezone=True), nullable=False, index=True),
    Column("component", String(64), nullable=False, index=True),
    Column("severity", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("data", JSON(none_as_null=True), nullable=True),
    # Which run raised it (a backtest's output folder, a live session): many runs share a db.
    Column("run", String(128), nullable=True, index=True),
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
        make_sqlite_parent(parsed)
    try:
        engine = create_engine(parsed)
    except (ArgumentError, ImportError) as error:
        raise ConfigError(f"cannot create a database engine for {shown}: {error}") from None
    if sqlite:
        event.listen(engine, "connect", set_sqlite_pragmas)
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


def record_risk_events(
    engine: Engine, events: Iterable[RiskEvent], *, run: str | None = None, replace: bool = False
) -> int:
    """Append risk events in one transaction (all or none) and return how many were stored.

    With ``replace`` the events already stored for ``run`` are deleted in the
    same transaction, so a run repeated into the same place (a backtest
    rewritten to its output folder) leaves its events once, not twice.

    ``data`` is stored as JSON: tuples become lists, NumPy scalars plain
    numbers, timestamps ISO strings, and NaN or infinity ``null`` (JSON has no
    such numbers and PostgreSQL refuses them).

    Raises
    ------
    ValueError
        On a ``run`` or component longer than its column.
    """
    if run is not None and len(run) > 128:
        raise ValueError(f"run must be at most 128 characters, got {len(run)}")
    rows = []
    for item in events:
        if len(item.component) > 64:
            raise ValueError(f"risk event component is longer than 64: {item.component[:70]!r}")
        rows.append(
            {
                "ts": item.ts.to_pydatetime().astimezone(UTC),
                "component": item.component,
                "severity": item.severity.value,
                "reason": item.reason,
                "data": _json_ready(item.data),
                "run": run,
            }
        )
    with engine.begin() as connection:
        if replace:
            connection.execute(delete(risk_events).where(risk_events.c.run == run))
        if rows:
            connection.execute(insert(risk_events), rows)
    return len(rows)


@dataclass(frozen=True)
class StoredRiskEvent:
    """A risk event as stored: its row id, the run that raised it, and the event."""

    id: int
    run: str | None
    event: RiskEvent


def load_risk_events(
    engine: Engine, *, run: str | None = None, component: str | None = None
) -> list[StoredRiskEvent]:
    """Risk events, oldest first, optionally of one ``run`` and one ``component``."""
    query = select(risk_events).order_by(risk_events.c.ts, risk_events.c.id)
    if run is not None:
        query = query.where(risk_events.c.run == run)
    if component is not None:
        query = query.where(risk_events.c.component == component)
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        StoredRiskEvent(
            id=int(row["id"]),
            run=row["run"],
            event=RiskEvent(
                ts=pd.Timestamp(_as_utc(row["ts"])),
                component=str(row["component"]),
                severity=Severity(str(row["severity"])),
                reason=str(row["reason"]),
                data=row["data"] or {},
            ),
        )
        for row in rows
    ]


def _json_ready(value: object) -> Any:
    """``value`` as plain JSON types; see :func:`record_risk_events`."""
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic | datetime):
        return _json_ready(value.item() if isinstance(value, np.generic) else value.isoformat())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value if value is None or isinstance(value, str | int | bool) else str(value)


def _as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC); PostgreSQL, aware ones."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_sqlite_parent(url: URL) -> None:
    """Create the directory of a SQLite file; in-memory and URI databases have none."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    if url.query.get("uri") == "true" or url.query.get("mode") == "memory":
        return
    Path(database).parent.mkdir(parents=True, exist_ok=True)


def set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Apply :data:`SQLITE_PRAGMAS` to a new connection (a SQLAlchemy ``connect`` listener)."""
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()
