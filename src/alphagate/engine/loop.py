"""The event loop: bars in, a strategy's decisions out, through a venue and a portfolio.

For each timestamp, in order, and for the same inputs always the same way:

1. target weights kept for ``sizing="next_open"`` are sized at the open of
   the symbols with a bar now, and submitted;
2. the venue sees each symbol's bar at that timestamp; its fills go to the
   portfolio and every order update is recorded;
3. a guard, when there is one, sees the account marked at the closes and may
   cancel every working order or flatten the book
   (:mod:`alphagate.domain.guard`);
4. the strategy is asked (once ``warmup`` bars have closed), seeing only
   history up to this close (:class:`~alphagate.domain.strategy.StrategyContext`);
5. its answer becomes :class:`~alphagate.domain.orders.OrderRequest` objects
   with deterministic client ids, reviewed by the guard and submitted now, so
   they fill on a later bar.

**Sizing target weights.** ``sizing="close"`` converts a weight into a
quantity at decision time, with the current close as the price estimate; the
fill at the next open may then cost a little more or less than planned.
``sizing="next_open"`` keeps the weight until the symbol's next bar and sizes
it at that bar's open, just before the venue fills it there: this is how a
broker's notional order (and backtesting.py's ``buy()``) behaves, and it never
overspends the cash, so it is the default. Both leave room for the commission of the trade
(``price + fee(1 unit)`` per unit) and, with ``units="whole"``, round the
target toward zero.

**What a bar costs.** A strategy is called on every bar, so everything else
is kept off that path: the venue is skipped while no order is working (unless
its fill model keeps a bar history); the context hands out history views,
timestamps and equity only when the strategy asks for them; declared
indicators are computed once, up front, and checked for look-ahead
(:class:`~alphagate.domain.strategy.DeclaresIndicators`); and, without a
guard, equity is not marked bar by bar but rebuilt after the run from the
cash and positions after each fill, with the same arithmetic
(:meth:`~alphagate.execution.portfolio.Portfolio.equity`: ``fsum`` of cash and
market values), so the curve is the one per-bar marking would give.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphagate.domain.bar import Bar
from alphagate.domain.bars import check_bars_frame, symbols_of
from alphagate.domain.guard import AccountView, GuardAction, OrderGuard
from alphagate.domain.ids import client_order_id
from alphagate.domain.order_state import (
    TERMINAL_STATUSES,
    Filled,
    OrderState,
    OrderUpdate,
    Submitted,
)
from alphagate.domain.orders import Fill, Liquidity, OrderRequest, Side
from alphagate.domain.strategy import (
    FloatArray,
    OrderIntent,
    Strategy,
    StrategyContext,
    StrategyError,
    SymbolHistory,
    check_weights,
    indicator_of,
)
from alphagate.engine.bar_arrays import COLUMNS, history_upto, symbol_arrays
from alphagate.engine.book_log import BookLog
from alphagate.engine.declared_indicators import declared_indicators
from alphagate.execution.commission import CommissionModel, NoCommission
from alphagate.execution.portfolio import Portfolio
from alphagate.execution.venue import BarVenue

Units = Literal["whole", "fractional"]
Sizing = Literal["close", "next_open"]
_GC_YOUNG_THRESHOLD: Final = 50_000
_SUBMITTED: Final = Submitted()  # carries nothing: one instance serves every order
# What a target weight becomes: a plain market DAY entry. ``_submit`` reads only
# this shape from it (symbol and quantity come apart), so one instance serves all.
_TARGET_ORDER: Final = OrderIntent(symbol="", quantity=0.0)
# Positions of the open and the close among a symbol's bar cells (bar_arrays.COLUMNS).
_OPEN: Final = COLUMNS.index("open")
_CLOSE: Final = COLUMNS.index("close")


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


class EventLoop:
    """Runs one strategy over a canonical bars frame; see the module docstring.

    Parameters
    ----------
    feed_every_bar
        Show the venue every bar, not only those with orders working; needed
        when its fill model keeps a bar history (volatility, volume).
    guard
        Risk controls consulted after every bar and before every order.
    check_look_ahead
        Recompute declared indicators on cut histories and refuse ones that
        change (on by default; the cost is a few extra indicator builds).

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
        check_bars_frame(bars)
        if units not in ("whole", "fractional") or sizing not in ("close", "next_open"):
            raise ValueError(f"unknown units {units!r} or sizing {sizing!r}")
        self._strategy, self._venue, self._portfolio = strategy, venue, portfolio
        self._commission = commission if commission is not None else NoCommission()
        self._whole, self._size_at_open = units == "whole", sizing == "next_open"
        self._feed_every_bar, self._guard = feed_every_bar, guard
        self._check_look_ahead = check_look_ahead
        self._symbols = symbols_of(bars)
        self._known = frozenset(self._symbols)
        self._data = symbol_arrays(bars, self._symbols)
        # Per symbol, its open, high, low, close and volume as memoryviews: a bar
        # shown to the venue and a price for sizing read single values from them.
        self._bar_cells: dict[str, tuple[Sequence[float], ...]] = {
            s: tuple(_cells(d[c]) for c in COLUMNS) for s, d in self._data.items()
        }
        stamps = [d["ts"] for d in self._data.values()]
        if len(stamps) == 1:
            self._ts = stamps[0]  # already strictly increasing: check_bars_frame saw to it
        else:
            self._ts = np.unique(np.concatenate(stamps)) if stamps else np.array([], np.int64)
        self._stamp_cache: dict[int, pd.Timestamp] = {}
        # One symbol on its own timeline: its row is the step, nothing to store.
        # Otherwise, for each step, the (symbol, row) pairs closing then.
        self._single: str | None = None
        self._at: list[list[tuple[str, int]]] = []
        self._updated_at: list[tuple[str, ...]] = []
        if len(self._symbols) == 1 and np.array_equal(self._ts, stamps[0]):
            self._single = self._symbols[0]
        else:
            self._at = [[] for _ in range(len(self._ts))]
            for symbol in self._symbols:
                steps = np.searchsorted(self._ts, self._data[symbol]["ts"])
                for row, step in enumerate(steps.tolist()):
                    self._at[step].append((symbol, row))
            self._updated_at = [tuple(s for s, _ in rows) for rows in self._at]
        self._seen: dict[str, int] = {}  # symbol -> bars of it closed so far (_seen_counts)
        # One symbol alone: its count, kept as a plain number at every step (a dict
        # store was a sixth of an idle bar), copied into ``_seen`` when that is read.
        self._single_seen = 0
        self._working: set[str] = set()
        self._pending: dict[str, tuple[float, int]] = {}  # next_open targets -> (weight, step)
        self._histories: dict[str, tuple[int, SymbolHistory]] = {}  # symbol -> (bars, views)
        self._indicators: dict[str, dict[str, FloatArray]] = {}
        # The same arrays as memoryviews, for ``value``: indexing one gives a Python
        # float without NumPy's method call, and the strategy reads one every bar.
        self._indicator_cells: dict[str, dict[str, Sequence[float]]] = {}
        # The strategy's view of the positions, rebuilt only after a fill changes them.
        self._positions_view: Mapping[str, float] | None = None
        # (step, cash, open quantities) after each step with fills: equity is rebuilt from them.
        self._books = BookLog(
            portfolio.cash,
            {s: p.quantity for s, p in portfolio.positions.items() if not p.is_flat},
        )
        n = len(self._ts)
        self._record = LoopRecord(
            pd.DatetimeIndex(self._ts, tz="UTC", name="ts"), np.empty(n), np.empty(n), np.zeros(n)
        )

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> LoopRecord:
        """Step through every timestamp once and return the record.

        The collector's young-generation threshold is raised for the run and
        restored after it: every order leaves a few acyclic objects behind
        (states, updates, fills), and at the default threshold the collector
        rescans them every 700 allocations, which measured as a fifth of a
        long run's time (``benchmarks/bench_backtest.py``).
        """
        threshold = gc.get_threshold()
        gc.set_threshold(max(threshold[0], _GC_YOUNG_THRESHOLD), *threshold[1:])
        try:
            return self._run()
        finally:
            gc.set_threshold(*threshold)

    def _run(self) -> LoopRecord:
        self._indicators = declared_indicators(
            self._strategy, self._data, check_look_ahead=self._check_look_ahead
        )
        self._indicator_cells = {
            symbol: {name: _cells(values) for name, values in arrays.items()}
            for symbol, arrays in self._indicators.items()
        }
        keep_history, guard = self._feed_every_bar, self._guard
        first_decision = max(self._strategy.warmup, 1) - 1
        context = _LoopContext(self)
        updated_at = self._updated_at  # empty for one symbol: the context's stays (symbol,)
        on_bar = self._strategy.on_bar
        single = self._single
        pending, working = self._pending, self._working
        for step in range(len(self._ts)):
            if single is None or pending or working or keep_history:
                self._close_bars(step)
            if single is not None:  # idle or not, its bar is now closed
                self._single_seen = step + 1
            if guard is not None:
                self._consult_guard(guard, step)
            if step < first_decision:
                continue
            context.step = step
            if updated_at:
                context._updated = updated_at[step]
            try:
                output = on_bar(context)
            except Exception as exc:
                ts = self._stamp(step)
                error = StrategyError(self._strategy.name, ts, f"{type(exc).__name__}: {exc}")
                raise error from exc
            if output is not None:
                self._act(step, output)
        if guard is None:
            self._mark_in_bulk()
        return self._record

    def _close_bars(self, step: int) -> None:
        """Size kept targets at this step's opens, show the venue its bars, count them as seen."""
        single = self._single
        rows = [(single, step)] if single is not None else self._at[step]
        if self._pending:
            self._size_pending(step, rows)
        if self._working or self._feed_every_bar:
            ts = self._stamp(step)
            for symbol, row in rows:
                self._on_updates(ts, step, self._venue.on_bar(self._bar(symbol, row, ts)))
        seen = self._seen
        for symbol, row in rows:
            seen[symbol] = row + 1

    def _stamp(self, step: int) -> pd.Timestamp:
        # Boxing a Timestamp costs a couple of microseconds and an order
        # needs its step's several times (id, request, venue), so the last few are kept.
        stamp = self._stamp_cache.get(step)
        if stamp is None:
            if len(self._stamp_cache) > 64:
                self._stamp_cache.clear()
            stamp = self._stamp_cache[step] = pd.Timestamp(self._ts.item(step), tz="UTC")
        return stamp

    def _bar(self, symbol: str, row: int, ts: pd.Timestamp) -> Bar:
        open_, high, low, close, volume = self._bar_cells[symbol]
        return Bar(symbol, ts, open_[row], high[row], low[row], close[row], volume[row])

    def _on_updates(self, ts: pd.Timestamp, step: int, updates: list[OrderUpdate]) -> None:
        record, orders, working = self._record, self._record.orders, self._working
        for update in updates:
            cid, event = update.client_order_id, update.event
            state = orders[cid] = orders[cid].apply(event)
            record.updates.append((ts, update))
            if type(event) is Filled:
                fill = event.fill
                self._portfolio.apply_fill(fill)
                self._positions_view = None
                record.fills.append(fill)
                record.traded_notional[step] += fill.quantity * fill.price
                portfolio = self._portfolio
                quantity = portfolio.position(fill.symbol).quantity
                self._books.note(step, portfolio.cash, fill.symbol, quantity)
            if state.status in TERMINAL_STATUSES:
                working.discard(cid)
            else:
                working.add(cid)

    # -- what the strategy and the guard see -----------------------------------------------

    def positions_view(self) -> Mapping[str, float]:
        """Signed quantities of the non-flat symbols, rebuilt only after a fill."""
        view = self._positions_view
        if view is None:
            view = self._positions_view = MappingProxyType(
                {s: p.quantity for s, p in self._portfolio.positions.items() if not p.is_flat}
            )
        return view

    def _seen_counts(self) -> dict[str, int]:
        """Bars closed so far, per symbol with any (a lone symbol's count copied in first)."""
        single = self._single
        if single is not None and self._single_seen:
            self._seen[single] = self._single_seen
        return self._seen

    def _count_seen(self, symbol: str) -> int:
        """Bars of ``symbol`` closed so far; 0 for one not seen (or not traded here)."""
        single = self._single
        if single is not None and symbol == single:
            return self._single_seen
        return self._seen.get(symbol, 0)

    def latest_closes(self) -> dict[str, float]:
        """The last close of every symbol with a bar so far."""
        return {s: self._bar_cells[s][_CLOSE][n - 1] for s, n in self._seen_counts().items()}

    def history_views(self) -> Mapping[str, SymbolHistory]:
        """Per symbol, read-only views of its bars so far (rebuilt only after a new bar)."""
        cache, views = self._histories, {}
        for symbol, n in self._seen_counts().items():
            cached = cache.get(symbol)
            if cached is None or cached[0] != n:
                cached = cache[symbol] = (n, history_upto(self._data[symbol], n))
            views[symbol] = cached[1]
        return MappingProxyType(views)

    def _account(self, step: int, marks: Mapping[str, float] | None = None) -> AccountView:
        prices = self.latest_closes() if marks is None else dict(marks)
        return AccountView(
            ts=self._stamp(step),
            equity=self._portfolio.equity(prices),
            cash=self._portfolio.cash,
            positions=self.positions_view(),
            prices=MappingProxyType(prices),
        )

    def _consult_guard(self, guard: OrderGuard, step: int) -> None:
        account = self._account(step)
        self._record.equity[step] = account.equity
        self._record.position_value[step] = self._portfolio.net_exposure(account.prices)
        action = guard.after_bar(account)
        if action is GuardAction.NONE:
            return
        ts = account.ts
        for cid in sorted(self._working):
            self._on_updates(ts, step, self._venue.cancel(cid))
        self._pending.clear()
        if action is GuardAction.FLATTEN:
            for symbol, quantity in account.positions.items():
                intent = OrderIntent(symbol, -quantity, leg="flatten", reduce_only=True)
                self._submit(step, symbol, -quantity, intent)

    # -- decisions into orders -------------------------------------------------------------

    def _act(self, step: int, output: object) -> None:
        try:
            if isinstance(output, Mapping):
                self._targets(step, output)
            elif isinstance(output, list | tuple):
                self._intents(step, list(output))
            else:
                raise ValueError(
                    f"on_bar must return target weights, order intents or None, got {output!r}"
                )
        except ValueError as exc:
            error = StrategyError(self._strategy.name, self._stamp(step), str(exc))
            raise error from exc

    def _targets(self, step: int, weights: Mapping[str, float]) -> None:
        check_weights(weights, self._known)
        if self._size_at_open:
            self._pending.update((s, (float(w), step)) for s, w in weights.items())
            return
        marks = self.latest_closes()
        equity = self._portfolio.equity(marks)
        for symbol, weight in weights.items():
            if symbol not in marks:
                raise ValueError(f"target weight for {symbol!r} before its first bar")
            delta = self._delta(symbol, float(weight), marks[symbol], equity)
            self._submit(step, symbol, delta, _TARGET_ORDER)

    def _size_pending(self, step: int, rows: list[tuple[str, int]]) -> None:
        """Size the kept targets of the symbols with a bar now, at that bar's open."""
        pending = self._pending
        cells = self._bar_cells
        opens = {s: cells[s][_OPEN][r] for s, r in rows if s in pending}
        if not opens:
            return
        # Equity needs a price for the open positions only: the open where a
        # symbol has one now, else its last close (not a map of every symbol's).
        seen = self._seen_counts()
        marks = {
            s: opens[s] if s in opens else cells[s][_CLOSE][seen[s] - 1]
            for s in self.positions_view()
            if s in opens or s in seen  # one held before its first bar: the portfolio says so
        }
        equity = self._portfolio.equity(marks)
        for symbol, price in opens.items():
            weight, decided = pending.pop(symbol)
            delta = self._delta(symbol, weight, price, equity)
            self._submit(decided, symbol, delta, _TARGET_ORDER, price=price)

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

    def _intents(self, step: int, intents: list[OrderIntent]) -> None:
        keys = [(i.symbol, i.leg) for i in intents]
        if len(set(keys)) != len(keys):
            raise ValueError(f"two orders share a (symbol, leg) at one bar: {keys}")
        for intent in intents:
            if not isinstance(intent, OrderIntent):
                raise ValueError(f"expected OrderIntent, got {intent!r}")
            if intent.symbol not in self._data:
                raise ValueError(f"order for unknown symbol {intent.symbol!r}")
            if intent.parent_leg is not None and (intent.symbol, intent.parent_leg) not in keys:
                raise ValueError(
                    f"order {intent.leg!r} of {intent.symbol!r} protects leg "
                    f"{intent.parent_leg!r}, which is not among this bar's orders"
                )
            self._submit(step, intent.symbol, intent.quantity, intent)

    def _submit(
        self,
        step: int,
        symbol: str,
        quantity: float,
        intent: OrderIntent,
        price: float | None = None,
    ) -> None:
        held = abs(self._portfolio.position(symbol).quantity)
        if not math.isfinite(quantity):
            raise ValueError(f"order quantity for {symbol!r} must be finite, got {quantity}")
        if abs(quantity) <= 1e-12 * max(1.0, held):  # nothing to do; never send a zero order
            return
        ts = self._stamp(step)
        name = self._strategy.name
        parent = None
        if intent.parent_leg is not None:
            parent = client_order_id(name, symbol, ts, intent.parent_leg)
        group = None
        if intent.oco_group is not None:
            group = client_order_id(name, symbol, ts, f"oco:{intent.oco_group}")
        request = OrderRequest(
            client_order_id=client_order_id(name, symbol, ts, intent.leg),
            symbol=symbol,
            side=Side.BUY if quantity > 0 else Side.SELL,
            quantity=abs(quantity),
            ts_created=ts,
            order_type=intent.order_type,
            time_in_force=intent.time_in_force,
            limit_price=intent.limit_price,
            stop_price=intent.stop_price,
            parent_id=parent,
            oco_group_id=group,
            reduce_only=intent.reduce_only,
        )
        if self._guard is not None:
            reviewed = self._review(self._guard, step, request, price)
            if reviewed is None:
                return
            request = reviewed
        # Marked sent before the venue sees it, as a live engine marks it once the
        # intent is journaled and the order handed over; the venue's reports follow.
        self._record.orders[request.client_order_id] = OrderState.new(request).apply(_SUBMITTED)
        self._on_updates(ts, step, self._venue.submit(request, ts))

    def _review(
        self, guard: OrderGuard, step: int, request: OrderRequest, price: float | None
    ) -> OrderRequest | None:
        account = self._account(step)
        estimate = price if price is not None else account.prices.get(request.symbol)
        if estimate is None:
            estimate = self._data[request.symbol]["open"].item(0)
        answer = guard.review(request, account, estimate)
        if isinstance(answer, str):
            return None
        if answer.client_order_id != request.client_order_id or answer.symbol != request.symbol:
            raise ValueError("a guard may shrink an order, not rename it or change its symbol")
        return answer

    # -- equity after the run --------------------------------------------------------------

    def _mark_in_bulk(self) -> None:
        """Fill the per-bar equity and position value from the book noted after each fill."""
        if len(self._ts):
            record = self._record
            self._books.mark(
                len(self._ts), self._close_on_timeline, record.equity, record.position_value
            )

    def _close_on_timeline(self, symbol: str) -> npt.NDArray[np.float64]:
        d = self._data[symbol]
        if self._single is not None:
            return d["close"]
        rows = np.searchsorted(d["ts"], self._ts, side="right") - 1
        close = d["close"][np.maximum(rows, 0)].copy()
        close[rows < 0] = np.nan
        return close


