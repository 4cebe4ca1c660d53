"""Gate 3's grade of a paper record, A to F; A or B passes.

Five metrics, each scored from 0 to 1 by a :class:`~alphagate.config.gates.ScoreRule`
(0 at its ``floor``, 1 at its ``full``, linear in between, clipped), then
averaged with the rules' weights (normalised to sum to 1) into a score of
0-100:

=================  ==========  =========  ======
metric             floor       full       weight
=================  ==========  =========  ======
win rate           0.35        0.55       0.20
Sharpe (annual)    0.0         1.5        0.30
alpha              -0.05       0.05       0.20
max drawdown       0.30        0.05       0.15
tracking error     0.02        0.0        0.15
=================  ==========  =========  ======

(the defaults; ``gates.grader`` changes them). The grade is A from 85, B
from 70, C from 55, D from 40, else F. A metric that cannot be measured
(``nan``: a win rate without trades, a Sharpe of a flat record) scores 0:
"cannot judge" must never lift a grade. Tracking error weighs in so a record
that strays from its own shadow backtest, which means the live path is not
the tested one, cannot pass on luck.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from alphagate.config.gates import GraderConfig, ScoreRule

Grade = Literal["A", "B", "C", "D", "F"]
PASSING: frozenset[str] = frozenset({"A", "B"})


@dataclass(frozen=True)
class PaperRecord:
    """What the grader reads from a paper session.

    ``max_drawdown`` is a positive fraction (0.1 for a 10 % fall);
    ``alpha`` the record's total return less the benchmark's.
    """

    win_rate: float
    sharpe: float
    alpha: float
    max_drawdown: float
    tracking_error: float


@dataclass(frozen=True)
class GradeReport:
    """The grade, the score behind it and each metric's points."""

    grade: Grade
    score: float
    points: dict[str, float]

    @property
    def passed(self) -> bool:
        """A or B."""
        return self.grade in PASSING

    def to_json_dict(self) -> dict[str, Any]:
        """The report as recorded in the transition's evidence."""
        return {"grade": self.grade, "score": self.score, "points": self.points}


def points(value: float, rule: ScoreRule) -> float:
    """``value``'s share of the rule's points, 0 to 1; 0 for a value that is not finite."""
    if not math.isfinite(value):
        return 0.0
    share = (value - rule.floor) / (rule.full - rule.floor)
    return min(1.0, max(0.0, share))


def grade(record: PaperRecord, config: GraderConfig) -> GradeReport:
    """Score ``record`` against ``config`` and name its grade."""
    rules = {
        "win_rate": (record.win_rate, config.win_rate),
        "sharpe": (record.sharpe, config.sharpe),
        "alpha": (record.alpha, config.alpha),
        "drawdown": (record.max_drawdown, config.drawdown),
        "tracking_error": (record.tracking_error, config.tracking_error),
    }
    total_weight = sum(rule.weight for _, rule in rules.values())
    if total_weight <= 0:
        raise ValueError("the grader's weights sum to 0: give at least one metric a weight")
    each = {name: points(value, rule) for name, (value, rule) in rules.items()}
    score = 100.0 * sum(each[name] * rule.weight for name, (_, rule) in rules.items())
    score /= total_weight
    return GradeReport(_letter(score, config), round(score, 6), each)


def _letter(score: float, config: GraderConfig) -> Grade:
    if score >= config.grade_a:
        return "A"
    if score >= config.grade_b:
        return "B"
    if score >= config.grade_c:
        return "C"
    if score >= config.grade_d:
        return "D"
    return "F"
