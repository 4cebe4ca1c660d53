"""The SQL adapter: hardened SQLite, idempotent schema, events, and hidden passwords."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from alphagate.adapters import sql
from alphagate.adapters.sql import (
    create_db_engine,
    create_schema,
    recent_events,
    record_event,
)
from alphagate.errors import ConfigError

SECRET = "s3cr3t-Pa55word"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'state' / 'nested' / 'alphagate.db'}")
    create_schema(engine)
    return engine


def _pragma(engine: Engine, name: str) -> object:
    with engine.connect() as connection:
        return connection.execute(text(f"PRAGMA {name}")).scalar_one()


def test_a_sqlite_file_database_is_created_with_its_directory_in_wal_mode(
    tmp_path: Path, engine: Engine
) -> None:
    assert (tmp_path / "state" / "nested" / "alphagate.db").is_file()
    assert _pragma(engine, "journal_mode") == "wal"


def test_every_sqlite_connection_is_durable_enforces_foreign_keys_and_waits_for_locks(
    engine: Engine,
) -> None:
    assert _pragma(engine, "synchronous") == 2  # FULL
    assert _pragma(engine, "foreign_keys") == 1
    assert _pragma(engine, "busy_timeout") == 5000


def test_creating_the_schema_twice_keeps_the_events_already_recorded(engine: Engine) -> None:
    event_id = record_event(engine, "ingest", "loaded bars")
    create_schema(engine)
    assert [e.id for e in recent_events(engine)] == [event_id]


def test_an_event_round_trips_with_its_payload_source_and_utc_time(engine: Engine) -> None:
    ts = datetime(2024, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    payload = {"symbols": ["^GSPC", "BTC/USDT"], "rows": 1250, "nested": {"ok": True}}
    event_id = record_event(engine, "ingest", "loaded", source="cli", payload=payload, ts=ts)
    (event,) = recent_events(engine)
    assert event.id == event_id
    assert event.ts == ts
    assert event.ts.tzinfo is UTC
    assert event.ts.hour == 14
    assert (event.kind, event.source, event.message) == ("ingest", "cli", "loaded")
    assert event.payload == payload


def test_an_event_without_payload_stores_sql_null_and_defaults_to_now(engine: Engine) -> None:
    before = datetime.now(UTC)
    record_event(engine, "start", "engine started")
    (event,) = recent_events(engine)
    assert event.payload is None
    assert event.source is None
    assert before - timedelta(seconds=1) <= event.ts <= datetime.now(UTC) + timedelta(seconds=1)
    with engine.connect() as connection:
        raw = connection.execute(text("SELECT payload IS NULL FROM system_events")).scalar_one()
    assert raw == 1


def test_recent_events_are_newest_first_limited_and_filterable_by_kind(engine: Engine) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(5):
        record_event(
            engine, "even" if i % 2 == 0 else "odd", f"event {i}", ts=start.replace(day=i + 1)
        )
    assert [e.message for e in recent_events(engine, limit=3)] == ["event 4", "event 3", "event 2"]
    assert [e.message for e in recent_events(engine, kind="odd")] == ["event 3", "event 1"]
    assert recent_events(engine, limit=0) == []


def test_a_naive_or_oversized_event_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        record_event(engine, "x", "naive", ts=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="kind"):
        record_event(engine, "k" * 65, "too long")
    assert recent_events(engine) == []


def test_a_password_set_on_the_url_never_shows_in_str_repr_or_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # No PostgreSQL driver is installed, so capture the URL the engine would be built from.
    received: list[URL] = []

    def fake_create_engine(url: URL) -> SimpleNamespace:
        received.append(url)
        return SimpleNamespace(url=url)

    monkeypatch.setattr(sql, "create_engine", fake_create_engine)
    with caplog.at_level(logging.DEBUG, logger="alphagate"):
        engine = create_db_engine(
            "postgresql+psycopg://trader@db.internal/alphagate", password=SecretStr(SECRET)
        )
    assert received[0].password == SECRET  # the driver really gets it
    assert SECRET not in str(engine.url)
    assert SECRET not in repr(engine.url)
    assert "trader:***@db.internal" in caplog.text
    assert SECRET not in caplog.text


def test_a_missing_database_driver_is_a_config_error_without_the_password() -> None:
    # psycopg is a dependency now (the trading database); MySQL's driver is never installed.
    with pytest.raises(ConfigError, match=r"trader:\*\*\*@db") as caught:
        create_db_engine("mysql+mysqldb://trader@db.internal/alphagate", password=SecretStr(SECRET))
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None


def test_an_invalid_url_is_a_config_error_that_does_not_echo_it() -> None:
    with pytest.raises(ConfigError) as caught:
        create_db_engine(f"not a url :{SECRET}@")
    assert SECRET not in str(caught.value)


def test_an_in_memory_sqlite_database_gets_the_pragmas_and_no_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = create_db_engine("sqlite://")
    create_schema(engine)
    assert _pragma(engine, "foreign_keys") == 1
    assert list(tmp_path.iterdir()) == []
