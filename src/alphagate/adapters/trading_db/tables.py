"""The trading database's tables, as SQLAlchemy 2 typed declarative models.

These models are the schema's single description: the Alembic revisions in
``migrations/versions`` must create exactly them, and a test compares the
migrated database with :data:`Base.metadata` on SQLite and PostgreSQL.

Conventions, chosen so a row reads back equal to the domain value it came from:

* **Times are int64 nanoseconds since the epoch, UTC, in BIGINT columns**
  (``ts_*``), the kernel's own representation. No ``DateTime`` column: SQLite
  has none, would hand back naive values, and rounds to microseconds.
* **Money and quantities are DOUBLE PRECISION**, the engine's ``float``; a
  ``Float`` column could be single precision on some backends.
* **Enums are stored as their string values** (``"buy"``, ``"filled"``), so
  a row is readable in ``psql`` and an added member needs no migration.
* **JSON payloads** use SQLAlchemy's ``JSON`` (``jsonb``-free ``json`` on
  PostgreSQL, text on SQLite); a missing payload is SQL NULL.
* Every row that belongs to a trading run carries ``run_id``: one database
  holds many runs (paper sessions, live accounts, replays).
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID_LENGTH: Final = 64
"""Longest client order id or symbol a column holds (client ids are 30 hex digits)."""
RUN_LENGTH: Final = 128
"""Longest run or candidate id, the same bound as ``risk_events.run`` in ``adapters.sql``."""

# Named constraints, so a later migration can drop or alter one by name on every
# backend (SQLite in batch mode needs the names to rebuild a table).
NAMING: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The declarative base whose metadata the migrations must match."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: Final[dict[Any, Any]] = {
        int: BigInteger,
        float: Double,
        dict[str, Any]: JSON(none_as_null=True),
    }


def _id() -> Any:
    return String(ID_LENGTH)


def _run() -> Any:
    return String(RUN_LENGTH)


class CandidateRow(Base):
    """A strategy being traded: which run's models, under which name, in which state."""

    __tablename__ = "candidates"

    candidate_id: Mapped[str] = mapped_column(_run(), primary_key=True)
    run_id: Mapped[str] = mapped_column(_run(), index=True)
    strategy: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(32))
    ts_created: Mapped[int]
    ts_updated: Mapped[int]


class CandidateTransitionRow(Base):
    """One move of a promotion candidate (``gates.candidates.Transition``), appended, never changed.

    ``(candidate_id, seq)`` is unique: a move is recorded once, whoever decides it.
    """

    __tablename__ = "candidate_transitions"
    __table_args__ = (UniqueConstraint("candidate_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    candidate_id: Mapped[str] = mapped_column(_run(), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str] = mapped_column(_run(), index=True)
    source: Mapped[str | None] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(32))
    ts: Mapped[int]
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any] | None]


class OrderRow(Base):
    """One order's request and its latest state (``OrderState``), keyed by client order id."""

    __tablename__ = "orders"

    client_order_id: Mapped[str] = mapped_column(_id(), primary_key=True)
    run_id: Mapped[str] = mapped_column(_run(), index=True)
    symbol: Mapped[str] = mapped_column(_id())
    side: Mapped[str] = mapped_column(String(8))
    order_type: Mapped[str] = mapped_column(String(16))
    time_in_force: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[float]
    limit_price: Mapped[float | None]
    stop_price: Mapped[float | None]
    parent_id: Mapped[str | None] = mapped_column(_id())
    oco_group_id: Mapped[str | None] = mapped_column(_id())
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(24), index=True)
    filled_qty: Mapped[float]
    avg_fill_price: Mapped[float | None]
    reason: Mapped[str | None] = mapped_column(Text)
    venue_order_id: Mapped[str | None] = mapped_column(String(128))
    # The fills the state has applied, in order: without them a state read back
    # would accept a re-sent fill a second time (RELIABILITY invariant I3).
    trade_ids: Mapped[list[str]] = mapped_column(JSON)
    # Ever handed to a venue: never goes back to false, so the count of orders
    # sent survives a cancel or a venue rejection.
    sent: Mapped[bool] = mapped_column(Boolean)
    ts_init: Mapped[int]
    ts_updated: Mapped[int]


