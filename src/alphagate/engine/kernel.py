"""The kernel: one strategy's decisions, risk checks and books, fed one event at a time.

The kernel knows nothing of time or I/O. It is given events and answers
each with :mod:`commands <alphagate.domain.commands>`; a driver carries the
commands out and feeds the venue's reports back as further events:

``on_open(ts, opens)``
    Bars of some symbols opened at these prices. Target weights the strategy
    set at the previous close (``sizing="next_open"``) are sized now, at the
    open, as a broker's notional order would be, and submitted.
``on_order_update(update)``
    A venue acknowledged, rejected, filled, canceled or expired an order.
    Fills go to the portfolio; the order's state moves by the transition
    table (an illegal move raises).
``on_bars(ts, symbols)``
    These symbols' bars closed at ``ts`` (already stored in the kernel's
    :class:`~alphagate.engine.market.MarketData`). The risk guard sees the
    account marked at the closes and may cancel everything or flatten; then
    the strategy decides, seeing history up to this close and no further; its
    answer becomes orders with deterministic client ids, reviewed by the
    guard.
``on_timer(ts, name)``
    A timer the driver runs fired. ``"guard"`` asks the guard to look at the
    account now, between bars (a live run's kill-switch file, say).

The backtest driver and the live driver feed the same events in the same
order for the same bars, so their orders, fills and books are the same.

**Sizing target weights.** ``sizing="close"`` converts a weight into a
quantity at decision time, with the current close as the price estimate.
``sizing="next_open"`` keeps the weight until the symbol's next bar opens and
sizes it at that open: this never overspends the cash (backtesting.py's
``buy()`` does the same), so it is the default. Both leave room for the
commission of the trade and, with ``units="whole"``, round toward zero.

**What a bar costs.** The strategy is called on every bar, so the context
hands out history views, timestamps and equity only when asked; declared
indicators are computed once over the stored bars (again only when a live
run appends more) and checked for look-ahead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final, Literal, cast

import pandas as pd

from alphagate.domain.commands import Cancel, Command, Submit
from alphagate.domain.guard import AccountView, GuardAction, OrderGuard
from alphagate.domain.ids import client_order_id
from alphagate.domain.order_state import (
    TERMINAL_STATUSES,
    Filled,
    OrderState,
    OrderUpdate,
)
from alphagate.domain.orders import Liquidity, OrderRequest, Side
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
from alphagate.engine.declared_indicators import declared_indicators
from alphagate.engine.market import MarketData
from alphagate.execution.commission import CommissionModel, NoCommission
from alphagate.execution.portfolio import Portfolio

Units = Literal["whole", "fractional"]
Sizing = Literal["close", "next_open"]
NO_COMMANDS: Final[tuple[Command, ...]] = ()
ZERO_ORDER: Final = 1e-12
"""An order smaller than this, relative to ``max(1, |position|)``, is never sent."""
# What a target weight becomes: a plain market DAY entry.
_TARGET_ORDER: Final = OrderIntent(symbol="", quantity=0.0)


class Kernel:
    """One strategy's engine, fed events, answering with commands; see the module docstring.

    Parameters
    ----------
    market
        Where the bars live; the kernel reads only those it was told closed.
    guard
        Risk controls consulted after every bar and before every order.
    check_look_ahead
        Recompute declared indicators on cut histories and refuse ones that
        change (on by default).
    """

    def __init__(
        self,
        strategy: Strategy,
        portfolio: Portfolio,
        market: MarketData,
        *,
        commission: CommissionModel | None = None,
        units: Units = "whole",
        sizing: Sizing = "next_open",
        guard: OrderGuard | None = None,
        check_look_ahead: bool = True,
    ) -> None:
        if units not in ("whole", "fractional") or sizing not in ("close", "next_open"):
            raise ValueError(f"unknown units {units!r} or sizing {sizing!r}")
        self.strategy, self.portfolio, self.market = strategy, portfolio, market
        self._commission = commission if commission is not None else NoCommission()
        self._whole, self._size_at_open = units == "whole", sizing == "next_open"
        self._guard, self._check_look_ahead = guard, check_look_ahead
        self._known = frozenset(market.symbols)
        self.orders: dict[str, OrderState] = {}
        """Every order this kernel sent, by client id, in its latest known state."""
        self.working: set[str] = set()
        """Client ids of the orders not yet in a terminal state."""
        self.pending: dict[str, tuple[float, int]] = {}
        """Target weights waiting for their symbol's next open: symbol -> (weight, decided at)."""
        self._ts = 0
        self._last_stamp = pd.Timestamp(0, tz="UTC")
        self._bars_closed = 0  # on_bars events so far: the strategy's warm-up counts these
        self._first_decision = max(strategy.warmup, 1) - 1
        self._indicators: dict[str, dict[str, FloatArray]] = {}
        # The same arrays as memoryviews, for ``value``: indexed, one gives a Python
        # float directly, and a strategy reads one at every bar.
        self._indicator_cells: dict[str, dict[str, Sequence[float]]] = {}
        self._indicator_versions: dict[str, int] = {}
        self._appends_seen = -1  # the market's append count the indicators were computed at
        self._positions_view: Mapping[str, float] | None = None
        self._histories: dict[str, tuple[int, SymbolHistory]] = {}
        self._context = _KernelContext(self)
        self._refresh_indicators(market.symbols)

    # -- events ----------------------------------------------------------------------------

    def on_open(self, ts: int, opens: Mapping[str, float]) -> list[Command]:
        """Size the pending targets of the symbols opening now, at their opens."""
        pending = self.pending
        due = {s: price for s, price in opens.items() if s in pending}
        if not due:
            return []
        # Equity needs a price for the open positions only: the open where a
        # symbol has one now, else its last close.
        seen, close = self.market.seen, self.market.value
        marks = {
            s: due[s] if s in due else close(s, "close", seen[s] - 1)
            for s in self.portfolio.quantities
            if s in due or seen.get(s, 0)
        }
        equity = self.portfolio.equity(marks)
        commands: list[Command] = []
        for symbol, price in due.items():
            weight, decided = pending.pop(symbol)
            delta = self._delta(symbol, weight, price, equity)
            self._submit(commands, decided, symbol, delta, _TARGET_ORDER, price=price)
        return commands

    def on_order_update(self, update: OrderUpdate) -> None:
        """Fold one venue report into the order's state and, for a fill, the portfolio."""
        cid, event = update.client_order_id, update.event
        state = self.orders[cid] = self.orders[cid].apply(event)
        if type(event) is Filled:
            self.portfolio.apply_fill(event.fill)
            self._positions_view = None
        if state.status in TERMINAL_STATUSES:
            self.working.discard(cid)
        else:
            self.working.add(cid)

    def on_bars(self, ts: int, symbols: Sequence[str]) -> Sequence[Command]:
        """These symbols' bars, already stored, closed at ``ts``: guard, then strategy."""
        self._ts = ts
        market = self.market
        seen = market.seen
        for symbol in symbols:
            seen[symbol] += 1
        if market.appends != self._appends_seen:  # a live run stored new bars
            self._refresh_indicators(
                [s for s, v in market.version.items() if v != self._indicator_versions[s]]
            )
        self._bars_closed += 1
        commands: list[Command] | None = None
        if self._guard is not None:
            commands = self._consult_guard(self._guard, ts)
        if self._bars_closed <= self._first_decision:
            return commands or NO_COMMANDS
        context = self._context
        context._updated = symbols if isinstance(symbols, tuple) else tuple(symbols)
        try:
            output = self.strategy.on_bar(context)
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            raise StrategyError(self.strategy.name, self._stamp(ts), detail) from exc
        if output is None:
            return commands or NO_COMMANDS
        if commands is None:
            commands = []
        self._act(commands, ts, output)
        return commands

    def on_timer(self, ts: int, name: str) -> list[Command]:
        """A driver's timer fired; ``"guard"`` consults the guard between bars."""
        if name != "guard":
            raise ValueError(f"unknown timer {name!r}; the kernel knows 'guard'")
        if self._guard is None:
            return []
        return self._consult_guard(self._guard, ts)

    # -- what the strategy and the guard see -----------------------------------------------

    def positions_view(self) -> Mapping[str, float]:
        """Signed quantities of the non-flat symbols, rebuilt only after a fill."""
        view = self._positions_view
        if view is None:
            view = self._positions_view = MappingProxyType(dict(self.portfolio.quantities))
        return view

    def latest_closes(self) -> dict[str, float]:
        """The last close of every symbol with a bar so far."""
        close = self.market.value
        return {s: close(s, "close", n - 1) for s, n in self.market.seen.items() if n}

    def history_views(self) -> Mapping[str, SymbolHistory]:
        """Per symbol with bars, read-only views of its bars so far (rebuilt after a new bar)."""
        cache, views = self._histories, {}
        for symbol, n in self.market.seen.items():
            if not n:
                continue
            cached = cache.get(symbol)
            if cached is None or cached[0] != n:
                cached = cache[symbol] = (n, self.market.history(symbol))
            views[symbol] = cached[1]
        return MappingProxyType(views)

    def indicators(self, symbol: str) -> Mapping[str, FloatArray]:
        """The strategy's declared indicators of ``symbol`` over its stored bars."""
        return self._indicators.get(symbol, {})

    def account(self, ts: int) -> AccountView:
        """The account marked at the latest closes, as the guard sees it."""
        prices = self.latest_closes()
        return AccountView(
            ts=self._stamp(ts),
            equity=self.portfolio.equity(prices),
            cash=self.portfolio.cash,
            positions=self.positions_view(),
            prices=MappingProxyType(prices),
        )

    # -- inside ----------------------------------------------------------------------------

    def _stamp(self, ts: int) -> pd.Timestamp:
        """``ts`` as a UTC Timestamp, for the guard's account and the strategy's context.

        The last one is kept: a guarded order asks for its bar's account more than once.
        """
        if self._last_stamp.value != ts:
            self._last_stamp = pd.Timestamp(ts, tz="UTC")
        return self._last_stamp

    def _refresh_indicators(self, symbols: Sequence[str]) -> None:
        """(Re)compute declared indicators over the stored bars of ``symbols``."""
        market = self.market
        stored = {s: market.stored_history(s) for s in symbols if market.stored(s)}
        computed = declared_indicators(
            self.strategy, stored, check_look_ahead=self._check_look_ahead
        )
        for symbol in symbols:
            if symbol in computed:
                self._indicators[symbol] = computed[symbol]
                self._indicator_cells[symbol] = {
                    name: _cells(values) for name, values in computed[symbol].items()
                }
            self._indicator_versions[symbol] = market.version[symbol]
        self._appends_seen = market.appends
        self._context._forget_indicator()

    def _consult_guard(self, guard: OrderGuard, ts: int) -> list[Command]:
        account = self.account(ts)
        action = guard.after_bar(account)
        commands: list[Command] = []
        if action is GuardAction.NONE:
            return commands
        reason = f"guard: {action.value}"
        commands.extend(Cancel(cid, reason) for cid in sorted(self.working))
        self.pending.clear()
        if action is GuardAction.FLATTEN:
            for symbol, quantity in account.positions.items():
                intent = OrderIntent(symbol, -quantity, leg="flatten", reduce_only=True)
                self._submit(commands, ts, symbol, -quantity, intent)
        return commands

    def _act(self, commands: list[Command], ts: int, output: object) -> None:
        try:
            if isinstance(output, Mapping):
                self._targets(commands, ts, output)
            elif isinstance(output, list | tuple):
                self._intents(commands, ts, list(output))
            else:
                raise ValueError(
                    f"on_bar must return target weights, order intents or None, got {output!r}"
                )
        except ValueError as exc:
            raise StrategyError(self.strategy.name, self._stamp(ts), str(exc)) from exc

    def _targets(self, commands: list[Command], ts: int, weights: Mapping[str, float]) -> None:
        check_weights(weights, self._known)
        if self._size_at_open:
            self.pending.update((s, (float(w), ts)) for s, w in weights.items())
            return
        marks = self.latest_closes()
        equity = self.portfolio.equity(marks)
        for symbol, weight in weights.items():
            if symbol not in marks:
                raise ValueError(f"target weight for {symbol!r} before its first bar")
            delta = self._delta(symbol, float(weight), marks[symbol], equity)
            self._submit(commands, ts, symbol, delta, _TARGET_ORDER)

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
        return target - self.portfolio.quantity(symbol)

    def _intents(self, commands: list[Command], ts: int, intents: list[OrderIntent]) -> None:
        keys = [(i.symbol, i.leg) for i in intents]
        if len(set(keys)) != len(keys):
            raise ValueError(f"two orders share a (symbol, leg) at one bar: {keys}")
        for intent in intents:
            if not isinstance(intent, OrderIntent):
                raise ValueError(f"expected OrderIntent, got {intent!r}")
            if intent.symbol not in self._known:
                raise ValueError(f"order for unknown symbol {intent.symbol!r}")
            if intent.parent_leg is not None and (intent.symbol, intent.parent_leg) not in keys:
                raise ValueError(
                    f"order {intent.leg!r} of {intent.symbol!r} protects leg "
                    f"{intent.parent_leg!r}, which is not among this bar's orders"
                )
            self._submit(commands, ts, intent.symbol, intent.quantity, intent)

    def _submit(
        self,
        commands: list[Command],
        decided: int,
        symbol: str,
        quantity: float,
        intent: OrderIntent,
        *,
        price: float | None = None,
    ) -> None:
        """Turn one wanted quantity into a reviewed order, marked sent, and a ``Submit``."""
        held = abs(self.portfolio.quantity(symbol))
        if not math.isfinite(quantity):
            raise ValueError(f"order quantity for {symbol!r} must be finite, got {quantity}")
        if abs(quantity) <= ZERO_ORDER * max(1.0, held):  # nothing to do; never send a zero order
            return
        name = self.strategy.name
        parent = group = None
        if intent.parent_leg is not None:
            parent = client_order_id(name, symbol, decided, intent.parent_leg)
        if intent.oco_group is not None:
            group = client_order_id(name, symbol, decided, f"oco:{intent.oco_group}")
        request = OrderRequest(
            client_order_id=client_order_id(name, symbol, decided, intent.leg),
            symbol=symbol,
            side=Side.BUY if quantity > 0 else Side.SELL,
            quantity=abs(quantity),
            ts_init=decided,
            order_type=intent.order_type,
            time_in_force=intent.time_in_force,
            limit_price=intent.limit_price,
            stop_price=intent.stop_price,
            parent_id=parent,
            oco_group_id=group,
            reduce_only=intent.reduce_only,
        )
        if self._guard is not None:
            reviewed = self._review(self._guard, request, price)
            if reviewed is None:
                return
            request = reviewed
        # Marked sent as it leaves the kernel: a live driver journals the command
        # before it hands the order over, and the venue's reports follow.
        cid = request.client_order_id
        self.orders[cid] = OrderState.sent(request)
        self.working.add(cid)
        commands.append(Submit(request))

    def _review(
        self, guard: OrderGuard, request: OrderRequest, price: float | None
    ) -> OrderRequest | None:
        account = self.account(self._ts)
        estimate = price if price is not None else account.prices.get(request.symbol)
        if estimate is None:
            estimate = self.market.value(request.symbol, "open", 0)
        answer = guard.review(request, account, estimate)
        if isinstance(answer, str):
            return None
        if answer.client_order_id != request.client_order_id or answer.symbol != request.symbol:
            raise ValueError("a guard may shrink an order, not rename it or change its symbol")
        return answer


