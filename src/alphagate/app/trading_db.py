"""Use cases of the trading database: migrate it, report its revision, open its store.

The URL is ``storage.trading_database_url`` unless a command names another;
a password comes from the URL or, failing that, from
``storage.database_password`` (the environment). Whatever is reported back
names the database by its masked URL only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alphagate.adapters.trading_db import (
    DatabaseUrl,
    TradingStore,
    current_revision,
    head_revision,
    upgrade,
)
from alphagate.adapters.trading_db.connect import open_engine, reported
from alphagate.config import Settings


@dataclass(frozen=True)
class DatabaseRevision:
    """Where a trading database stands against the installed migrations.

    ``url`` is masked. ``before`` is the revision before an upgrade (equal to
    ``current`` when only asked); ``None`` means never migrated.
    """

    url: str
    before: str | None
    current: str | None
    head: str

    @property
    def at_head(self) -> bool:
        """True when the database has every installed migration."""
        return self.current == self.head


def trading_database_url(settings: Settings, url: str | None = None) -> DatabaseUrl:
    """The trading database's URL: ``url`` if given, else the setting, with its password."""
    storage = settings.storage
    return DatabaseUrl.parse(url or storage.trading_database_url, storage.database_password)


def upgrade_trading_database(settings: Settings, url: str | None = None) -> DatabaseRevision:
    """Apply every pending migration; at head already, change nothing.

    Raises
    ------
    TradingDatabaseError
        When the database cannot be reached or migrated (the URL masked).
    """
    target = trading_database_url(settings, url)
    engine = open_engine(target)
    try:
        with reported(target, "migrate"):
            before, after = upgrade(engine)
    finally:
        engine.dispose()
    return DatabaseRevision(target.shown, before, after, head_revision())


def trading_database_revision(settings: Settings, url: str | None = None) -> DatabaseRevision:
    """The revision the database is at, without changing it (nor creating a SQLite file)."""
    target = trading_database_url(settings, url)
    database = target.url.database
    if target.is_sqlite and database and not Path(database).exists():
        return DatabaseRevision(target.shown, None, None, head_revision())
    engine = open_engine(target)
    try:
        with reported(target, "read the revision of"):
            current = current_revision(engine)
    finally:
        engine.dispose()
    return DatabaseRevision(target.shown, current, current, head_revision())


def open_trading_store(settings: Settings, url: str | None = None) -> TradingStore:
    """Open (and migrate) the trading database the settings name, for a trading run."""
    return TradingStore.open(trading_database_url(settings, url))
