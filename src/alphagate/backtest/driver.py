"""The historical driver: stored bars walked in time order through the kernel and a venue.

For each timestamp, in order, the driver feeds the kernel the events a live
run would see over the same bar, and carries out the commands it answers
with (:mod:`alphagate.engine.kernel`):

1. ``on_open``: when targets are waiting, the bars' opens (they are sized there);
2. the venue sees each symbol's bar and reports fills, expiries and
   cancellations, each fed back through ``on_order_update``;
3. ``on_bars``: the bars closed; the guard and the strategy answer with
   orders and cancels, which go to the venue at once and fill on a later bar.

The venue is shown a bar only while orders are working, unless its fill
model keeps a bar history (``feed_every_bar``). Equity is not marked bar by
bar: the driver notes the cash and the traded symbol's quantity after each
fill (:class:`~alphagate.backtest.book_log.BookLog`) and values the whole
curve once, in arrays, at the end, with the arithmetic per-bar marking uses.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphagate.backtest.book_log import BookLog
from alphagate.domain.commands import Cancel, Command, Submit
from alphagate.domain.guard import OrderGuard
from alphagate.domain.order_state import Filled, OrderState, OrderUpdate
from alphagate.domain.orders import Fill
from alphagate.domain.strategy import FloatArray, Strategy
from alphagate.engine.kernel import Kernel, Sizing, Units
from alphagate.engine.market import MarketData
from alphagate.execution.commission import CommissionModel
from alphagate.execution.portfolio import Portfolio
from alphagate.ports import BarVenue

_GC_YOUNG_THRESHOLD: Final = 50_000


@dataclass(slots=True)
class RunRecord:
    """What a run leaves behind: per-bar series, every fill and every order's final state."""

    ts: pd.DatetimeIndex
    equity: FloatArray
    position_value: FloatArray
    traded_notional: FloatArray
    fills: list[Fill] = field(default_factory=list)
    orders: dict[str, OrderState] = field(default_factory=dict)
    updates: list[tuple[int, OrderUpdate]] = field(default_factory=list)
    """Every venue report with when it came (ns since the epoch, UTC)."""


