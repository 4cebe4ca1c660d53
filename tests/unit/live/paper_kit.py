"""What the live tests share: the kit's bracket strategy, and a paper engine like the backtest's."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from alphagate.engine.kernel import Kernel
from alphagate.engine.market import MarketData
from alphagate.execution.fill_models import NextOpenFill
from alphagate.execution.portfolio import Portfolio
from alphagate.execution.venue import SimulatedVenue
from alphagate.live.driver import LiveDriver
from alphagate.live.paper_venue import PaperVenue
from alphagate.ports import Journal
from alphagate.testing.paper_session import EveryNthBracket

CASH = 10_000.0
__all__ = ["CASH", "EveryNthBracket", "paper_driver", "symbols_in"]


def symbols_in(bars: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(bars.index.get_level_values("symbol")))


def paper_driver(
    strategy: object, symbols: Sequence[str], journal: Journal, ledger: Journal
) -> LiveDriver:
    """A fresh kernel, portfolio and paper venue on the given journals, built as the backtest."""
    kernel = Kernel(strategy, Portfolio(CASH), MarketData.empty(symbols))  # type: ignore[arg-type]
    venue = SimulatedVenue(NextOpenFill(), symbols=symbols, starting_cash=CASH)
    return LiveDriver(kernel, PaperVenue(venue, ledger), journal)
