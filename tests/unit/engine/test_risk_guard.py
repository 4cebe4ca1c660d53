"""RiskGuard: what it refuses (with an event and a reason), when it trips, what it tells the loop.

The breaker's own behaviour on spikes and noise is tested in
``tests/unit/risk/test_breaker.py``; here only how the guard acts on its levels.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest

from alphagate.domain.guard import AccountView, GuardAction
from alphagate.domain.orders import OrderRequest, Side
from alphagate.risk.breaker import BreakerAction, BreakerLevel, CorrelationBreaker
from alphagate.risk.events import RiskEvent, Severity
from alphagate.risk.guard import (
    BreakerSettings,
    RiskGuard,
    RiskSettings,
    baseline_correlation,
)
from alphagate.risk.kill_switch import KillSwitch
from alphagate.risk.limits import PreTradeCheck, RiskLimits
from alphagate.risk.monitors import DailyLossLimit, DrawdownMonitor
from alphagate.testing import request_of

DAY = pd.Timestamp("2024-03-01 21:00", tz="UTC")
LIMITS = RiskLimits(
    max_position_weight=0.5,
    max_gross_exposure=1.0,
    max_net_exposure=1.0,
    max_order_notional=50_000.0,
    max_orders_per_day=10,
    price_collar_pct=0.1,
)


def account(
    equity: float = 100_000.0,
    positions: dict[str, float] | None = None,
    ts: pd.Timestamp = DAY,
    prices: dict[str, float] | None = None,
) -> AccountView:
    return AccountView(
        ts=ts,
        equity=equity,
        cash=equity,
        positions=MappingProxyType(positions or {}),
        prices=MappingProxyType(prices or {"AAA": 100.0, "BBB": 50.0}),
    )


def order(
    quantity: float,
    side: Side = Side.BUY,
    *,
    cid: str = "o1",
    ts: pd.Timestamp = DAY,
    parent: str | None = None,
) -> OrderRequest:
    return request_of(cid, side=side, quantity=quantity, ts=ts, parent_id=parent)


@pytest.fixture
def events() -> list[RiskEvent]:
    return []


def guard(tmp_path: Path, events: list[RiskEvent], **options: object) -> RiskGuard:
    return RiskGuard(
        PreTradeCheck(LIMITS),
        KillSwitch(tmp_path / "kill.json", tmp_path / "KILL"),
        events.append,
        **options,  # type: ignore[arg-type]
    )


def test_an_order_within_limits_passes_unchanged_and_records_nothing(
    tmp_path: Path, events: list[RiskEvent]
) -> None:
    request = order(100)
    assert guard(tmp_path, events).review(request, account(), 100.0) is request
    assert events == []


def test_a_rejected_order_returns_its_reason_and_records_it_as_an_event(
    tmp_path: Path, events: list[RiskEvent]
) -> None:
    answer = guard(tmp_path, events).review(order(600), account(), 100.0)  # 60 % of equity
    assert isinstance(answer, str)
    assert "position weight 0.60 > max 0.50" in answer
    assert [(e.component, e.severity, e.reason) for e in events] == [
        ("pre_trade", Severity.WARNING, answer)
    ]


def test_a_bracket_child_passes_with_its_entry_and_is_refused_with_it(
    tmp_path: Path, events: list[RiskEvent]
) -> None:
    risk = guard(tmp_path, events)
    assert isinstance(risk.review(order(600, cid="big"), account(), 100.0), str)
    child = order(600, Side.SELL, cid="big-stop", parent="big")
    assert risk.review(child, account(), 100.0) == "its entry order was refused"
    assert events[-1].data["client_order_id"] == "big-stop"
    kept = order(100, Side.SELL, cid="ok-stop", parent="ok")
    assert risk.review(kept, account(), 100.0) is kept


def test_a_daily_loss_trips_the_kill_switch_which_cancels_once_and_blocks_new_risk(
    tmp_path: Path, events: list[RiskEvent]
) -> None:
    risk = guard(tmp_path, events, daily_loss=DailyLossLimit(0.05))
    assert risk.after_bar(account(100_000.0, ts=DAY)) is GuardAction.NONE
    next_day = DAY + pd.Timedelta(days=1)
    assert risk.after_bar(account(94_000.0, ts=next_day)) is GuardAction.CANCEL_ALL
    assert risk.kill_switch.is_tripped()
    assert [e.component for e in events] == ["daily_loss", "kill_switch"]
    assert risk.after_bar(account(94_000.0, ts=next_day)) is GuardAction.NONE  # once
    held = {"AAA": 50.0}
    refused = risk.review(order(10, ts=next_day), account(94_000.0, held), 100.0)
    assert isinstance(refused, str) and refused.startswith("kill switch tripped")
    assert events[-1].component == "risk_guard"
    closing = order(50, Side.SELL, cid="close", ts=next_day)
    assert risk.review(closing, account(94_000.0, held), 100.0) is closing


def test_flatten_on_kill_asks_the_loop_to_close_everything(
    tmp_path: Path, events: list[RiskEvent]
) -> None:
    risk = guard(tmp_path, events, daily_loss=DailyLossLimit(0.05), flatten_on_kill=True)
    risk.after_bar(account(100_000.0))
    assert risk.after_bar(account(90_000.0, ts=DAY + pd.Timedelta(days=1))) is GuardAction.FLATTEN


def test_the_trigger_file_is_polled_after_each_bar_and_latched(
    tmp_path: Path, events: list[RiskEvent]
) -> None:
    risk = guard(tmp_path, events)
    assert risk.after_bar(account()) is GuardAction.NONE
    (tmp_path / "KILL").touch()
    assert risk.after_bar(account()) is GuardAction.CANCEL_ALL
    (tmp_path / "KILL").unlink()
    assert risk.kill_switch.is_tripped()
    assert events[-1].data["actor"] == "operator-file"


def test_a_burst_of_rejections_trips_the_kill_switch(
    tmp_path: Path, events: list[RiskEvent]
) -> None:
    risk = guard(tmp_path, events, max_rejects_per_day=3)
    for i in range(3):
        risk.review(order(900, cid=f"bad{i}"), account(), 100.0)
    assert risk.kill_switch.is_tripped()
    assert "3 orders rejected" in (risk.kill_switch.reason or "")
    assert risk.after_bar(account()) is GuardAction.CANCEL_ALL


def test_drawdown_reduce_allows_only_reductions_and_halt_trips_the_switch(
    tmp_path: Path, events: list[RiskEvent]
) -> None:
    risk = guard(tmp_path, events, drawdown=DrawdownMonitor(0.1, 0.2))
    risk.after_bar(account(100_000.0))
    risk.after_bar(account(88_000.0))
    refused = risk.review(order(10), account(88_000.0), 100.0)
    assert isinstance(refused, str) and "only reducing" in refused
    assert not risk.kill_switch.is_tripped()
    assert risk.after_bar(account(79_000.0)) is GuardAction.CANCEL_ALL
    assert "drawdown" in (risk.kill_switch.reason or "")


def test_the_breaker_level_scales_then_forbids_new_risk(
    tmp_path: Path, events: list[RiskEvent]
) -> None:
    breaker = CorrelationBreaker(baseline=0.0, window=5, elevated_at=0.5, crisis_at=0.9)
    risk = guard(tmp_path, events, breaker=breaker)
    rng = np.random.default_rng(3)
    prices = {"AAA": 100.0, "BBB": 50.0}
    ts = DAY
    for shock in rng.normal(0, 0.02, 12):  # both symbols move together: correlation 1
        prices = {s: p * float(np.exp(shock)) for s, p in prices.items()}
        ts += pd.Timedelta(days=1)
        risk.after_bar(account(ts=ts, prices=prices))
    assert breaker.level is BreakerLevel.CRISIS
    assert any(e.component == "correlation_breaker" for e in events)
    refused = risk.review(order(10, ts=ts), account(ts=ts, prices=prices), prices["AAA"])
    assert isinstance(refused, str) and "correlation breaker CRISIS" in refused


def test_an_elevated_breaker_halves_a_new_order(tmp_path: Path, events: list[RiskEvent]) -> None:
    actions = {
        BreakerLevel.NORMAL: BreakerAction(),
        BreakerLevel.ELEVATED: BreakerAction(scale=0.5),
        BreakerLevel.CRISIS: BreakerAction(scale=0.5),
    }
    breaker = CorrelationBreaker(0.0, 5, 0.5, 0.9, actions)
    risk = guard(tmp_path, events, breaker=breaker)
    prices, ts = {"AAA": 100.0, "BBB": 50.0}, DAY
    for shock in np.random.default_rng(4).normal(0, 0.02, 8):
        prices = {s: p * float(np.exp(shock)) for s, p in prices.items()}
        ts += pd.Timedelta(days=1)
        risk.after_bar(account(ts=ts, prices=prices))
    answer = risk.review(order(100, ts=ts), account(ts=ts, prices=prices), prices["AAA"])
    assert isinstance(answer, OrderRequest)
    assert answer.quantity == 50


def test_breaker_thresholds_are_shares_of_the_room_left_above_the_baseline() -> None:
    breaker = BreakerSettings(window=20).build(0.6)
    assert breaker is not None
    assert (breaker.elevated_at, breaker.crisis_at) == pytest.approx((0.8, 0.92))
    assert breaker.margin == pytest.approx(0.1)
    assert BreakerSettings().build(None) is None


def test_the_baseline_is_the_mean_pairwise_correlation_of_log_returns() -> None:
    rng = np.random.default_rng(9)
    a = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
    closes = pd.DataFrame({"A": a, "B": a**2, "C": 1 / a})  # returns r, 2r, -r
    assert baseline_correlation(closes) == pytest.approx((1 + -1 + -1) / 3)
    assert baseline_correlation(closes[["A"]]) is None


def test_from_settings_builds_every_monitor(tmp_path: Path, events: list[RiskEvent]) -> None:
    settings = RiskSettings(limits=LIMITS, daily_loss_pct=0.02)
    risk = RiskGuard.from_settings(settings, KillSwitch(tmp_path / "k.json"), events.append)
    risk.after_bar(account(100_000.0))
    risk.after_bar(account(97_000.0, ts=DAY + pd.Timedelta(days=1)))
    assert risk.kill_switch.is_tripped()
    assert risk.exposure is not None and len(risk.exposure.history()) == 2
