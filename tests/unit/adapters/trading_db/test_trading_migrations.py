"""The Alembic migrations build exactly the models' schema, once, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from alphagate.adapters.trading_db import DatabaseUrl, TradingStore, head_revision, upgrade
from alphagate.adapters.trading_db.connect import open_engine
from alphagate.adapters.trading_db.migrate import current_revision
from alphagate.adapters.trading_db.tables import Base

TABLES = {
    "orders", "fills", "trades", "positions", "equity", "daily_performance", "risk_events",
    "system_events", "protective_levels", "candidates", "candidate_transitions", "strategies",
    "strategy_validations",
}  # fmt: skip


def test_the_migrated_schema_is_the_models_schema(database_url: str) -> None:
    engine = open_engine(DatabaseUrl.parse(database_url))
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()

    assert differences == []
    assert tables == TABLES | {"alembic_version"}


def test_an_upgrade_at_head_is_a_no_op(database_url: str) -> None:
    engine = open_engine(DatabaseUrl.parse(database_url))
    try:
        assert current_revision(engine) is None
        first = upgrade(engine)
        second = upgrade(engine)
    finally:
        engine.dispose()

    assert first == (None, head_revision())
    assert second == (head_revision(), head_revision())


def test_opening_a_store_migrates_and_keeps_what_was_stored(database_url: str) -> None:
    with TradingStore.open(database_url) as store:
        store.add_system_event("start", ts=1)
    with TradingStore.open(database_url) as store:
        assert [event.kind for event in store.system_events()] == ["start"]
    engine = open_engine(DatabaseUrl.parse(database_url))
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
