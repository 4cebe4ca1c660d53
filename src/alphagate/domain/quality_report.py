"""Violations of data rules and the report that collects them.

A violation names everything a user needs to find and fix the problem
without opening a debugger: the file, the row in it, the timestamp, the
symbol, the column and the rule, plus what was done about it. Reports are
kept even for warnings and repairs, so every row the platform touched is on
record.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

import pandas as pd

from alphagate.errors import DataError

MAX_RECORDED_PER_RULE = 200
"""Violations kept per (rule, action); the rest are counted, so a file with a
million bad rows still yields a readable report in bounded memory."""


class Rule(StrEnum):
    """Every rule an input can break. Structural rules can only be errors."""

    EMPTY = "empty"
    REQUIRED_COLUMNS = "required_columns"
    NUMERIC = "numeric"
    TIMESTAMP = "timestamp"
    TIMEZONE = "timezone"
    ORDER = "order"
    DUPLICATES = "duplicates"
    NON_FINITE = "non_finite"
    PRICE_POSITIVE = "price_positive"
    VOLUME_NON_NEGATIVE = "volume_non_negative"
    OHLC_CONSISTENT = "ohlc_consistent"
    OFF_CALENDAR = "off_calendar"
    GAPS = "gaps"
    OUTLIERS = "outliers"


class Action(StrEnum):
    """What was done with a violating row."""

    REJECTED = "rejected"
    WARNED = "warned"
    DROPPED = "dropped"
    SORTED = "sorted"
    FILLED = "filled"


@dataclass(frozen=True)
class Violation:
    """One broken rule at one place in one input."""

    rule: Rule
    action: Action
    source: str
    detail: str
    row: int | None = None
    ts: pd.Timestamp | None = None
    symbol: str | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = [self.source]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.ts is not None:
            where.append(f"ts {self.ts.isoformat()}")
        if self.symbol is not None:
            where.append(f"symbol {self.symbol}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: rule {self.rule.value}: {self.detail}"


@dataclass
class QualityReport:
    """Every violation found in one input, with counts that are never capped."""

    source: str
    rows_in: int = 0
    rows_out: int = 0
    violations: list[Violation] = field(default_factory=list)
    counts: Counter[tuple[Rule, Action]] = field(default_factory=Counter)

    def add(self, violation: Violation) -> None:
        """Record a violation; beyond the per-rule cap it is only counted."""
        key = (violation.rule, violation.action)
        self.counts[key] += 1
        if self.counts[key] <= MAX_RECORDED_PER_RULE:
            self.violations.append(violation)

    def merge(self, other: QualityReport) -> None:
        """Fold another report on the same input into this one."""
        self.rows_in += other.rows_in
        self.rows_out += other.rows_out
        for violation in other.violations:
            key = (violation.rule, violation.action)
            if sum(1 for v in self.violations if (v.rule, v.action) == key) < MAX_RECORDED_PER_RULE:
                self.violations.append(violation)
        self.counts.update(other.counts)

    @property
    def error_count(self) -> int:
        """Number of violations that reject the input."""
        return sum(n for (_, action), n in self.counts.items() if action is Action.REJECTED)

    @property
    def is_clean(self) -> bool:
        """True when no rule was broken at all, not even as a warning."""
        return not self.counts

    def errors(self) -> list[Violation]:
        """The recorded violations that reject the input."""
        return [v for v in self.violations if v.action is Action.REJECTED]

    def raise_for_errors(self) -> None:
        """Raise :class:`DataValidationError` when any violation rejects the input."""
        if self.error_count:
            raise DataValidationError(self)


class DataValidationError(DataError):
    """An input broke one or more rules whose policy is ``error``; nothing was stored."""

    def __init__(self, report: QualityReport, shown: int = 10) -> None:
        self.report = report
        errors = report.errors()
        lines = [str(v) for v in errors[:shown]]
        more = report.error_count - len(lines)
        if more > 0:
            lines.append(f"... and {more} more")
        super().__init__(
            f"{report.source}: {report.error_count} data-quality error(s); nothing was stored:\n  "
            + "\n  ".join(lines)
        )
