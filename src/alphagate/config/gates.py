"""The promotion gates: thresholds that tighten with the trial count, and the paper grader.

The more configurations were tried on the same data, the likelier the best
of them is lucky, so gate 1 asks more of a candidate as the trial count
grows: four phases, lenient to strict. The deflated Sharpe ratio corrects
for the count exactly; the phase thresholds are the blunt, readable rules
beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from alphagate.config.base import Section


class PhaseThresholds(Section):
    """Gate 1's out-of-sample thresholds in one phase of the trial count."""

    min_sharpe: float = Field(description="Backtest annualised Sharpe must exceed this.")
    max_drawdown: float = Field(
        gt=0, le=1, description="Backtest maximum drawdown (a fraction) must stay below this."
    )
    min_win_rate: float = Field(ge=0, le=1, description="Share of winning trades must exceed this.")
    min_deflated_sharpe: float = Field(
        ge=0, lt=1, description="Deflated Sharpe ratio for the trial count must exceed this."
    )


class ScoreRule(Section):
    """One graded metric: no points at ``floor``, all at ``full``, linear in between.

    ``full`` below ``floor`` means lower is better (drawdown, tracking error).
    """

    floor: float = Field(description="The value that earns no points.")
    full: float = Field(description="The value that earns every point.")
    weight: float = Field(ge=0, description="Share of the grade; the weights are normalised.")

    @model_validator(mode="after")
    def _distinct(self) -> ScoreRule:
        if self.floor == self.full:
            raise ValueError(
                "floor and full must differ, or no value could earn part of the points"
            )
        return self


class GraderConfig(Section):
    """How a paper record is graded A-F (see ``gates.grader``); A or B passes."""

    win_rate: ScoreRule = Field(
        ScoreRule(floor=0.35, full=0.55, weight=0.2), description="Share of winning trades."
    )
    sharpe: ScoreRule = Field(
        ScoreRule(floor=0.0, full=1.5, weight=0.3), description="Annualised Sharpe of the record."
    )
    alpha: ScoreRule = Field(
        ScoreRule(floor=-0.05, full=0.05, weight=0.2),
        description="Total return less the benchmark's (buy and hold of the same symbols).",
    )
    drawdown: ScoreRule = Field(
        ScoreRule(floor=0.3, full=0.05, weight=0.15),
        description="Maximum drawdown as a positive fraction (lower is better).",
    )
    tracking_error: ScoreRule = Field(
        ScoreRule(floor=0.02, full=0.0, weight=0.15),
        description="Worst daily tracking error against the shadow backtest (lower is better).",
    )
    grade_a: float = Field(85.0, description="Least score (0-100) for an A.")
    grade_b: float = Field(70.0, description="Least score for a B (the least that passes).")
    grade_c: float = Field(55.0, description="Least score for a C.")
    grade_d: float = Field(40.0, description="Least score for a D; below is an F.")

    @model_validator(mode="after")
    def _ordered(self) -> GraderConfig:
        if not self.grade_a >= self.grade_b >= self.grade_c >= self.grade_d:
            raise ValueError("grade cut-offs must satisfy grade_a >= grade_b >= grade_c >= grade_d")
        return self


class WalkForwardConfig(Section):
    """Gate 1's walk-forward check: retrained window by window, the results must hold up.

    The single backtest trades models trained once, before the out-of-sample
    span. Here the span is cut into ``windows`` successive windows; before
    each, every horizon is trained again (the trainer as ``alphagate train``
    runs it) on everything before the window, purged and embargoed, and
    trades that window. The aggregate's total return and Sharpe must each
    stay within ``tolerance`` of the single model's on the same span:
    ``|walk-forward - single| / max(|single|, floor) < tolerance``. The floor
    keeps a value near zero from turning a tiny gap into a huge relative one.
    """

    enabled: bool = Field(
        True,
        description="Run the walk-forward check in gate 1 (off: gate 1 skips it and says so "
        "in the evidence).",
    )
    windows: int = Field(
        4,
        ge=2,
        description="Successive out-of-sample windows, each retrained before it is traded "
        "(fewer when the span is too short for min_window_bars each).",
    )
    min_window_bars: int = Field(
        40,
        ge=1,
        description="Least distinct bar times per window; fewer than two such windows in "
        "the span fails the check.",
    )
    embargo: float = Field(
        0.01,
        ge=0,
        lt=1,
        description="Share of distinct bar times left out of training just before each "
        "window, besides the purge of labels that end inside it.",
    )
    tolerance: float = Field(
        0.2,
        gt=0,
        description="Largest relative gap between the walk-forward aggregate and the "
        "single backtest, for return and Sharpe alike (0.2: within ±20 %).",
    )
    return_floor: float = Field(
        0.05,
        gt=0,
        description="Total returns smaller than this (in size) are measured against it: "
        "the gap is divided by max(|single return|, return_floor).",
    )
    sharpe_floor: float = Field(
        0.5,
        gt=0,
        description="Sharpe ratios smaller than this (in size) are measured against it: "
        "the gap is divided by max(|single Sharpe|, sharpe_floor).",
    )
    workers: int | None = Field(
        None,
        ge=1,
        description="Workers retraining the windows (each horizon and window is one task), "
        "where parallel.backend runs them; null: one per CPU core. The result is the same "
        "with any number.",
    )