class FillRow(Base):
    """One execution; ``(client_order_id, trade_id)`` is unique, so a re-sent fill is one row."""

    __tablename__ = "fills"
    __table_args__ = (UniqueConstraint("client_order_id", "trade_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(_run(), index=True)
    client_order_id: Mapped[str] = mapped_column(_id())
    trade_id: Mapped[str] = mapped_column(String(128))
    symbol: Mapped[str] = mapped_column(_id())
    side: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[float]
    price: Mapped[float]
    fee: Mapped[float]
    reference_price: Mapped[float | None]
    slippage: Mapped[float]
    impact: Mapped[float]
    liquidity: Mapped[str] = mapped_column(String(8))
    ts_event: Mapped[int]


class TradeRow(Base):
    """One round trip; an open one is stored again, updated, when it closes."""

    __tablename__ = "trades"
    __table_args__ = (UniqueConstraint("run_id", "symbol", "side", "entry_ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(_run())
    symbol: Mapped[str] = mapped_column(_id())
    side: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[float]
    entry_ts: Mapped[int]
    entry_price: Mapped[float]
    exit_quantity: Mapped[float]
    exit_ts: Mapped[int | None]
    exit_price: Mapped[float | None]
    pnl: Mapped[float]
    fees: Mapped[float]


class PositionRow(Base):
    """What a run holds in one symbol now (the latest ``Position``)."""

    __tablename__ = "positions"

    run_id: Mapped[str] = mapped_column(_run(), primary_key=True)
    symbol: Mapped[str] = mapped_column(_id(), primary_key=True)
    quantity: Mapped[float]
    average_price: Mapped[float]
    realised_pnl: Mapped[float]
    ts_updated: Mapped[int]


class EquityRow(Base):
    """One point of a run's equity curve."""

    __tablename__ = "equity"

    run_id: Mapped[str] = mapped_column(_run(), primary_key=True)
    ts: Mapped[int] = mapped_column(primary_key=True)
    equity: Mapped[float]
    cash: Mapped[float]


class DailyPerformanceRow(Base):
    """One run's result for one UTC day; ``day_ts`` is the day's midnight in ns."""

    __tablename__ = "daily_performance"

    run_id: Mapped[str] = mapped_column(_run(), primary_key=True)
    day_ts: Mapped[int] = mapped_column(primary_key=True)
    pnl: Mapped[float]
    day_return: Mapped[float]
    trades: Mapped[int] = mapped_column(Integer)
    equity: Mapped[float]
    drawdown: Mapped[float]
    sharpe_to_date: Mapped[float | None]
    # The shadow backtest's distance from what paper or live did that day.
    tracking_error: Mapped[float | None]


class RiskEventRow(Base):
    """One :class:`~alphagate.risk.events.RiskEvent` of a run."""

    __tablename__ = "risk_events"
    __table_args__ = (Index(None, "run_id", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str | None] = mapped_column(_run())
    ts: Mapped[int]
    component: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None]


class SystemEventRow(Base):
    """Something the platform did or saw: a start, a stop, a reset, a reconciliation."""

    __tablename__ = "system_events"
    __table_args__ = (Index(None, "kind", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[int]
    kind: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict[str, Any] | None]


class ProtectiveLevelsRow(Base):
    """The stop and target a decision set for its entry order, and how they were found."""

    __tablename__ = "protective_levels"

    client_order_id: Mapped[str] = mapped_column(
        _id(), ForeignKey("orders.client_order_id"), primary_key=True
    )
    run_id: Mapped[str] = mapped_column(_run(), index=True)
    stop: Mapped[float | None]
    target: Mapped[float | None]
    method: Mapped[str] = mapped_column(String(16))
    ts_init: Mapped[int]


class StrategyRow(Base):
    """A strategy drafted from a document (``drafts.records.Draft``): its source and its status.

    ``status`` moves once, ``drafted`` to ``validated`` or ``discarded``;
    ``reasons`` and ``run_ids`` are JSON lists, one run id per attempt.
    """

    __tablename__ = "strategies"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    source_path: Mapped[str] = mapped_column(Text)
    source_kind: Mapped[str] = mapped_column(String(16))
    source_hash: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(128))
    code_path: Mapped[str | None] = mapped_column(Text)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    class_name: Mapped[str | None] = mapped_column(String(128))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    run_ids: Mapped[list[str]] = mapped_column(JSON)
    ts_created: Mapped[int]
    ts_updated: Mapped[int]


class StrategyValidationRow(Base):
    """One round trip of a draft with the model: prompt, answer, code, checks and metrics.

    ``(name, attempt)`` is unique: an attempt is recorded once.
    """

    __tablename__ = "strategy_validations"
    __table_args__ = (UniqueConstraint("name", "attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), ForeignKey("strategies.name"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str] = mapped_column(_run(), index=True)
    prompt: Mapped[str] = mapped_column(Text)
    response: Mapped[str] = mapped_column(Text)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(32))
    passed: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    metrics: Mapped[dict[str, Any] | None]
    ts: Mapped[int]
