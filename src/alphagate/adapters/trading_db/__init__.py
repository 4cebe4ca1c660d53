"""The trading database: orders, fills, trades, positions, equity, events and candidates.

SQLAlchemy models (``tables``) with Alembic migrations shipped in the package
(``migrations``), applied whenever a :class:`TradingStore` opens a database.
SQLite is the default; PostgreSQL (``postgresql+psycopg://``) is tested the
same way. Importing this package imports SQLAlchemy, so the command line
imports it only inside the commands that use it.
"""

from alphagate.adapters.trading_db.connect import (
    DatabaseUrl,
    FillConflictError,
    TradingDatabaseError,
)
from alphagate.adapters.trading_db.migrate import current_revision, head_revision, upgrade
from alphagate.adapters.trading_db.records import (
    Candidate,
    CandidateState,
    DailyPerformance,
    EquityPoint,
    LevelMethod,
    ProtectiveLevels,
    SystemEvent,
)
from alphagate.adapters.trading_db.store import (
    OrderConflictError,
    TradingStore,
    TransitionConflictError,
)

__all__ = [
    "Candidate",
    "CandidateState",
    "DailyPerformance",
    "DatabaseUrl",
    "EquityPoint",
    "FillConflictError",
    "LevelMethod",
    "OrderConflictError",
    "ProtectiveLevels",
    "SystemEvent",
    "TradingDatabaseError",
    "TradingStore",
    "TransitionConflictError",
    "current_revision",
    "head_revision",
    "upgrade",
]
