"""The event loop: bars in, a strategy's decisions out, through a venue and a portfolio.

For each timestamp, in order, and for the same inputs always the same way:

1. the venue sees each symbol's bar at that timestamp; its fills go to the
   portfolio and every order update is recorded;
2. equity is marked at the bar closes;
3. the strategy is asked (once ``warmup`` bars have closed), seeing only
   history up to this close (:class:`~alphagate.engine.strategy.StrategyContext`);
4. its answer becomes :class:`~alphagate.domain.orders.OrderRequest` objects
   with deterministic client ids, submitted now, so they fill on a later bar.

**Sizing target weights.** ``sizing="close"`` converts a weight into a
quantity at decision time, with the current close as the price estimate; the
fill at the next open may then cost a little more or less than planned.
``sizing="next_open"`` keeps the weight until the symbol's next bar and sizes
it at that bar's open, just before the venue fills it there: this is how a
broker's notional order (and backtesting.py's ``buy()``) behaves, and it never
overspends the cash, so it is the default. Both leave room for the commission of the trade
(``price + fee(1 unit)`` per unit) and, with ``units="whole"``, round the
target toward zero.

The per-bar cost is kept small: the venue is skipped while no order is working
(unless its fill model keeps a bar history), and the strategy receives array
views, not copies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

from alphagate.domain.bar import Bar
from alphagate.domain.bars import PRICE_COLUMNS, check_bars_frame, symbols_of
from alphagate.domain.ids import client_order_id
from alphagate.domain.order_state import Filled, OrderState
from alphagate.domain.orders import Fill, Liquidity, OrderRequest, Side
from alphagate.engine.strategy import (
    FloatArray,
    OrderIntent,
    Strategy,
    StrategyContext,
    StrategyError,
    SymbolHistory,
    check_weights,
)
from alphagate.execution.commission import CommissionModel, NoCommission
from alphagate.execution.portfolio import Portfolio
from alphagate.execution.venue import OrderUpdate, SimulatedVenue

Units = Literal["whole", "fractional"]
Sizing = Literal["close", "next_open"]
_COLUMNS = (*PRICE_COLUMNS, "volume")
_TS_CHUNK = 4096


@dataclass(slots=True)
class LoopRecord:
    """What a run leaves behind: per-bar series, every fill and every order's final state."""

    ts: pd.DatetimeIndex
    equity: FloatArray
    position_value: FloatArray
    traded_notional: FloatArray
    fills: list[Fill] = field(default_factory=list)
    orders: dict[str, OrderState] = field(default_factory=dict)
    updates: list[tuple[pd.Timestamp, OrderUpdate]] = field(default_factory=list)


