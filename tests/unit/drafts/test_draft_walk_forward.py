"""The periods a draft is judged on, and the band each later window must stay in."""

from __future__ import annotations

import numpy as np
import pytest

from alphagate.config.llm import DraftValidationConfig
from alphagate.drafts.records import PeriodMetrics
from alphagate.drafts.walk_forward import judge_training, judge_windows, periods_of
from alphagate.errors import AlphagateError
from alphagate.testing.bars import bars_of


def period(sharpe: float | None) -> PeriodMetrics:
    return PeriodMetrics("a", "b", 10, sharpe, 0.0, 0.0, 1)


def test_the_training_period_comes_first_and_the_windows_tile_the_rest() -> None:
    bars = bars_of(100.0 + np.arange(100.0), freq="D")
    ts = bars.index.get_level_values("ts").as_unit("ns").asi8

    periods = periods_of(bars, DraftValidationConfig(training_fraction=0.4, windows=3))

    # 60 later bars in 3 windows of 20; the training period is the first 40.
    assert periods.training_end_ns == ts[39]
    assert periods.windows == ((ts[40], ts[59]), (ts[60], ts[79]), (ts[80], ts[99]))


def test_too_few_bars_for_the_windows_is_refused_with_the_count_needed() -> None:
    bars = bars_of(100.0 + np.arange(8.0), freq="D")

    with pytest.raises(AlphagateError, match="give at least 12 bars"):
        periods_of(bars, DraftValidationConfig(training_fraction=0.5, windows=3))


def test_each_window_must_stay_within_twenty_percent_of_the_training_sharpe() -> None:
    rules = DraftValidationConfig(tolerance=0.2)
    # Training Sharpe 1.5: the band is [1.2, 1.8].
    verdict = judge_windows(period(1.5), (period(1.21), period(1.79), period(1.19)), rules)

    assert not verdict.passed
    assert len(verdict.reasons) == 1 and verdict.reasons[0].startswith("window 3")
    assert "[1.200, 1.800]" in verdict.reasons[0]


def test_a_window_far_better_than_training_also_fails() -> None:
    verdict = judge_windows(period(1.0), (period(1.3),), DraftValidationConfig())

    assert not verdict.passed


def test_near_zero_the_band_is_as_wide_as_the_floor_makes_it() -> None:
    rules = DraftValidationConfig(tolerance=0.2, sharpe_floor=0.5)
    # Training 0.05: half-width 0.2 * max(0.05, 0.5) = 0.1, so [-0.05, 0.15].
    assert judge_windows(period(0.05), (period(0.14), period(-0.04)), rules).passed
    assert not judge_windows(period(0.05), (period(0.16),), rules).passed


def test_a_flat_window_cannot_be_judged_and_fails() -> None:
    verdict = judge_windows(period(1.0), (period(None),), DraftValidationConfig())

    assert not verdict.passed and "no Sharpe" in verdict.reasons[0]


def test_the_training_backtest_must_make_money_to_be_worth_validating() -> None:
    assert judge_training(period(0.3), DraftValidationConfig()).passed
    assert not judge_training(period(-0.3), DraftValidationConfig()).passed
    assert not judge_training(period(None), DraftValidationConfig()).passed