class GatesConfig(Section):
    """Promotion from a trained run to live trading, gate by gate (``alphagate gates``)."""

    mid_from_trials: int = Field(
        10, ge=1, description="Trial count from which gate 1 uses the mid-phase thresholds."
    )
    late_from_trials: int = Field(
        50, ge=1, description="Trial count from which gate 1 uses the late-phase thresholds."
    )
    mature_from_trials: int = Field(
        200, ge=1, description="Trial count from which gate 1 uses the mature-phase thresholds."
    )
    early: PhaseThresholds = Field(
        PhaseThresholds(
            min_sharpe=0.0, max_drawdown=0.5, min_win_rate=0.3, min_deflated_sharpe=0.5
        ),
        description="Gate 1 with few trials: lenient.",
    )
    mid: PhaseThresholds = Field(
        PhaseThresholds(
            min_sharpe=0.25, max_drawdown=0.4, min_win_rate=0.35, min_deflated_sharpe=0.8
        ),
        description="Gate 1 once mid_from_trials configurations were tried.",
    )
    late: PhaseThresholds = Field(
        PhaseThresholds(
            min_sharpe=0.5, max_drawdown=0.35, min_win_rate=0.4, min_deflated_sharpe=0.9
        ),
        description="Gate 1 once late_from_trials configurations were tried.",
    )
    mature: PhaseThresholds = Field(
        PhaseThresholds(
            min_sharpe=0.75, max_drawdown=0.3, min_win_rate=0.45, min_deflated_sharpe=0.95
        ),
        description="Gate 1 once mature_from_trials configurations were tried: strict.",
    )
    extra_trials: int = Field(
        0,
        ge=0,
        description="Configurations tried on the same data outside alphagate's records (a "
        "notebook, another tool), added to the counted trials.",
    )
    walk_forward: WalkForwardConfig = Field(
        default_factory=WalkForwardConfig,
        description="Gate 1's walk-forward check against the single backtest.",
    )
    paper_mode: Literal["replay", "live"] = Field(
        "replay",
        description="Gate 3's paper record: `replay` trades the run's holdout through the paper "
        "engine at once; `live` grades the record of `alphagate paper --run R --feed VENUE` "
        "(live bars, simulated fills) once it spans paper_min_days trading days.",
    )
    paper_min_days: int = Field(
        7,
        ge=1,
        description="Gate 3: the least trading days a paper record must span to be graded "
        "(distinct session dates of the replayed bars in data.calendar; UTC dates without "
        "one).",
    )
    grader: GraderConfig = Field(
        default_factory=GraderConfig, description="Gate 3's grade of the paper record."
    )
    auto_promote_live: bool = Field(
        False,
        description="Promote a candidate awaiting approval to live without an operator "
        "(`alphagate gates approve`).",
    )
    stop_file: Path = Field(
        Path("state/gates.stop"),
        description="The orchestrator's emergency stop: while it exists no gate runs "
        "(`alphagate gates stop` / `resume`).",
    )
    retry_seconds: float = Field(
        30.0,
        gt=0,
        description="The daemon's first wait after a failed pass; it doubles per failure in a "
        "row, up to the interval.",
    )

    @model_validator(mode="after")
    def _phases_ordered(self) -> GatesConfig:
        if not self.mid_from_trials <= self.late_from_trials <= self.mature_from_trials:
            raise ValueError(
                "phases must start in order: mid_from_trials <= late_from_trials <= "
                "mature_from_trials"
            )
        return self
