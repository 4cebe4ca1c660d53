"""The paper grader against scores worked out by hand from the documented table."""

from __future__ import annotations

import math

import pytest

from alphagate.config.gates import GraderConfig, ScoreRule
from alphagate.gates.grader import PaperRecord, grade, points

FULL = PaperRecord(win_rate=0.6, sharpe=2.0, alpha=0.1, max_drawdown=0.01, tracking_error=0.0)


def test_a_record_half_way_on_every_metric_scores_50_a_d() -> None:
    # win 0.45 = (0.45-0.35)/0.2; Sharpe 0.75/1.5; alpha 0 of -0.05..0.05;
    # drawdown (0.175-0.3)/(0.05-0.3); tracking 0.01 of 0.02..0: each 0.5 -> 50.
    half = PaperRecord(
        win_rate=0.45, sharpe=0.75, alpha=0.0, max_drawdown=0.175, tracking_error=0.01
    )
    report = grade(half, GraderConfig())
    assert report.score == pytest.approx(50.0)
    assert (report.grade, report.passed) == ("D", False)


def test_full_marks_are_an_a() -> None:
    report = grade(FULL, GraderConfig())
    assert (report.score, report.grade, report.passed) == (100.0, "A", True)


def test_straying_from_the_shadow_costs_its_weight() -> None:
    strayed = PaperRecord(**{**FULL.__dict__, "tracking_error": 0.05})
    report = grade(strayed, GraderConfig())
    assert report.score == pytest.approx(85.0) and report.grade == "A"  # 100 - 15, the A cut-off


def test_an_unmeasurable_sharpe_scores_nothing() -> None:
    flat = PaperRecord(**{**FULL.__dict__, "sharpe": math.nan})
    report = grade(flat, GraderConfig())
    assert report.score == pytest.approx(70.0) and report.grade == "B"


def test_a_losing_record_fails() -> None:
    bad = PaperRecord(win_rate=0.2, sharpe=-1.0, alpha=-0.2, max_drawdown=0.4, tracking_error=0.1)
    report = grade(bad, GraderConfig())
    assert (report.score, report.grade, report.passed) == (0.0, "F", False)


def test_weights_are_normalised() -> None:
    only_sharpe = GraderConfig(
        win_rate=ScoreRule(floor=0, full=1, weight=0),
        sharpe=ScoreRule(floor=0, full=2, weight=3),
        alpha=ScoreRule(floor=0, full=1, weight=0),
        drawdown=ScoreRule(floor=1, full=0, weight=0),
        tracking_error=ScoreRule(floor=1, full=0, weight=0),
    )
    record = PaperRecord(win_rate=0, sharpe=1.5, alpha=0, max_drawdown=1, tracking_error=1)
    assert grade(record, only_sharpe).score == pytest.approx(75.0)


def test_points_clip_and_read_lower_is_better() -> None:
    rule = ScoreRule(floor=0.3, full=0.1, weight=1)
    assert [points(v, rule) for v in (0.5, 0.3, 0.2, 0.1, 0.0)] == pytest.approx(
        [0.0, 0.0, 0.5, 1.0, 1.0]
    )