class BacktestDriver:
    """Runs one strategy over a canonical bars frame; see the module docstring.

    Raises
    ------
    ValueError
        At construction, for a malformed frame or a NaN price (naming the
        symbol and bar).
    """

    def __init__(
        self,
        bars: pd.DataFrame,
        strategy: Strategy,
        venue: BarVenue,
        portfolio: Portfolio,
        *,
        commission: CommissionModel | None = None,
        units: Units = "whole",
        sizing: Sizing = "next_open",
        feed_every_bar: bool = False,
        guard: OrderGuard | None = None,
        check_look_ahead: bool = True,
    ) -> None:
        self._market = MarketData.of_frame(bars)
        self._venue, self._feed_every_bar = venue, feed_every_bar
        self.kernel = Kernel(
            strategy, portfolio, self._market, commission=commission, units=units,
            sizing=sizing, guard=guard, check_look_ahead=check_look_ahead,
        )  # fmt: skip
        symbols = self._market.symbols
        stamps = [self._market.column(s, "ts") for s in symbols]
        # The timeline: every symbol's stamps merged (a lone symbol's are already one).
        self._ts: npt.NDArray[np.int64] = (
            stamps[0] if len(stamps) == 1 else np.unique(np.concatenate([*stamps, []]))
        ).astype(np.int64, copy=False)
        # Per step, the symbols with a bar closing then (one shared tuple when all
        # symbols trade at every step, as a single symbol always does).
        self._at: list[tuple[str, ...]] = _symbols_at(self._ts, symbols, stamps)
        self._books = BookLog(portfolio.cash, portfolio.quantities)
        n = len(self._ts)
        self._record = RunRecord(
            pd.DatetimeIndex(self._ts, tz="UTC", name="ts"), np.empty(n), np.empty(n), np.zeros(n)
        )
        self._record.orders = self.kernel.orders
        self._step = 0

    def run(self) -> RunRecord:
        """Step through every timestamp once and return the record.

        The collector's young-generation threshold is raised for the run and
        restored after it (it is tuned, never switched off): every order leaves
        a few small objects that live to the end of the run (its states, the
        venue's ticket, its fill and trade), and at the default threshold the
        collector walks them again every 700 allocations, about 15 % of a long
        run (``benchmarks/bench_order_path.py``).
        """
        threshold = gc.get_threshold()
        gc.set_threshold(max(threshold[0], _GC_YOUNG_THRESHOLD), *threshold[1:])
        try:
            return self._run()
        finally:
            gc.set_threshold(*threshold)

    def _run(self) -> RunRecord:
        kernel, market, venue = self.kernel, self._market, self._venue
        seen, every_bar = market.seen, self._feed_every_bar
        # The kernel changes these in place, never rebinds them: read once, here.
        pending, working, on_bars = kernel.pending, kernel.working, kernel.on_bars
        for step, ts in enumerate(self._ts.tolist()):
            self._step = step
            symbols = self._at[step]
            if pending:
                opens = {s: market.value(s, "open", seen[s]) for s in symbols}
                self._carry_out(ts, kernel.on_open(ts, opens))
            if working or every_bar:
                for symbol in symbols:
                    self._report(ts, venue.on_bar(market.bar(symbol, seen[symbol], ts)))
            commands = on_bars(ts, symbols)
            if commands:
                self._carry_out(ts, commands)
        self._mark_in_bulk()
        return self._record

    def _carry_out(self, ts: int, commands: Sequence[Command]) -> None:
        """Hand each command to the venue, in order; an order is sent as of its decision.

        A target sized at this bar's open was decided at the previous close,
        so the venue may fill it on this bar, as backtesting.py's ``buy()``
        fills at the next open.
        """
        for command in commands:
            if isinstance(command, Submit):
                sent = command.request.ts_init
                self._report(sent, self._venue.submit(command.request, sent))
            elif isinstance(command, Cancel):
                self._report(ts, self._venue.cancel(command.client_order_id))

    def _report(self, ts: int, updates: list[OrderUpdate]) -> None:
        """Feed the venue's reports to the kernel; note what each fill did to the books."""
        kernel, record = self.kernel, self._record
        for update in updates:
            kernel.on_order_update(update)
            record.updates.append((ts, update))
            event = update.event
            if type(event) is Filled:
                fill = event.fill
                record.fills.append(fill)
                record.traded_notional[self._step] += fill.quantity * fill.price
                portfolio = kernel.portfolio
                symbol = fill.symbol
                self._books.note(self._step, portfolio.cash, symbol, portfolio.quantity(symbol))

    def _mark_in_bulk(self) -> None:
        """Fill the per-bar equity and position value from the book noted after each fill."""
        if len(self._ts):
            record = self._record
            self._books.mark(
                len(self._ts), self._close_on_timeline, record.equity, record.position_value
            )

    def _close_on_timeline(self, symbol: str) -> FloatArray:
        ts, close = self._market.column(symbol, "ts"), self._market.column(symbol, "close")
        rows = np.searchsorted(ts, self._ts, side="right") - 1
        marks: FloatArray = close[np.maximum(rows, 0)].copy()
        marks[rows < 0] = np.nan
        return marks


def _symbols_at(
    timeline: npt.NDArray[np.int64],
    symbols: Sequence[str],
    stamps: Sequence[npt.NDArray[np.int64]],
) -> list[tuple[str, ...]]:
    everyone = tuple(symbols)
    if all(len(s) == len(timeline) for s in stamps):  # every symbol at every step
        return [everyone] * len(timeline)
    at: list[list[str]] = [[] for _ in range(len(timeline))]
    for symbol, symbol_ts in zip(symbols, stamps, strict=True):
        for step in np.searchsorted(timeline, symbol_ts).tolist():
            at[step].append(symbol)
    return [tuple(s) for s in at]