def _read_only(values: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(values)
    array.flags.writeable = False  # views handed to strategies inherit this
    return array


class EventLoop:
    """Runs one strategy over a canonical bars frame; see the module docstring.

    Parameters
    ----------
    feed_every_bar
        Show the venue every bar, not only those with orders working; needed
        when its fill model keeps a bar history (volatility, volume).

    Raises
    ------
    ValueError
        At construction, when a price is NaN (naming the symbol and bar), since
        a NaN would silently poison equity, indicators and fills alike.
    """

    def __init__(
        self,
        bars: pd.DataFrame,
        strategy: Strategy,
        venue: SimulatedVenue,
        portfolio: Portfolio,
        *,
        commission: CommissionModel | None = None,
        units: Units = "whole",
        sizing: Sizing = "next_open",
        feed_every_bar: bool = False,
    ) -> None:
        check_bars_frame(bars)
        if units not in ("whole", "fractional") or sizing not in ("close", "next_open"):
            raise ValueError(f"unknown units {units!r} or sizing {sizing!r}")
        self._strategy, self._venue, self._portfolio = strategy, venue, portfolio
        self._commission = commission if commission is not None else NoCommission()
        self._whole, self._size_at_open = units == "whole", sizing == "next_open"
        self._feed_every_bar = feed_every_bar
        self._symbols = symbols_of(bars)
        self._data: dict[str, dict[str, np.ndarray]] = {}
        stamps = []
        for symbol in self._symbols:
            frame = bars.xs(symbol, level="symbol")
            ts = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
            for column in PRICE_COLUMNS:
                bad = np.flatnonzero(np.isnan(frame[column].to_numpy()))
                if bad.size:
                    raise ValueError(f"NaN {column} for {symbol!r} at {frame.index[bad[0]]}")
            arrays = {c: _read_only(frame[c].to_numpy(np.float64)) for c in _COLUMNS}
            self._data[symbol] = {"ts": _read_only(ts), **arrays}
            stamps.append(ts)
        self._ts = np.unique(np.concatenate(stamps)) if stamps else np.array([], np.int64)
        # For each step, the (symbol, row) pairs of the bars closing at that step.
        self._at: list[list[tuple[str, int]]]
        if len(self._symbols) == 1 and np.array_equal(self._ts, stamps[0]):
            only = self._symbols[0]  # one symbol, so its row is the step
            self._at = [[(only, row)] for row in range(len(self._ts))]
        else:
            self._at = [[] for _ in range(len(self._ts))]
            for symbol in self._symbols:
                steps = np.searchsorted(self._ts, self._data[symbol]["ts"])
                for row, step in enumerate(steps.tolist()):
                    self._at[step].append((symbol, row))
        self._seen: dict[str, int] = {}  # symbol -> bars of it closed so far
        self._close: dict[str, float] = {}  # symbol -> latest close
        self._working: set[str] = set()
        self._pending: dict[str, tuple[float, pd.Timestamp]] = {}  # next_open targets
        self._histories: dict[str, tuple[int, SymbolHistory]] = {}  # symbol -> (bars, views)
        self._columns = {
            s: (d["ts"], d["open"], d["high"], d["low"], d["close"], d["volume"])
            for s, d in self._data.items()
        }
        # The strategy's view of the positions, rebuilt only after a fill changes them.
        self._positions_view: Mapping[str, float] | None = None
        n = len(self._ts)
        self._record = LoopRecord(
            pd.DatetimeIndex(self._ts, tz="UTC"), np.empty(n), np.empty(n), np.zeros(n)
        )

    def run(self) -> LoopRecord:
        """Step through every timestamp once and return the record."""
        keep_history = self._feed_every_bar
        warmup = max(self._strategy.warmup, 0)
        record = self._record
        equity_out, exposure_out = record.equity, record.position_value
        at, seen, marks = self._at, self._seen, self._close
        closes = {symbol: d["close"] for symbol, d in self._data.items()}
        portfolio, venue = self._portfolio, self._venue
        stamps = record.ts
        # Timestamps boxed a chunk at a time: far cheaper than one Timestamp(ns)
        # per bar, and a bounded number of them alive at once.
        for start in range(0, len(stamps), _TS_CHUNK):
            for step, ts in enumerate(stamps[start : start + _TS_CHUNK], start):
                rows = at[step]
                if self._pending:
                    self._size_pending(rows)
                if self._working or keep_history:
                    for symbol, row in rows:
                        self._on_updates(ts, step, venue.on_bar(self._bar(symbol, row, ts)))
                for symbol, row in rows:
                    seen[symbol] = row + 1
                    marks[symbol] = closes[symbol].item(row)
                equity_out[step] = portfolio.equity(marks)
                exposure_out[step] = portfolio.net_exposure(marks)
                if step + 1 >= warmup:
                    self._decide(ts, equity_out[step])
        return record

    def _bar(self, symbol: str, row: int, ts: pd.Timestamp) -> Bar:
        d = self._data[symbol]
        return Bar(
            symbol, ts, float(d["open"][row]), float(d["high"][row]), float(d["low"][row]),
            float(d["close"][row]), float(d["volume"][row]),
        )  # fmt: skip

    def _on_updates(self, ts: pd.Timestamp, step: int, updates: list[OrderUpdate]) -> None:
        for update in updates:
            cid = update.client_order_id
            state = self._record.orders[cid].apply(update.event)
            self._record.orders[cid] = state
            self._record.updates.append((ts, update))
            if isinstance(update.event, Filled):
                fill = update.event.fill
                self._portfolio.apply_fill(fill)
                self._positions_view = None
                self._record.fills.append(fill)
                self._record.traded_notional[step] += fill.notional
            if state.is_terminal:
                self._working.discard(cid)
            else:
                self._working.add(cid)

    def _decide(self, ts: pd.Timestamp, equity: float) -> None:
        strategy = self._strategy
        positions = self._positions_view
        if positions is None:
            positions = self._positions_view = MappingProxyType(
                {s: p.quantity for s, p in self._portfolio.positions.items() if not p.is_flat}
            )
        # Views are rebuilt only for symbols with a new bar since the last call.
        cache, views = self._histories, {}
        for symbol, n in self._seen.items():
            cached = cache.get(symbol)
            if cached is None or cached[0] != n:
                cached = cache[symbol] = (n, self._history(symbol, n))
            views[symbol] = cached[1]
        context = StrategyContext(
            ts=ts,
            history=MappingProxyType(views),
            positions=positions,
            cash=self._portfolio.cash,
            equity=equity,
        )
        try:
            output = strategy.on_bar(context)
        except Exception as exc:
            raise StrategyError(strategy.name, ts, f"{type(exc).__name__}: {exc}") from exc
        if output is None:
            return
        try:
            if isinstance(output, Mapping):
                self._targets(ts, output, equity)
            else:
                self._intents(ts, list(output))
        except ValueError as exc:
            raise StrategyError(strategy.name, ts, str(exc)) from exc

    def _history(self, symbol: str, n: int) -> SymbolHistory:
        ts, open_, high, low, close, volume = self._columns[symbol]
        return SymbolHistory(ts[:n], open_[:n], high[:n], low[:n], close[:n], volume[:n])

    def _targets(self, ts: pd.Timestamp, weights: Mapping[str, float], equity: float) -> None:
        check_weights(weights, frozenset(self._symbols))
        if self._size_at_open:
            self._pending.update((s, (float(w), ts)) for s, w in weights.items())
            return
        for symbol, weight in weights.items():
            if symbol not in self._close:
                raise ValueError(f"target weight for {symbol!r} before its first bar")
            delta = self._delta(symbol, float(weight), self._close[symbol], equity)
            self._submit(ts, symbol, delta, OrderIntent(symbol, delta))

    def _size_pending(self, rows: list[tuple[str, int]]) -> None:
        """Size the kept targets of the symbols with a bar now, at that bar's open."""
        opens = {s: float(self._data[s]["open"][r]) for s, r in rows if s in self._pending}
        if not opens:
            return
        marks = {**self._close, **opens}
        equity = self._portfolio.equity(marks)
        for symbol, price in opens.items():
            weight, decided = self._pending.pop(symbol)
            delta = self._delta(symbol, weight, price, equity)
            self._submit(decided, symbol, delta, OrderIntent(symbol, delta))

    def _delta(self, symbol: str, weight: float, price: float, equity: float) -> float:
        """Quantity to trade so the position is ``weight`` of ``equity`` at ``price``."""
        unit_cost = price + self._commission.fee(1.0, price, Liquidity.TAKER)
        budget = weight * equity
        # ``//`` rather than floor(a / b): the division may round up to an integer
        # the budget cannot buy, and it is how backtesting.py sizes too.
        if self._whole:
            target = math.copysign(abs(budget) // unit_cost, budget)
        else:
            target = budget / unit_cost
        return target - self._portfolio.position(symbol).quantity

    def _intents(self, ts: pd.Timestamp, intents: list[OrderIntent]) -> None:
        keys = [(i.symbol, i.leg) for i in intents]
        if len(set(keys)) != len(keys):
            raise ValueError(f"two orders share a (symbol, leg) at one bar: {keys}")
        for intent in intents:
            if intent.symbol not in self._data:
                raise ValueError(f"order for unknown symbol {intent.symbol!r}")
            self._submit(ts, intent.symbol, intent.quantity, intent)

    def _submit(self, ts: pd.Timestamp, symbol: str, quantity: float, intent: OrderIntent) -> None:
        held = abs(self._portfolio.position(symbol).quantity)
        if not math.isfinite(quantity):
            raise ValueError(f"order quantity for {symbol!r} must be finite, got {quantity}")
        if abs(quantity) <= 1e-12 * max(1.0, held):  # nothing to do; never send a zero order
            return
        request = OrderRequest(
            client_order_id=client_order_id(self._strategy.name, symbol, ts, intent.leg),
            symbol=symbol,
            side=Side.BUY if quantity > 0 else Side.SELL,
            quantity=abs(quantity),
            ts_created=ts,
            order_type=intent.order_type,
            time_in_force=intent.time_in_force,
            limit_price=intent.limit_price,
            stop_price=intent.stop_price,
        )
        self._record.orders[request.client_order_id] = OrderState.new(request)
        step = int(np.searchsorted(self._ts, ts.value))
        self._on_updates(ts, step, self._venue.submit(request, now=ts))
