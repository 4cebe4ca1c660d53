"""What every store on the trading database shares: one engine, migrated on open."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from pydantic import SecretStr
from sqlalchemy import Engine

from alphagate.adapters.trading_db.connect import DatabaseUrl, open_engine, reported
from alphagate.adapters.trading_db.migrate import upgrade


class MigratedStore:
    """A store that owns its engine: :meth:`close` (or leaving a ``with`` block) disposes of it."""

    def __init__(self, engine: Engine, url: DatabaseUrl) -> None:
        self._engine = engine
        self.url = url

    @classmethod
    def open(
        cls, url: str | DatabaseUrl, password: SecretStr | None = None, *, migrate: bool = True
    ) -> Self:
        """Open the database at ``url`` and bring its schema to the head revision.

        ``password`` (from the environment) is used when the URL names none.
        ``migrate=False`` is for tools that must not change a database, and
        then reading a database behind the code may fail.

        Raises
        ------
        TradingDatabaseError
            When the database cannot be reached or migrated; the message names
            the masked URL.
        """
        parsed = url if isinstance(url, DatabaseUrl) else DatabaseUrl.parse(url, password)
        engine = open_engine(parsed)
        try:
            if migrate:
                with reported(parsed, "migrate"):
                    upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, parsed)

    def close(self) -> None:
        """Release the database's connections."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url.shown!r})"