def _cells(values: FloatArray) -> Sequence[float]:
    """A float64 array's values as a memoryview: indexed, it gives Python floats directly."""
    return cast("Sequence[float]", values.data)


class _LoopContext(StrategyContext):
    """The engine's context: reads the loop's state when asked, so unused parts cost nothing."""

    def __init__(self, loop: EventLoop) -> None:
        # ``updated`` is the base class's plain attribute, set by the loop at each step
        # (once, for a single symbol): the strategy reads it every bar.
        updated = () if loop._single is None else (loop._single,)
        super().__init__(pd.Timestamp(0, tz="UTC"), {}, {}, 0.0, 0.0, updated=updated)
        self._loop = loop
        self.step = 0
        # The indicator ``value`` read last, by the identity of its names: a strategy
        # asks for the same one at every bar, and two dict lookups a bar add up.
        self._last_symbol: str | None = None
        self._last_name: str | None = None
        self._last_cells: Sequence[float] = ()

    @property
    def ts(self) -> pd.Timestamp:
        return self._loop._stamp(self.step)

    @property
    def history(self) -> Mapping[str, SymbolHistory]:
        return self._loop.history_views()

    @property
    def positions(self) -> Mapping[str, float]:
        return self._loop.positions_view()

    @property
    def cash(self) -> float:
        return self._loop._portfolio.cash

    @property
    def equity(self) -> float:
        return self._loop._portfolio.equity(self._loop.latest_closes())

    def position(self, symbol: str) -> float:
        return self._loop.positions_view().get(symbol, 0.0)

    def bars_seen(self, symbol: str) -> int:
        return self._loop._count_seen(symbol)

    def indicator(self, symbol: str, name: str) -> FloatArray:
        values = indicator_of(self._loop._indicators, symbol, name)
        return values[: self._loop._count_seen(symbol)]

    def value(self, symbol: str, name: str, ago: int = 0) -> float:
        loop = self._loop
        if symbol is self._last_symbol and name is self._last_name:
            values = self._last_cells
        else:
            try:
                values = loop._indicator_cells[symbol][name]
            except KeyError:
                indicator_of(loop._indicators, symbol, name)  # raises, naming what exists
                raise
            self._last_symbol, self._last_name, self._last_cells = symbol, name, values
        row = loop._count_seen(symbol) - 1 - ago
        if ago < 0 or row < 0:
            raise IndexError(f"indicator {name!r} of {symbol!r} has no value {ago} bars ago")
        return values[row]
