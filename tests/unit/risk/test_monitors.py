"""Drawdown, daily-loss and exposure monitors on hand-written equity paths."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from alphagate.risk.events import Severity
from alphagate.risk.monitors import (
    DailyLossLimit,
    DrawdownMonitor,
    DrawdownState,
    ExposureTracker,
)


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_the_drawdown_monitor_walks_normal_reduce_normal_halt_on_a_hand_path() -> None:
    monitor = DrawdownMonitor(reduce_at=0.10, halt_at=0.20)
    # equity: peak 120; 105 is 12.5 % down; 115 is 4.2 %; new peak 125; 95 is 24 %.
    path = [100.0, 120.0, 105.0, 115.0, 125.0, 95.0, 130.0]
    states = []
    events = []
    for day, equity in enumerate(path, start=1):
        event = monitor.update(_ts(f"2024-01-{day:02d} 21:00"), equity)
        states.append(monitor.state)
        if event is not None:
            events.append(event)
    n, r, h = DrawdownState.NORMAL, DrawdownState.REDUCE, DrawdownState.HALT
    assert states == [n, n, r, n, n, h, h]  # HALT stays latched on the 130 recovery
    assert [e.reason for e in events] == [
        "normal -> reduce: drawdown 12.50% from peak 120.00",
        "reduce -> normal: drawdown 4.17% from peak 120.00",
        "normal -> halt: drawdown 24.00% from peak 125.00",
    ]
    assert [e.severity for e in events] == [Severity.WARNING, Severity.INFO, Severity.CRITICAL]


def test_a_reset_leaves_halt_and_restarts_the_peak() -> None:
    monitor = DrawdownMonitor(reduce_at=0.10, halt_at=0.20)
    monitor.update(_ts("2024-01-01"), 100.0)
    monitor.update(_ts("2024-01-02"), 70.0)
    assert monitor.state is DrawdownState.HALT
    event = monitor.reset(_ts("2024-01-03"))
    assert event is not None
    assert event.reason == "halt -> normal: drawdown monitor reset by operator"
    # The new peak is 70: 66 is 5.7 % down, still NORMAL.
    assert monitor.update(_ts("2024-01-04"), 70.0) is None
    assert monitor.update(_ts("2024-01-05"), 66.0) is None
    assert monitor.drawdown == pytest.approx(4 / 70)


def test_drawdown_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="reduce_at < halt_at"):
        DrawdownMonitor(reduce_at=0.2, halt_at=0.1)


def test_the_daily_loss_limit_trips_once_a_day_and_resets_the_next_day() -> None:
    limit = DailyLossLimit(max_loss_pct=0.03)
    assert limit.update(_ts("2024-01-02 14:00"), 100_000.0) is None
    assert limit.update(_ts("2024-01-02 15:00"), 98_000.0) is None  # 2 % down
    event = limit.update(_ts("2024-01-02 16:00"), 96_500.0)  # 3.5 % down
    assert event is not None
    assert event.reason == "daily loss 3.50% >= max 3.00% on 2024-01-02"
    assert event.severity is Severity.CRITICAL
    assert limit.breached
    assert limit.update(_ts("2024-01-02 17:00"), 95_000.0) is None  # no second event
    # Next UTC day: start equity is yesterday's last, 95 000; 93 000 is 2.1 % down.
    assert limit.update(_ts("2024-01-03 14:00"), 95_000.0) is None
    assert not limit.breached
    assert limit.update(_ts("2024-01-03 15:00"), 93_000.0) is None
    event = limit.update(_ts("2024-01-03 16:00"), 92_000.0)  # 1 - 92/95 = 3.16 %
    assert event is not None
    assert event.reason == "daily loss 3.16% >= max 3.00% on 2024-01-03"


def test_an_overnight_gap_counts_against_the_new_day() -> None:
    limit = DailyLossLimit(max_loss_pct=0.03)
    limit.update(_ts("2024-01-02 21:00"), 100_000.0)
    # Opens 4 % lower the next day: measured from yesterday's close.
    assert limit.update(_ts("2024-01-03 14:30"), 96_000.0) is not None


def test_a_session_date_passed_in_overrides_the_utc_date() -> None:
    limit = DailyLossLimit(max_loss_pct=0.03)
    session = dt.date(2024, 1, 2)
    limit.update(_ts("2024-01-02 23:00"), 100_000.0, session=session)
    limit.update(_ts("2024-01-03 00:30"), 96_000.0, session=session)  # same session
    assert limit.breached
    assert limit.session == session


def test_the_exposure_tracker_records_gross_and_net_over_time() -> None:
    tracker = ExposureTracker()
    prices = {"AAA": 100.0, "BBB": 50.0}
    # 10 000 long, 10 000 short on 50 000 equity: gross 0.4, net 0.
    first = tracker.update(_ts("2024-01-02"), {"AAA": 100.0, "BBB": -200.0}, prices, 50_000.0)
    # 30 000 long, nothing short: gross 0.6, net 0.6.
    second = tracker.update(_ts("2024-01-03"), {"AAA": 300.0}, prices, 50_000.0)
    assert (first.gross, first.net) == pytest.approx((0.4, 0.0))
    assert (second.gross, second.net) == pytest.approx((0.6, 0.6))
    assert tracker.history() == (first, second)
    assert tracker.max_gross == pytest.approx(0.6)
