"""Where the event engine's time goes: a bar without an order, and an order.

Runs the backtest benchmark's random walk three ways in this process, each
best of ``--repeat`` by CPU time (a shared host's wall time is noise):

- a strategy that declares an all-NaN target and never trades: the cost of a
  bar (driver, kernel, strategy, one indicator read);
- one that returns ``None`` without reading anything: the driver and kernel alone;
- the SMA 10/30 cross: bars plus its orders; the difference, divided by the
  orders sent, is the cost of one order (sizing, id, request, state, the
  venue's ack and fill, portfolio, books).

``python benchmarks/bench_order_path.py [--bars 200000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from alphagate.backtest.runner import BacktestResult, run_backtest
from alphagate.domain.strategy import StrategyContext, SymbolHistory
from alphagate.strategies.builtin import SmaCross
from bench_backtest import CASH, FAST, SLOW, random_walk_bars


class NeverTrades:
    """Reads its one declared target every bar, as the built-ins do; the target is always NaN."""

    name, warmup = "never_trades", SLOW + 1

    def indicators(self, symbol: str, history: SymbolHistory) -> dict[str, Any]:
        return {"target": np.full(len(history), np.nan)}

    def on_bar(self, context: StrategyContext) -> None:
        for symbol in context.updated:
            context.value(symbol, "target")


class ReadsNothing:
    """Answers ``None`` at once: what is left is the driver and the kernel."""

    name, warmup = "reads_nothing", SLOW + 1

    def on_bar(self, context: StrategyContext) -> None:
        return None


def best_cpu_seconds(run: Callable[[], BacktestResult], repeat: int) -> tuple[float, int]:
    best, orders = float("inf"), 0
    for _ in range(repeat):
        start = time.process_time()
        result = run()
        best = min(best, time.process_time() - start)
        orders = len(result.orders)
    return best, orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bars = random_walk_bars(args.bars)
    rows = {}
    for label, strategy in (
        ("driver and kernel", ReadsNothing()),
        ("a bar with its strategy", NeverTrades()),
        ("SMA cross", SmaCross(FAST, SLOW)),
    ):
        rows[label] = best_cpu_seconds(
            lambda s=strategy: run_backtest(bars, s, cash=CASH, calendar=None), args.repeat
        )
    n = args.bars
    for label, (seconds, orders) in rows.items():
        print(
            f"{label:<26}{seconds:8.3f} s cpu  {seconds / n * 1e6:6.2f} us/bar  {orders:,} orders"
        )
    sma, orders = rows["SMA cross"]
    idle = rows["a bar with its strategy"][0]
    if orders:
        print(f"{'one order':<26}{(sma - idle) / orders * 1e6:8.1f} us cpu")


if __name__ == "__main__":
    main()
