"""Alembic's environment: run the migrations on the connection ``migrate.upgrade`` opened.

Alembic executes this file for every command. It never builds an engine
from a URL itself: the caller's connection already carries the SQLite
pragmas, the masked-error handling and the open transaction.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from alphagate.adapters.trading_db.tables import Base


def run_migrations_online(connection: Connection) -> None:
    """Compare types too, and rebuild tables in batch mode on SQLite (it cannot ALTER much)."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError(
        "the trading database migrates through alphagate (alphagate db upgrade), "
        "which passes its own connection; the alembic command line is not supported"
    )
run_migrations_online(_connection)
