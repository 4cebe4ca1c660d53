"""Fill models: whether, where and how much one working order fills on one bar.

The simulated venue asks one question per working order per bar; a fill
model answers with a :class:`FillDecision` or ``None``. Timing (latency, time
in force, OCO, brackets) is the venue's job; a fill model only prices.

A bar is OHLCV, so the path inside it is unknown. Only the **open** is known
to come first; after that, anything between ``low`` and ``high`` may have
traded in any order. The rules below never assume more than that:

- **Limit**: fills at the open when the open is through the limit (the order
  was marketable when the bar began), otherwise at the limit when the bar's
  range reaches it. :class:`NextOpenFill` and :class:`CloseFill` count a touch
  (``low <= limit`` for a buy); :class:`ConservativeFill` needs the price to
  be *through* (``low < limit``), since a touch may have filled only the
  orders queued ahead of ours, and it never grants a better price than the
  limit, not even after a favourable gap.
- **Stop**: triggers when the range reaches the stop; fills at the open when
  the bar gapped through it, otherwise at the stop. A triggered stop whose
  fill a participation cap cut short is a market order from then on.
- **Stop-limit**: triggers like a stop and is then a limit whose "open" is the
  trigger price. When it triggered at the open, the whole bar lies after the
  trigger and its range may reach the limit; when it triggered inside the
  bar, the rest of the path is unknown, so it fills on that bar only if the
  trigger price itself satisfies the limit, else it rests as a plain limit.

Every decision records how its price came about, exactly:
``price == reference_price + side.sign * (slippage + impact)``. The reference
is the undisturbed price: the open (or close) for a market order, the stop
for a fill on a stop's trigger, the limit for a limit fill. So a gapped stop
shows its gap as slippage, and a limit filled at a better open shows negative
slippage (price improvement).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Protocol

from alphagate.domain.bar import Bar
from alphagate.domain.orders import Liquidity, OrderRequest, OrderType, Side
from alphagate.execution.market_history import MarketState

_BPS: Final = 1e-4
_AFTER_TRIGGER: Final = {OrderType.STOP: OrderType.MARKET, OrderType.STOP_LIMIT: OrderType.LIMIT}


@dataclass(frozen=True, slots=True)
class WorkingOrder:
    """What a fill model may know of one order at one bar.

    Attributes
    ----------
    quantity
        The most it may fill now: what remains, or less for a bracket child
        whose entry filled only in part.
    triggered
        A stop or stop-limit whose stop was reached on an earlier bar.
    """

    request: OrderRequest
    quantity: float
    triggered: bool = False


@dataclass(frozen=True, slots=True)
class FillDecision:
    """One fill a model grants: ``quantity`` at ``price``, and why that price.

    ``at_open`` says the fill happened at the bar's first price, so it is
    known to precede anything else in the bar (the venue uses it to order OCO
    siblings and to let a bracket's children act in their entry's bar).
    """

    price: float
    quantity: float
    reference_price: float
    slippage: float
    impact: float
    liquidity: Liquidity
    at_open: bool = False


class FillModel(Protocol):
    """Prices one working order against one bar."""

    @property
    def history_bars(self) -> int:
        """Bars of each symbol's past the model reads through :class:`MarketState` (0: none)."""
        ...

    def fill(self, order: WorkingOrder, bar: Bar, market: MarketState) -> FillDecision | None:
        """Return the fill ``order`` gets on ``bar``, or ``None`` when it does not fill."""
        ...


def stop_trigger_price(side: Side, stop: float, bar: Bar) -> float | None:
    """Return where a stop triggers on ``bar``: the open if gapped through, else the stop.

    ``None`` when the bar's range does not reach the stop. A buy stop triggers
    on a rise to the stop, a sell stop on a fall to it.
    """
    if side is Side.BUY:
        if bar.open >= stop:
            return bar.open
        return stop if bar.high >= stop else None
    if bar.open <= stop:
        return bar.open
    return stop if bar.low <= stop else None


