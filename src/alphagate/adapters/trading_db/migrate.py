"""Apply the trading database's Alembic migrations, shipped inside this package.

The migration scripts live in ``migrations/`` next to this module and are
found through the package (``alphagate.adapters.trading_db:migrations``), not
through an ``alembic.ini`` in the working directory, so an installed
alphagate migrates its database from anywhere. :class:`TradingStore` calls
:func:`upgrade` every time it opens a database: start-up is where a new
version's schema change lands, and at head it costs one query.

The whole upgrade runs in one transaction on a connection this module opens,
and ``env.py`` uses that connection rather than making its own; PostgreSQL
and (with :mod:`.connect`'s ``BEGIN IMMEDIATE``) SQLite both roll DDL back, so
an upgrade interrupted half-way leaves the previous revision intact.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

SCRIPT_LOCATION = "alphagate.adapters.trading_db:migrations"
"""Alembic's ``package:folder`` form: the folder is found inside the installed package."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for this package's scripts, bound to ``connection`` if given.

    ``env.py`` reads the connection from ``config.attributes``; without one it
    can only render SQL offline, which alphagate does not use.
    """
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the installed scripts know."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the trading database has at least one migration"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision ``engine``'s database is at; ``None`` for a database never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring ``engine``'s database to the head revision; return (before, after).

    At head already it changes nothing, so calling it on every start is safe.
    """
    with engine.begin() as connection:
        before = MigrationContext.configure(connection).get_current_revision()
        command.upgrade(alembic_config(connection), "head")
        after = MigrationContext.configure(connection).get_current_revision()
    assert after is not None, "an upgrade to head leaves the database at a revision"
    return before, after