def _cells(values: FloatArray) -> Sequence[float]:
    """A float64 array's values as a memoryview: indexed, it gives Python floats directly."""
    return cast("Sequence[float]", values.data)


class _KernelContext(StrategyContext):
    """The kernel's context: reads the kernel's state when asked, so unused parts cost nothing."""

    def __init__(self, kernel: Kernel) -> None:
        super().__init__(pd.Timestamp(0, tz="UTC"), {}, {}, 0.0, 0.0, updated=())
        self._kernel = kernel
        self._seen = kernel.market.seen
        # The indicator ``value`` read last: a strategy asks for the same one every bar.
        self._last: tuple[str, str, Sequence[float]] | None = None

    def _forget_indicator(self) -> None:
        self._last = None

    @property
    def ts(self) -> pd.Timestamp:
        return self._kernel._stamp(self._kernel._ts)

    @property
    def history(self) -> Mapping[str, SymbolHistory]:
        return self._kernel.history_views()

    @property
    def positions(self) -> Mapping[str, float]:
        return self._kernel.positions_view()

    @property
    def cash(self) -> float:
        return self._kernel.portfolio.cash

    @property
    def equity(self) -> float:
        return self._kernel.portfolio.equity(self._kernel.latest_closes())

    def position(self, symbol: str) -> float:
        return self._kernel.positions_view().get(symbol, 0.0)

    def bars_seen(self, symbol: str) -> int:
        return self._seen.get(symbol, 0)

    def indicator(self, symbol: str, name: str) -> FloatArray:
        values = indicator_of(self._kernel._indicators, symbol, name)
        return values[: self._seen.get(symbol, 0)]

    def value(self, symbol: str, name: str, ago: int = 0) -> float:
        last = self._last
        if last is not None and last[0] is symbol and last[1] is name:
            values = last[2]
        else:
            try:
                values = self._kernel._indicator_cells[symbol][name]
            except KeyError:
                indicator_of(self._kernel._indicators, symbol, name)  # raises, naming what exists
                raise
            self._last = (symbol, name, values)
        row = self._seen.get(symbol, 0) - 1 - ago
        if ago < 0 or row < 0:
            raise IndexError(f"indicator {name!r} of {symbol!r} has no value {ago} bars ago")
        return values[row]
