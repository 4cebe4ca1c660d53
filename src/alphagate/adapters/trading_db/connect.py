"""Reaching the trading database: parse its URL, make an engine, report failures masked.

A database URL may carry a password (``postgresql+psycopg://u:secret@host/db``),
and a password that reaches a log, a terminal or a CI transcript is leaked.
So the URL is parsed once, at the edge, into a :class:`DatabaseUrl` whose only
printable form hides the password, and every driver error is re-raised as a
:class:`TradingDatabaseError` whose text names the masked URL and has the
password scrubbed out of the driver's own message as well.

SQLite connections get the same pragmas as the rest of alphagate's SQLite
(:data:`alphagate.adapters.sql.SQLITE_PRAGMAS`: WAL, ``synchronous=FULL``,
foreign keys on, a busy timeout), because the trading database is an audit
trail: a committed fill must survive a power cut. They also get real
transactions: Python's ``sqlite3`` driver opens none before DDL, so an
interrupted migration would leave half a schema, and it opens a deferred one
before a write, so two processes that both read and then write (two first
starts migrating at once) can fail with "database is locked" whatever the
busy timeout. Here every transaction starts with ``BEGIN IMMEDIATE``: it
takes the write lock up front and waits for it, while WAL still lets other
processes (a monitor, ``sqlite3`` on the command line) read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from alphagate.adapters.sql import make_sqlite_parent, set_sqlite_pragmas
from alphagate.errors import AlphagateError

MASK = "***"


class TradingDatabaseError(AlphagateError):
    """The trading database could not be reached, migrated, read or written.

    The message names the database by its masked URL and never contains its
    password.
    """


class FillConflictError(TradingDatabaseError):
    """A fill arrived again under a stored ``(client_order_id, trade_id)`` with other numbers.

    A venue that re-sends a fill sends the same execution; different numbers
    under the same ids mean our books and the venue's disagree, which
    reconciliation must look at rather than either copy winning silently.
    """


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed database URL whose text form is always masked.

    ``str()`` and ``repr()`` both give :attr:`shown`, so the URL can go into
    an f-string, a log line or an assertion message without leaking.
    """

    url: URL

    @classmethod
    def parse(cls, text: str, password: SecretStr | None = None) -> DatabaseUrl:
        """Parse ``text``; ``password`` (from the environment) fills a URL that names none.

        ``postgresql://`` means psycopg 3, the driver alphagate installs,
        rather than SQLAlchemy's default psycopg2, which it does not.

        Raises
        ------
        TradingDatabaseError
            When ``text`` is not a SQLAlchemy URL; the text is not echoed, since
            a URL that fails to parse cannot be masked.
        """
        try:
            url = make_url(text)
        except ArgumentError:
            raise TradingDatabaseError(
                "the trading database URL is not a SQLAlchemy URL: write it as "
                "sqlite:///path/to/trading.db or postgresql+psycopg://user@host:port/name"
            ) from None
        if password is not None and url.password is None:
            url = url.set(password=password.get_secret_value())
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return cls(url)

    @property
    def shown(self) -> str:
        """The URL with its password replaced by ``***``."""
        return self.url.render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        """True for a SQLite database (file or memory)."""
        return self.url.get_backend_name() == "sqlite"

    def scrub(self, text: str) -> str:
        """``text`` with every occurrence of the password replaced by ``***``."""
        secret = self.url.password
        if secret is None or not str(secret):
            return text
        return text.replace(str(secret), MASK)

    def __str__(self) -> str:
        return self.shown

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.shown!r})"


def open_engine(url: DatabaseUrl) -> Engine:
    """Create an engine for ``url``, making a SQLite file's folder and setting its pragmas.

    Raises
    ------
    TradingDatabaseError
        When the URL names a driver that is not installed.
    """
    if url.is_sqlite:
        make_sqlite_parent(url.url)
    try:
        engine = create_engine(url.url)
    except (ArgumentError, ImportError) as error:
        raise TradingDatabaseError(
            f"cannot open the trading database at {url}: {url.scrub(str(error))}; "
            "use sqlite:///... or postgresql+psycopg://..."
        ) from None
    if url.is_sqlite:
        event.listen(engine, "connect", _set_sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
    return engine


@contextmanager
def reported(url: DatabaseUrl, doing: str) -> Iterator[None]:
    """Turn a SQLAlchemy error inside the block into a masked :class:`TradingDatabaseError`.

    ``doing`` completes "cannot ... the trading database", e.g. ``"migrate"``.
    The driver's exception is not chained (``from None``): its arguments and
    its connection parameters could hold the password.
    """
    try:
        yield
    except SQLAlchemyError as error:
        cause = error.orig if isinstance(error, DBAPIError) else error
        detail = " ".join(str(cause).split())  # drivers write several lines
        raise TradingDatabaseError(
            f"cannot {doing} the trading database at {url}: {url.scrub(detail)}"
        ) from None


def _set_sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    # The driver's own transaction handling off: SQLAlchemy's "begin" event opens them.
    dbapi_connection.isolation_level = None
    set_sqlite_pragmas(dbapi_connection, record)


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
