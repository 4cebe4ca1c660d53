"""The strategies tables: drafted strategies and their attempts, behind the drafts' recorder port.

A store of its own beside :class:`~alphagate.adapters.trading_db.store.TradingStore`
(same database, same migrations, same masked errors): drafts are written by
one command at a time, never by a trading run, and keeping them apart keeps
the trading store to the books. Each method is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update

from alphagate.adapters.trading_db.connect import (
    TradingDatabaseError,
    reported,
)
from alphagate.adapters.trading_db.opened import MigratedStore
from alphagate.adapters.trading_db.tables import StrategyRow, StrategyValidationRow
from alphagate.drafts.records import Attempt, Draft, DraftStatus, Stage

STRATEGIES: Table = StrategyRow.__table__  # type: ignore[assignment]
VALIDATIONS: Table = StrategyValidationRow.__table__  # type: ignore[assignment]


class DraftExistsError(TradingDatabaseError):
    """A draft of that name is recorded already: a new idea needs a new name."""


class StrategyDraftStore(MigratedStore):
    """The drafts of one trading database; build it with :meth:`open`, close it after."""

    # -- the recorder port ----------------------------------------------------------------

    def start_draft(self, draft: Draft) -> None:
        """Insert ``draft`` (``drafted``), or raise :class:`DraftExistsError` for a taken name."""
        with self._transaction("record a draft in") as connection:
            taken = connection.execute(
                select(STRATEGIES.c.status).where(STRATEGIES.c.name == draft.name)
            ).first()
            if taken is not None:
                raise DraftExistsError(
                    f"a draft named {draft.name!r} exists ({taken.status}); pick another "
                    f"--name, or see it with `alphagate strategy show {draft.name}`"
                )
            connection.execute(insert(STRATEGIES).values(_draft_values(draft)))

    def add_attempt(self, attempt: Attempt) -> None:
        """Insert one attempt of a recorded draft."""
        with self._transaction("record a draft's attempt in") as connection:
            connection.execute(
                insert(VALIDATIONS).values(
                    name=attempt.name,
                    attempt=attempt.attempt,
                    run_id=attempt.run_id,
                    prompt=attempt.prompt,
                    response=attempt.response,
                    code_hash=attempt.code_hash,
                    stage=attempt.stage.value,
                    passed=attempt.passed,
                    error=attempt.error,
                    metrics=attempt.metrics,
                    ts=attempt.ts,
                )
            )

    def finish_draft(
        self,
        name: str,
        status: DraftStatus,
        *,
        code_path: str | None,
        code_hash: str | None,
        class_name: str | None,
        reasons: Sequence[str],
        run_ids: Sequence[str],
        ts: int,
    ) -> None:
        """Set a draft's final status and what it rests on."""
        with self._transaction("finish a draft in") as connection:
            connection.execute(
                update(STRATEGIES)
                .where(STRATEGIES.c.name == name)
                .values(
                    status=status.value,
                    code_path=code_path,
                    code_hash=code_hash,
                    class_name=class_name,
                    reasons=list(reasons),
                    run_ids=list(run_ids),
                    ts_updated=ts,
                )
            )

    def draft(self, name: str) -> Draft | None:
        """One draft with its attempts in order, or ``None``."""
        with self._transaction("read a draft from") as connection:
            row = connection.execute(select(STRATEGIES).where(STRATEGIES.c.name == name)).first()
            if row is None:
                return None
            attempts = connection.execute(
                select(VALIDATIONS)
                .where(VALIDATIONS.c.name == name)
                .order_by(VALIDATIONS.c.attempt)
            ).mappings()
            return _draft(row._mapping, tuple(_attempt(a) for a in attempts))

    def drafts(self) -> list[Draft]:
        """Every draft, newest first, without their attempts."""
        with self._transaction("list the drafts in") as connection:
            rows = connection.execute(
                select(STRATEGIES).order_by(STRATEGIES.c.ts_created.desc())
            ).mappings()
            return [_draft(row, ()) for row in rows]

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[Connection]:
        with reported(self.url, doing), self._engine.begin() as connection:
            yield connection


def _draft_values(draft: Draft) -> dict[str, Any]:
    return {
        "name": draft.name,
        "status": draft.status.value,
        "source_path": draft.source_path,
        "source_kind": draft.source_kind,
        "source_hash": draft.source_hash,
        "model": draft.model,
        "code_path": draft.code_path,
        "code_hash": draft.code_hash,
        "class_name": draft.class_name,
        "reasons": list(draft.reasons),
        "run_ids": list(draft.run_ids),
        "ts_created": draft.ts_created,
        "ts_updated": draft.ts_updated,
    }


def _draft(row: Any, attempts: tuple[Attempt, ...]) -> Draft:
    return Draft(
        name=row["name"],
        status=DraftStatus(row["status"]),
        source_path=row["source_path"],
        source_kind=row["source_kind"],
        source_hash=row["source_hash"],
        model=row["model"],
        ts_created=row["ts_created"],
        ts_updated=row["ts_updated"],
        code_path=row["code_path"],
        code_hash=row["code_hash"],
        class_name=row["class_name"],
        reasons=tuple(row["reasons"] or ()),
        run_ids=tuple(row["run_ids"] or ()),
        attempts=attempts,
    )


def _attempt(row: Any) -> Attempt:
    return Attempt(
        name=row["name"],
        attempt=row["attempt"],
        run_id=row["run_id"],
        prompt=row["prompt"],
        response=row["response"],
        code_hash=row["code_hash"],
        stage=Stage(row["stage"]),
        passed=bool(row["passed"]),
        error=row["error"],
        metrics=row["metrics"],
        ts=row["ts"],
    )
