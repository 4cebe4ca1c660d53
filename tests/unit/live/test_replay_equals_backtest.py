"""Bars through the live driver and the paper venue give the backtest's orders, fills and equity."""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest
from paper_kit import CASH, EveryNthBracket, paper_driver, symbols_in

from alphagate.backtest.runner import run_backtest
from alphagate.live.feeds import ReplayFeed
from alphagate.live.runner import run_live
from alphagate.strategies.builtin import SmaCross
from alphagate.testing import random_walk_bars
from alphagate.testing.journal import MemoryJournal

CASES = {
    "sma cross, one symbol": (lambda: SmaCross(5, 20), {"AAA": 0}),
    "sma cross, two symbols with gaps": (lambda: SmaCross(5, 20), {"AAA": 0, "BBB": 7}),
    "brackets, two symbols with gaps": (EveryNthBracket, {"AAA": 0, "BBB": 5}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_replay_through_the_live_driver_is_the_backtest(case: str) -> None:
    make, symbols = CASES[case]
    bars = random_walk_bars(symbols, 600, seed=11)
    backtest = run_backtest(bars, make(), cash=CASH, calendar=None)
    driver = paper_driver(make(), symbols_in(bars), MemoryJournal(), MemoryJournal())
    equity: list[float] = []

    def mark(d: object) -> None:
        kernel = driver.kernel
        equity.append(kernel.portfolio.equity(kernel.latest_closes()))

    summary = asyncio.run(run_live(driver, ReplayFeed(bars), on_cycle=mark, handle_signals=False))
    kernel = driver.kernel
    assert summary.cycles == len(backtest.equity)
    assert len(backtest.orders) > 10
    ours = pd.DataFrame(
        [(s.client_order_id, s.status.value, s.filled_qty) for s in kernel.orders.values()],
        columns=["client_order_id", "status", "filled_qty"],
    )
    theirs = backtest.orders[["client_order_id", "status", "filled_qty"]].astype(object)
    pd.testing.assert_frame_equal(ours.astype(object), theirs, check_dtype=False)
    assert [f.trade_id for f in backtest.fill_records] == [
        u["fill"]["trade_id"]
        for _, kind, u in driver.journal.replay()
        if kind == "update" and u["event"] == "filled"
    ]
    np.testing.assert_allclose(equity, backtest.equity.to_numpy(), rtol=1e-12, atol=0)