def _limit_reach(
    side: Side, limit: float, start: float, bar: Bar, *, range_known: bool, strict: bool
) -> Liquidity | None:
    """How a limit is reached: at ``start`` (taker: marketable), in the range (maker), or not."""
    lo, hi = (start, limit) if side is Side.BUY else (limit, start)
    if lo < hi or (lo == hi and not strict):
        return Liquidity.TAKER
    if not range_known:
        return None
    lo, hi = (bar.low, limit) if side is Side.BUY else (limit, bar.high)
    return Liquidity.MAKER if lo < hi or (lo == hi and not strict) else None


def _touch(order: WorkingOrder, bar: Bar, *, at_close: bool, strict: bool) -> FillDecision | None:
    """Where ``order`` trades on ``bar`` before any cost: the shared touch rules' answer.

    The answer is already the cost-free fill of the whole quantity, which
    :class:`NextOpenFill` and :class:`CloseFill` grant as it is, so a fill
    builds one decision, not a touch and then a decision. A cost model reads
    its ``price`` as the base to charge on; a limit bounds that price exactly
    when the order has a ``limit_price`` (limits and stop-limits).
    """
    request = order.request
    kind, side = request.order_type, request.side
    if order.triggered:  # a triggered stop is a market order, a triggered stop-limit a limit
        kind = _AFTER_TRIGGER.get(kind, kind)
    quantity = order.quantity
    if kind is OrderType.MARKET:
        price = bar.close if at_close else bar.open
        return _costless(side, quantity, price, price, Liquidity.TAKER, at_open=not at_close)
    start, at_open = bar.open, True
    if kind is not OrderType.LIMIT:
        stop = request.stop_price
        assert stop is not None  # OrderRequest guarantees it for stop types
        trigger = stop_trigger_price(side, stop, bar)
        if trigger is None:
            return None
        start, at_open = trigger, trigger == bar.open  # equal only when gapped through
        if kind is OrderType.STOP:
            return _costless(side, quantity, trigger, stop, Liquidity.TAKER, at_open=at_open)
    limit = request.limit_price
    assert limit is not None  # OrderRequest guarantees it for limit types
    reach = _limit_reach(side, limit, start, bar, range_known=at_open, strict=strict)
    if reach is Liquidity.TAKER:
        reference = request.stop_price if kind is OrderType.STOP_LIMIT else limit
        assert reference is not None
        return _costless(side, quantity, start, reference, reach, at_open=at_open)
    if reach is Liquidity.MAKER:
        return _costless(side, quantity, limit, limit, reach, at_open=False)
    return None


def _costless(
    side: Side,
    quantity: float,
    price: float,
    reference: float,
    liquidity: Liquidity,
    *,
    at_open: bool,
) -> FillDecision:
    """A fill at ``price`` without spread or impact: any gap from ``reference`` is slippage."""
    slippage = side.sign * (price - reference)
    return FillDecision(price, quantity, reference, slippage, 0.0, liquidity, at_open)


@dataclass(frozen=True, slots=True)
class NextOpenFill:
    """Market orders fill in full at the open of the first bar the venue lets them see.

    The engine submits after a bar closes, so that is the *next* bar's open:
    the earliest price anyone could have traded at. No spread, slippage or
    impact; limits and stops follow the module's touch rules.
    """

    @property
    def history_bars(self) -> int:
        """None: the price comes from the bar alone."""
        return 0

    def fill(self, order: WorkingOrder, bar: Bar, market: MarketState) -> FillDecision | None:
        """Return the cost-free fill at the open, or by the touch rules."""
        return _touch(order, bar, at_close=False, strict=False)


@dataclass(frozen=True, slots=True)
class CloseFill:
    """Market orders fill in full at the close of the next bar, not at its open.

    This matches research that scores a signal close to close; it is a full
    bar later than :class:`NextOpenFill`, so it is pessimistic for fast
    signals and avoids an open-auction price nobody may get in size. Limits
    and stops rest through the bar and follow the same touch rules as
    :class:`NextOpenFill`.
    """

    @property
    def history_bars(self) -> int:
        """None: the price comes from the bar alone."""
        return 0

    def fill(self, order: WorkingOrder, bar: Bar, market: MarketState) -> FillDecision | None:
        """Return the cost-free fill at the close, or by the touch rules."""
        return _touch(order, bar, at_close=True, strict=False)


