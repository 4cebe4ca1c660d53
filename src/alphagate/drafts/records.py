"""What a draft is and what is kept of it: statuses, checks, reports, and the recorder port.

A draft is ``drafted`` while it is being written and checked, then
``validated`` or ``discarded``; nothing moves it afterwards (a new idea is a
new draft under a new name). Each round trip with the model is one attempt,
kept with its prompt, answer, code hash, the check it reached, its metrics
and its run id, so a discarded draft still says why and a validated one
says on what evidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class DraftStatus(StrEnum):
    """Where a draft stands: ``drafted`` until its checks end, then one of the other two."""

    DRAFTED = "drafted"
    VALIDATED = "validated"
    DISCARDED = "discarded"


class Stage(StrEnum):
    """The checks an attempt goes through, in order; an attempt stops at the first it fails."""

    CODE = "code"  # the answer holds a module with a strategy class
    SAFETY = "safety"  # the static check, before any import
    IMPORT = "import"  # imported in the subprocess, contract checked
    LOOK_AHEAD = "look_ahead"  # declared indicators recomputed on cut histories
    BACKTEST = "backtest"  # the training period
    WALK_FORWARD = "walk_forward"  # the later, unseen windows


@dataclass(frozen=True)
class PeriodMetrics:
    """One period's numbers: the training period or one walk-forward window.

    ``sharpe`` is ``None`` when it is undefined (a flat equity curve).
    """

    start: str
    end: str
    bars: int
    sharpe: float | None
    total_return: float
    max_drawdown: float
    trades: int

    @classmethod
    def of_json(cls, data: Mapping[str, Any]) -> PeriodMetrics:
        """Read back what :func:`dataclasses.asdict` wrote."""
        sharpe = data.get("sharpe")
        return cls(
            start=str(data["start"]),
            end=str(data["end"]),
            bars=int(data["bars"]),
            sharpe=None if sharpe is None or not math.isfinite(sharpe) else float(sharpe),
            total_return=float(data["total_return"]),
            max_drawdown=float(data["max_drawdown"]),
            trades=int(data["trades"]),
        )


@dataclass(frozen=True)
class ValidationReport:
    """What the subprocess found: the stage it stopped at, and the numbers it measured.

    ``passed`` means every check the subprocess runs passed; the walk-forward
    band is judged afterwards, outside it (:mod:`alphagate.drafts.walk_forward`).
    """

    stage: Stage
    passed: bool
    error: str | None = None
    training: PeriodMetrics | None = None
    windows: tuple[PeriodMetrics, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the subprocess's report file, an attempt's metrics)."""
        return {
            "stage": self.stage.value,
            "passed": self.passed,
            "error": self.error,
            "training": None if self.training is None else asdict(self.training),
            "windows": [asdict(window) for window in self.windows],
        }

    @classmethod
    def of_json(cls, data: Mapping[str, Any]) -> ValidationReport:
        """Read back :meth:`to_json`."""
        training = data.get("training")
        return cls(
            stage=Stage(data["stage"]),
            passed=bool(data["passed"]),
            error=data.get("error"),
            training=None if training is None else PeriodMetrics.of_json(training),
            windows=tuple(PeriodMetrics.of_json(w) for w in data.get("windows") or ()),
        )


@dataclass(frozen=True)
class Attempt:
    """One round trip: what was asked, what came back, and how far its code got."""

    name: str
    attempt: int
    run_id: str
    prompt: str
    response: str
    code_hash: str | None
    stage: Stage
    passed: bool
    error: str | None
    metrics: dict[str, Any] | None
    ts: int


@dataclass(frozen=True)
class Draft:
    """One drafted strategy as the strategies table holds it."""

    name: str
    status: DraftStatus
    source_path: str
    source_kind: str
    source_hash: str
    model: str
    ts_created: int
    ts_updated: int
    code_path: str | None = None
    code_hash: str | None = None
    class_name: str | None = None
    reasons: tuple[str, ...] = ()
    run_ids: tuple[str, ...] = ()
    attempts: tuple[Attempt, ...] = field(default=(), compare=False)


class DraftRecorder(Protocol):
    """Where drafts are kept (the trading database's strategies tables, or a test's memory)."""

    def start_draft(self, draft: Draft) -> None:
        """Record a new draft as ``drafted``; refuse a name that exists."""
        ...

    def add_attempt(self, attempt: Attempt) -> None:
        """Record one round trip of a draft."""
        ...

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
        """Record the final status of a draft and what it rests on."""
        ...

    def draft(self, name: str) -> Draft | None:
        """One draft with its attempts, or ``None``."""
        ...
