"""What the live tests share: a bracket strategy, and a paper engine built like the backtest's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from alphagate.domain.orders import OrderType, TimeInForce
from alphagate.domain.strategy import OrderIntent, StrategyContext
from alphagate.engine.kernel import Kernel
from alphagate.engine.market import MarketData
from alphagate.execution.fill_models import NextOpenFill
from alphagate.execution.portfolio import Portfolio
from alphagate.execution.venue import SimulatedVenue
from alphagate.live.driver import LiveDriver
from alphagate.live.paper_venue import PaperVenue
from alphagate.ports import Journal

CASH = 10_000.0


@dataclass
class EveryNthBracket:
    """Every ``every``-th bar of a flat symbol: buy 10, a GTC stop 3 % under, a target 3 % over."""

    every: int = 7
    name: str = "every_nth_bracket"
    warmup: int = 2

    def on_bar(self, context: StrategyContext) -> list[OrderIntent] | None:
        intents: list[OrderIntent] = []
        for symbol in context.updated:
            n = context.bars_seen(symbol)
            if n % self.every or context.position(symbol) != 0.0:
                continue
            close = float(context.history[symbol].close[-1])
            group = f"b{n}"
            intents += [
                OrderIntent(symbol, 10),
                OrderIntent(
                    symbol, -10, leg="stop", parent_leg="entry", oco_group=group,
                    order_type=OrderType.STOP, stop_price=round(close * 0.97, 6),
                    time_in_force=TimeInForce.GTC,
                ),
                OrderIntent(
                    symbol, -10, leg="take_profit", parent_leg="entry", oco_group=group,
                    order_type=OrderType.LIMIT, limit_price=round(close * 1.03, 6),
                    time_in_force=TimeInForce.GTC,
                ),
            ]  # fmt: skip
        return intents or None


def symbols_in(bars: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(bars.index.get_level_values("symbol")))


def paper_driver(
    strategy: object, symbols: Sequence[str], journal: Journal, ledger: Journal
) -> LiveDriver:
    """A fresh kernel, portfolio and paper venue on the given journals, built as the backtest."""
    kernel = Kernel(strategy, Portfolio(CASH), MarketData.empty(symbols))  # type: ignore[arg-type]
    venue = SimulatedVenue(NextOpenFill(), symbols=symbols, starting_cash=CASH)
    return LiveDriver(kernel, PaperVenue(venue, ledger), journal)
