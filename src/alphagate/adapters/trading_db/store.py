"""The trading store: orders, fills, trades, positions, equity and events of trading runs.

:class:`TradingStore` is the one writer of the trading database. Each method
is one transaction, so a crash between two calls leaves whole rows, never
half of one. The writes a recovery may repeat are idempotent, because the
live runner replays its journal after a crash and writes again what it may
already have written:

* :meth:`TradingStore.upsert_order` with the same state changes nothing, not
  even ``ts_updated``; a different request under a stored client order id
  raises, since deterministic ids promise one request per id;
* :meth:`TradingStore.add_fill` ignores a fill stored before under the same
  ``(client_order_id, trade_id)`` and raises :class:`FillConflictError` when
  the numbers differ (RELIABILITY invariant I3);
* the ``set_*`` methods and :meth:`TradingStore.add_trade` and
  :meth:`TradingStore.add_equity_point` replace the row of their key.

Risk and system events are appended: each happens once, after the runner
journaled it.

Upserts are one ``INSERT ... ON CONFLICT`` statement on both SQLite and
PostgreSQL, so they are atomic without a read first.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    Text,
    and_,
    cast,
    func,
    insert,
    not_,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping

from alphagate.adapters.trading_db import rows
from alphagate.adapters.trading_db.connect import (
    FillConflictError,
    TradingDatabaseError,
    reported,
)
from alphagate.adapters.trading_db.opened import MigratedStore
from alphagate.adapters.trading_db.records import (
    Candidate,
    DailyPerformance,
    EquityPoint,
    ProtectiveLevels,
    SystemEvent,
)
from alphagate.adapters.trading_db.tables import (
    ID_LENGTH,
    CandidateRow,
    CandidateTransitionRow,
    DailyPerformanceRow,
    EquityRow,
    FillRow,
    OrderRow,
    PositionRow,
    ProtectiveLevelsRow,
    RiskEventRow,
    SystemEventRow,
    TradeRow,
)
from alphagate.domain.instants import check_ns
from alphagate.domain.order_state import TERMINAL_STATUSES, OrderState
from alphagate.domain.orders import Fill
from alphagate.domain.positions import Position, Trade
from alphagate.gates.candidates import GateState, Transition
from alphagate.risk.events import RiskEvent

ORDERS: Table = OrderRow.__table__  # type: ignore[assignment]
FILLS: Table = FillRow.__table__  # type: ignore[assignment]
TRADES: Table = TradeRow.__table__  # type: ignore[assignment]
POSITIONS: Table = PositionRow.__table__  # type: ignore[assignment]
EQUITY: Table = EquityRow.__table__  # type: ignore[assignment]
DAILY: Table = DailyPerformanceRow.__table__  # type: ignore[assignment]
RISK_EVENTS: Table = RiskEventRow.__table__  # type: ignore[assignment]
SYSTEM_EVENTS: Table = SystemEventRow.__table__  # type: ignore[assignment]
LEVELS: Table = ProtectiveLevelsRow.__table__  # type: ignore[assignment]
CANDIDATES: Table = CandidateRow.__table__  # type: ignore[assignment]
TRANSITIONS: Table = CandidateTransitionRow.__table__  # type: ignore[assignment]


class OrderConflictError(TradingDatabaseError):
    """A stored client order id arrived with a different request.

    Client order ids are derived from the decision (strategy, symbol, time,
    leg); two requests under one id mean two decisions collided or a request
    changed after it was journaled, and either would corrupt the books.
    """


class TransitionConflictError(TradingDatabaseError):
    """A candidate's move was recorded already, or its history moved on meanwhile.

    Raised instead of recording a second transition: two orchestrators that
    decided the same move must not both record it.
    """


class TradingStore(MigratedStore):
    """Trading state of every run in one database; build it with :meth:`open`.

    The store owns its engine: :meth:`close` (or leaving a ``with`` block)
    disposes of it.
    """

    # -- writes ---------------------------------------------------------------------------

    def upsert_order(
        self, state: OrderState, run_id: str, *, ts_updated: int | None = None
    ) -> bool:
        """Store ``state`` as its order's latest; return whether the row changed.

        ``ts_updated`` (ns, default now) is written only when something else
        changes, so storing the same state again changes nothing.

        Raises
        ------
        OrderConflictError
            When the order is stored with another request or run.
        """
        ts = time.time_ns() if ts_updated is None else check_ns(ts_updated, "ts_updated")
        values = rows.order_values(state, run_id, ts)
        coid = state.client_order_id
        with self._transaction(f"store order {coid!r} in") as connection:
            kept = ("run_id", *rows.REQUEST_COLUMNS)
            stored = (
                connection.execute(select(*(ORDERS.c[name] for name in kept)).where(
                    ORDERS.c.client_order_id == coid
                ))
                .mappings()
                .first()
            )  # fmt: skip
            if stored is not None:
                differing = [name for name in kept if stored[name] != values[name]]
                if differing:
                    raise OrderConflictError(
                        f"order {coid!r} is stored with another {', '.join(differing)}: "
                        "a client order id names one request of one run"
                    )
            statement = _insert(connection, ORDERS).values(values)
            new = statement.excluded
            changed = [
                cast(ORDERS.c[name], Text).is_distinct_from(cast(new[name], Text))
                if name == "trade_ids"  # PostgreSQL's json has no equality: compare its text
                else ORDERS.c[name].is_distinct_from(new[name])
                for name in rows.STATE_COLUMNS
            ]
            changed.append(and_(new.sent, not_(ORDERS.c.sent)))
            updates: dict[str, Any] = {name: new[name] for name in rows.STATE_COLUMNS}
            updates |= {"sent": or_(ORDERS.c.sent, new.sent), "ts_updated": new.ts_updated}
            # RETURNING, not rowcount: psycopg counts a conflict whose WHERE held no row.
            written = connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["client_order_id"], set_=updates, where=or_(*changed)
                ).returning(ORDERS.c.client_order_id)
            )
            return written.first() is not None

    def add_fill(self, fill: Fill, run_id: str) -> bool:
        """Store ``fill``; return False when it was stored before (a re-sent fill).

        Raises
        ------
        FillConflictError
            When a fill with the same ``(client_order_id, trade_id)`` is stored
            with other values.
        """
        values = rows.fill_values(fill, run_id)
        doing = f"store fill {fill.trade_id!r} of order {fill.client_order_id!r} in"
        with self._transaction(doing) as connection:
            inserted = connection.execute(
                _insert(connection, FILLS)
                .values(values)
                .on_conflict_do_nothing(index_elements=["client_order_id", "trade_id"])
                .returning(FILLS.c.id)
            )
            if inserted.first() is not None:
                return True
            stored = connection.execute(
                select(FILLS).where(
                    FILLS.c.client_order_id == fill.client_order_id,
                    FILLS.c.trade_id == fill.trade_id,
                )
            ).mappings().one()  # fmt: skip
            differing = [name for name, value in values.items() if stored[name] != value]
            if differing:
                shown = ", ".join(
                    f"{n}: stored {stored[n]!r}, now {values[n]!r}" for n in differing
                )
                raise FillConflictError(
                    f"fill {fill.trade_id!r} of order {fill.client_order_id!r} arrived again "
                    f"with other values ({shown}); reconcile with the venue"
                )
            return False

    def add_trade(self, trade: Trade, run_id: str) -> None:
        """Store a round trip; the same (run, symbol, side, entry_ts) again replaces it.

        An open trade is stored as it stands and again when it closes.
        """
        key = ("run_id", "symbol", "side", "entry_ts")
        with self._transaction(f"store a {trade.symbol!r} trade in") as connection:
            _upsert(connection, TRADES, rows.trade_values(trade, run_id), key)

    def set_position(self, position: Position, run_id: str, ts: int) -> None:
        """Record what ``run_id`` holds in ``position.symbol`` as of ``ts`` (ns)."""
        values = {
            "run_id": rows.run_key(run_id),
            "symbol": rows.fit("symbol", position.symbol, ID_LENGTH),
            "quantity": position.quantity,
            "average_price": position.average_price,
            "realised_pnl": position.realised_pnl,
            "ts_updated": check_ns(ts, "position ts"),
        }
        with self._transaction(f"store the {position.symbol!r} position in") as connection:
            _upsert(connection, POSITIONS, values, ("run_id", "symbol"))

    def add_equity_point(self, run_id: str, point: EquityPoint) -> None:
        """Record one point of the equity curve; a point at the same ts replaces it."""
        values = {"run_id": rows.run_key(run_id), "ts": point.ts}
        values |= {"equity": point.equity, "cash": point.cash}
        with self._transaction("store an equity point in") as connection:
            _upsert(connection, EQUITY, values, ("run_id", "ts"))

    def set_daily_performance(self, run_id: str, day: DailyPerformance) -> None:
        """Record one day's performance; the same day again replaces it."""
        values = {"run_id": rows.run_key(run_id), "day_ts": day.day_ts, "pnl": day.pnl}
        values |= {
            "day_return": day.day_return,
            "trades": day.trades,
            "equity": day.equity,
            "drawdown": day.drawdown,
            "sharpe_to_date": day.sharpe_to_date,
            "tracking_error": day.tracking_error,
        }
        with self._transaction("store a day's performance in") as connection:
            _upsert(connection, DAILY, values, ("run_id", "day_ts"))

    def add_risk_event(self, event: RiskEvent, run_id: str | None = None) -> int:
        """Append a risk event and return its row id; ``data`` is stored as JSON."""
        values = rows.risk_event_values(event, run_id)
        with self._transaction("store a risk event in") as connection:
            return _inserted_id(connection.execute(insert(RISK_EVENTS).values(values)))

    def add_system_event(
        self,
        kind: str,
        detail: Mapping[str, object] | None = None,
        *,
        actor: str | None = None,
        ts: int | None = None,
    ) -> int:
        """Append a system event (``ts`` in ns, default now) and return its row id.

        ``actor`` names who caused it, e.g. the operator who reset the kill switch.
        """
        if not kind:
            raise ValueError("a system event needs a kind")
        values = {
            "ts": time.time_ns() if ts is None else check_ns(ts, "system event ts"),
            "kind": rows.fit("system event kind", kind, 64),
            "actor": rows.fit("system event actor", actor, 128),
            "detail": None if detail is None else rows.json_ready(detail),
        }
        with self._transaction(f"store a {kind!r} event in") as connection:
            return _inserted_id(connection.execute(insert(SYSTEM_EVENTS).values(values)))

    def set_protective_levels(self, run_id: str, levels: ProtectiveLevels) -> None:
        """Record the stop and target of an entry order, which must be stored already."""
        values = {
            "client_order_id": rows.fit("client_order_id", levels.client_order_id, ID_LENGTH),
            "run_id": rows.run_key(run_id),
            "stop": levels.stop,
            "target": levels.target,
            "method": levels.method.value,
            "ts_init": levels.ts_init,
        }
        doing = f"store the protective levels of {levels.client_order_id!r} in"
        with self._transaction(doing) as connection:
            _upsert(connection, LEVELS, values, ("client_order_id",))

    def upsert_candidate(self, candidate: Candidate, *, ts_updated: int | None = None) -> None:
        """Record a traded strategy; a stored one keeps its ``ts_created``."""
        values = {
            "candidate_id": rows.fit("candidate_id", candidate.candidate_id, 128),
            "run_id": rows.run_key(candidate.run_id),
            "strategy": rows.fit("strategy", candidate.strategy, 128),
            "state": candidate.state.value,
            "ts_created": candidate.ts_created,
            "ts_updated": time.time_ns() if ts_updated is None else check_ns(ts_updated, "ts"),
        }
        with self._transaction(f"store candidate {candidate.candidate_id!r} in") as connection:
            _upsert(connection, CANDIDATES, values, ("candidate_id",), keep=("ts_created",))

    def add_transition(self, transition: Transition) -> None:
        """Append a candidate's move; it must follow the candidate's last recorded one.

        Raises
        ------
        TransitionConflictError
            When the move's ``seq`` is taken or its ``source`` is not the
            candidate's current state (someone else moved it first).
        """
        cid = transition.candidate_id
        values = {
            "candidate_id": rows.fit("candidate_id", cid, 128),
            "seq": transition.seq,
            "run_id": rows.run_key(transition.run_id),
            "source": None if transition.source is None else transition.source.value,
            "target": transition.target.value,
            "ts": transition.ts,
            "actor": rows.fit("transition actor", transition.actor, 128),
            "reason": transition.reason,
            "evidence": rows.json_ready(transition.evidence),
        }
        with self._transaction(f"record a move of candidate {cid!r} in") as connection:
            last = connection.execute(
                select(TRANSITIONS.c.seq, TRANSITIONS.c.target)
                .where(TRANSITIONS.c.candidate_id == cid)
                .order_by(TRANSITIONS.c.seq.desc())
                .limit(1)
            ).first()
            expected = (None, None) if last is None else (int(last.seq), last.target)
            wanted = (
                None if transition.seq == 0 else transition.seq - 1,
                None if transition.source is None else transition.source.value,
            )
            if expected != wanted:
                raise TransitionConflictError(
                    f"candidate {cid!r} is at move {expected[0]} ({expected[1]}), so move "
                    f"{transition.seq} from {wanted[1]} to {transition.target} cannot be "
                    "recorded; another orchestrator moved it first (see `alphagate gates status`)"
                )
            connection.execute(insert(TRANSITIONS).values(values))

    # -- reads ----------------------------------------------------------------------------

    def orders(self, run_id: str) -> list[OrderState]:
        """Every order of ``run_id``, oldest request first."""
        query = select(ORDERS).where(ORDERS.c.run_id == run_id)
        query = query.order_by(ORDERS.c.ts_init, ORDERS.c.client_order_id)
        return [rows.order_from_row(row) for row in self._read(query, "read orders from")]

    def open_orders(self, run_id: str) -> list[OrderState]:
        """The orders of ``run_id`` that may still change (not filled, canceled, ...)."""
        ended = [status.value for status in TERMINAL_STATUSES]
        query = select(ORDERS).where(ORDERS.c.run_id == run_id, ORDERS.c.status.not_in(ended))
        query = query.order_by(ORDERS.c.ts_init, ORDERS.c.client_order_id)
        return [rows.order_from_row(row) for row in self._read(query, "read orders from")]

    def orders_sent(self, run_id: str | None = None) -> int:
        """How many orders were ever handed to a venue, of ``run_id`` or of every run."""
        query = select(func.count()).select_from(ORDERS).where(ORDERS.c.sent)
        if run_id is not None:
            query = query.where(ORDERS.c.run_id == run_id)
        with self._transaction("count orders in") as connection:
            return int(connection.execute(query).scalar_one())

    def fills(self, run_id: str) -> list[Fill]:
        """Every fill of ``run_id``, in execution order (ties: the order stored)."""
        query = select(FILLS).where(FILLS.c.run_id == run_id)
        query = query.order_by(FILLS.c.ts_event, FILLS.c.id)
        return [rows.fill_from_row(row) for row in self._read(query, "read fills from")]

    def trades(self, run_id: str) -> list[Trade]:
        """Every round trip of ``run_id``, by entry time."""
        query = select(TRADES).where(TRADES.c.run_id == run_id)
        query = query.order_by(TRADES.c.entry_ts, TRADES.c.id)
        return [rows.trade_from_row(row) for row in self._read(query, "read trades from")]

    def positions(self, run_id: str) -> dict[str, Position]:
        """What ``run_id`` holds, by symbol (flat positions included, as they were set)."""
        query = select(POSITIONS).where(POSITIONS.c.run_id == run_id).order_by(POSITIONS.c.symbol)
        found = self._read(query, "read positions from")
        return {row["symbol"]: rows.position_from_row(row) for row in found}

    def equity(self, run_id: str) -> list[EquityPoint]:
        """The equity curve of ``run_id``, oldest first."""
        query = select(EQUITY).where(EQUITY.c.run_id == run_id).order_by(EQUITY.c.ts)
        return [rows.equity_from_row(row) for row in self._read(query, "read equity from")]

    def daily_performance(self, run_id: str) -> list[DailyPerformance]:
        """The daily results of ``run_id``, oldest day first."""
        query = select(DAILY).where(DAILY.c.run_id == run_id).order_by(DAILY.c.day_ts)
        return [rows.daily_from_row(row) for row in self._read(query, "read performance from")]

    def risk_events(self, run_id: str | None = None) -> list[RiskEvent]:
        """Risk events of ``run_id`` (or of every run), oldest first."""
        query = select(RISK_EVENTS).order_by(RISK_EVENTS.c.ts, RISK_EVENTS.c.id)
        if run_id is not None:
            query = query.where(RISK_EVENTS.c.run_id == run_id)
        found = self._read(query, "read risk events from")
        return [rows.risk_event_from_row(row) for row in found]

    def system_events(self, kind: str | None = None, limit: int = 100) -> list[SystemEvent]:
        """The newest ``limit`` system events, optionally of one ``kind``, newest first."""
        query = select(SYSTEM_EVENTS).order_by(SYSTEM_EVENTS.c.ts.desc(), SYSTEM_EVENTS.c.id.desc())
        if kind is not None:
            query = query.where(SYSTEM_EVENTS.c.kind == kind)
        found = self._read(query.limit(limit), "read system events from")
        return [
            SystemEvent(int(r["id"]), int(r["ts"]), r["kind"], r["actor"], r["detail"])
            for r in found
        ]

    def protective_levels(self, run_id: str) -> dict[str, ProtectiveLevels]:
        """The protective levels of ``run_id``'s entries, by entry client order id."""
        query = select(LEVELS).where(LEVELS.c.run_id == run_id)
        found = self._read(query, "read protective levels from")
        return {row["client_order_id"]: rows.levels_from_row(row) for row in found}

    def candidates(self) -> list[Candidate]:
        """Every traded strategy, oldest first."""
        query = select(CANDIDATES).order_by(CANDIDATES.c.ts_created, CANDIDATES.c.candidate_id)
        return [rows.candidate_from_row(row) for row in self._read(query, "read candidates from")]

    def transitions(self, candidate_id: str | None = None) -> list[Transition]:
        """Every recorded move of ``candidate_id`` (or of every candidate), in order."""
        query = select(TRANSITIONS).order_by(TRANSITIONS.c.candidate_id, TRANSITIONS.c.seq)
        if candidate_id is not None:
            query = query.where(TRANSITIONS.c.candidate_id == candidate_id)
        return [
            Transition(
                candidate_id=r["candidate_id"],
                seq=int(r["seq"]),
                run_id=r["run_id"],
                source=None if r["source"] is None else GateState(r["source"]),
                target=GateState(r["target"]),
                ts=int(r["ts"]),
                actor=r["actor"],
                reason=r["reason"],
                evidence=r["evidence"] or {},
            )
            for r in self._read(query, "read candidate moves from")
        ]

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[Connection]:
        """One transaction, its driver errors re-raised masked (see ``connect.reported``)."""
        with reported(self.url, doing), self._engine.begin() as connection:
            yield connection

    def _read(self, query: Any, doing: str) -> Sequence[RowMapping]:
        with self._transaction(doing) as connection:
            return connection.execute(query).mappings().all()


def _insert(connection: Connection, table: Table) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_update`` on SQLite and PostgreSQL."""
    name = connection.dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise TradingDatabaseError(
        f"the trading database supports SQLite and PostgreSQL, not {name}: "
        "set storage.trading_database_url to sqlite:///... or postgresql+psycopg://..."
    )


def _upsert(
    connection: Connection,
    table: Table,
    values: Mapping[str, Any],
    key: Sequence[str],
    *,
    keep: Sequence[str] = (),
) -> None:
    """Insert ``values``, or replace the row with the same ``key`` (but its ``keep`` columns)."""
    statement = _insert(connection, table).values(dict(values))
    replaced: dict[str, ColumnElement[Any]] = {
        name: statement.excluded[name] for name in values if name not in key and name not in keep
    }
    connection.execute(statement.on_conflict_do_update(index_elements=list(key), set_=replaced))


def _inserted_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None, "an INSERT of one row has a primary key"
    return int(key[0])
