"""A backtest that crosses its daily loss limit: the kill switch trips and no new order goes out.

``AAA`` trades flat at 100 for ten days, then falls 20 % in one session. The
strategy buys 5 units at every close from 10 000 of cash; the tenth buy
fills at the open of the falling session, so it holds 50 units (half the
account) through the fall: a loss of 10 % of equity in one session, twice
the 5 % limit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphagate.backtest.runner import run_backtest
from alphagate.domain.strategy import OrderIntent, StrategyContext
from alphagate.risk.events import RiskEvent
from alphagate.risk.guard import RiskGuard, RiskSettings
from alphagate.risk.kill_switch import KillSwitch
from alphagate.risk.limits import RiskLimits
from alphagate.testing import bars_of

TS = pd.bdate_range("2024-01-02", periods=16, tz="UTC") + pd.Timedelta(hours=21)
CRASH = 10


class BuyEveryBar:
    """Buys 5 units at every close: a strategy that never stops adding risk on its own."""

    name = "buy-every-bar"
    warmup = 1

    def on_bar(self, context: StrategyContext) -> list[OrderIntent]:
        return [OrderIntent("AAA", 5.0)]


def bars() -> pd.DataFrame:
    close = np.r_[np.full(CRASH, 100.0), np.full(len(TS) - CRASH, 80.0)]
    open_ = np.r_[100.0, close[:-1]]
    return bars_of(close, opens=open_, volume=1e6, stamps=TS)


def run(tmp_path: Path, *, flatten: bool) -> tuple[pd.DataFrame, list[RiskEvent], pd.Series]:
    limits = RiskLimits(
        max_position_weight=1.0,
        max_gross_exposure=1.0,
        max_net_exposure=1.0,
        max_order_notional=10_000.0,
        max_orders_per_day=10,
        price_collar_pct=0.5,
    )
    settings = RiskSettings(limits=limits, daily_loss_pct=0.05, flatten_on_kill=flatten)
    events: list[RiskEvent] = []
    guard = RiskGuard.from_settings(settings, KillSwitch(tmp_path / "kill.json"), events.append)
    result = run_backtest(bars(), BuyEveryBar(), cash=10_000.0, guard=guard)
    return result.orders, events, result.equity


def test_the_kill_switch_trips_on_the_loss_and_blocks_every_later_order(tmp_path: Path) -> None:
    orders, events, _ = run(tmp_path, flatten=False)
    trips = [e for e in events if e.component == "kill_switch"]
    assert len(trips) == 1 and trips[0].ts == TS[CRASH]
    assert "daily loss limit 5.00% breached" in trips[0].reason
    loss = next(e for e in events if e.component == "daily_loss")
    assert loss.data["loss"] == pytest.approx(50 * 20 / 10_000)
    # Orders sent before the crash filled; none was sent at or after it.
    assert (pd.to_datetime(orders["ts_created"]) < TS[CRASH]).all()
    assert (orders["status"] == "filled").sum() == len(orders) == CRASH
    refusals = [e for e in events if e.component == "risk_guard"]
    assert len(refusals) == len(TS) - CRASH
    assert all("kill switch tripped" in e.reason for e in refusals)
    assert [e.ts for e in refusals] == list(TS[CRASH:])


def test_with_flatten_on_kill_the_position_is_closed_after_the_trip(tmp_path: Path) -> None:
    orders, _, equity = run(tmp_path, flatten=True)
    flatten = orders.loc[orders["side"] == "sell"]
    assert len(flatten) == 1 and flatten["status"].iloc[0] == "filled"
    assert equity.iloc[-1] == equity.iloc[-2] == equity.iloc[CRASH + 1]  # flat: nothing moves it