@dataclass(frozen=True, slots=True)
class ConservativeFill:
    """Fills on the adverse side of everything a bar cannot rule out.

    - **Market and stop fills** start from the open (market) or the adverse of
      the stop and the open (stop; a touch of the stop triggers it), then pay
      half the spread, slippage and square-root impact: a buy pays
      ``base * (1 + half_spread + slippage) + impact``, a sell receives
      ``base * (1 - half_spread - slippage) - impact``, with a per-unit
      ``impact = impact_k * sigma * sqrt(q / ADV) * base``. ``sigma`` and
      ``ADV`` come from the ``adv_window`` bars before this one; while either
      is undefined (the first bars of a symbol) impact is 0.
      The square-root law is fitted on orders of a few percent of ADV and grows
      without bound beyond, so impact is capped at ``max_impact`` of the price.
    - **Limit fills** (limits, and stop-limits from their trigger) happen at
      the limit, never better: a bar opening through the limit fills at the
      limit as a taker, a bar trading strictly through it fills at the limit
      as a maker. A limit caps every cost, so limit fills carry none.
    - **Participation cap**: at most ``participation_cap * bar.volume`` fills
      per order per bar; the rest stays working for later bars (partial
      fills). ``q`` in the impact is that bar's fill. A zero-volume bar fills
      nothing. The cap is per order: two orders in one symbol may each take
      their share of the same bar, so keep their sizes in mind when stacking.
    """

    spread_bps: float = 10.0
    slippage_bps: float = 5.0
    impact_k: float = 1.0
    participation_cap: float | None = 0.1
    adv_window: int = 20
    max_impact: float = 0.5

    def __post_init__(self) -> None:
        for name in ("spread_bps", "slippage_bps", "impact_k", "max_impact"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"ConservativeFill.{name} must be finite and >= 0, got {value}")
        if (self.spread_bps / 2 + self.slippage_bps) * _BPS + self.max_impact >= 1:
            raise ValueError(
                "ConservativeFill: half spread + slippage + max_impact must stay below 100 % "
                "of the price, or a sell could fill at a price of zero or less"
            )
        cap = self.participation_cap
        if cap is not None and not 0 < cap <= 1:
            raise ValueError(f"ConservativeFill.participation_cap must be in (0, 1], got {cap}")
        if self.adv_window < 2:
            raise ValueError(f"ConservativeFill.adv_window must be >= 2, got {self.adv_window}")

    @property
    def history_bars(self) -> int:
        """The window the volatility and average volume are estimated over."""
        return self.adv_window

    def fill(self, order: WorkingOrder, bar: Bar, market: MarketState) -> FillDecision | None:
        """Return the adverse fill of ``order`` on ``bar``, capped by participation."""
        quantity = order.quantity
        if self.participation_cap is not None:
            quantity = min(quantity, self.participation_cap * bar.volume)
        touch = _touch(order, bar, at_close=False, strict=True)
        if touch is None or not quantity > 0:
            return None
        request = order.request
        limit = request.limit_price
        if limit is not None:  # a limit caps every cost: at the limit, never better
            return _costless(
                request.side, quantity, limit, limit, touch.liquidity, at_open=touch.at_open
            )
        sign, base = request.side.sign, touch.price
        impact = 0.0
        sigma, adv = market.volatility, market.average_volume
        if sigma is not None and adv is not None:
            fraction = min(self.impact_k * sigma * math.sqrt(quantity / adv), self.max_impact)
            impact = fraction * base
        price = base * (1 + sign * (self.spread_bps / 2 + self.slippage_bps) * _BPS) + sign * impact
        slippage = sign * (price - touch.reference_price) - impact
        return FillDecision(
            price, quantity, touch.reference_price, slippage, impact, touch.liquidity, touch.at_open
        )
