"""Pre-trade limits: the last look at an order before it is journaled and sent.

:class:`PreTradeCheck` answers one question per order, accept or reject, from
numbers the caller passes in (positions, prices, equity, cash), so it holds no
state and gives the same answer in a backtest, a replay and live trading.

Rules
-----
- **Never block risk reduction.** An order that only shrinks ``|position|``
  (same symbol, opposite side, no larger than the position) passes the
  exposure, weight, notional, cash and daily-count checks: when limits are
  breached, closing is the cure, and a limit that stops the cure turns a bad
  day into a worse one.
- **The price collar applies to every order**, reducing ones too: a price far
  from the last trade is a fat finger or a bad feed, and selling 30 % below
  the market is a loss, not a reduction of risk.
- An order flagged ``reduce_only`` that would open or flip a position is
  rejected, since the flag is a promise the caller made.
- Exposures are measured **after** the order, at ``price`` for the order's
  symbol and ``prices`` for the rest, as fractions of ``equity``.
- Every violated limit is named in one reason (joined by ``"; "``), so a
  rejected order shows all its problems at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from alphagate.domain.orders import OrderRequest, OrderType
from alphagate.risk.events import RiskEvent, Severity

COMPONENT = "pre_trade"
_SLACK = 1e-12  # a weight of exactly the limit passes despite float rounding


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimits:
    """Hard limits on one account; fractions are of equity (``0.25`` = 25 %).

    Parameters
    ----------
    max_position_weight
        Largest ``|qty * price| / equity`` for one symbol after the order.
    max_gross_exposure, max_net_exposure
        Largest ``sum |value| / equity`` and ``|sum value| / equity``.
    max_order_notional
        Largest ``quantity * price`` of one order, in account currency.
    max_orders_per_day
        Orders already sent today at which new risk-adding orders stop: the
        guard against a strategy stuck in a loop.
    price_collar_pct
        Largest ``|price - last| / last`` (``0.05`` = 5 %).
    min_cash
        Cash a buy may not take the account below.
    """

    max_position_weight: float
    max_gross_exposure: float
    max_net_exposure: float
    max_order_notional: float
    max_orders_per_day: int
    price_collar_pct: float
    min_cash: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "max_position_weight",
            "max_gross_exposure",
            "max_net_exposure",
            "max_order_notional",
            "price_collar_pct",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"risk limit {name} must be positive and finite, got {value}")
        if self.max_orders_per_day < 1:
            raise ValueError(f"max_orders_per_day must be >= 1, got {self.max_orders_per_day}")
        if not math.isfinite(self.min_cash):
            raise ValueError(f"min_cash must be finite, got {self.min_cash}")


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """The answer for one order: ``event`` is set exactly when it was rejected."""

    accepted: bool
    event: RiskEvent | None = None


def gross_and_net(
    positions: Mapping[str, float], prices: Mapping[str, float], equity: float
) -> tuple[float, float]:
    """Gross ``sum |q p| / equity`` and net ``sum q p / equity`` of signed positions.

    Raises ``KeyError`` for a held symbol without a price: guessing a price
    would make the exposure whatever the guess says.
    """
    values = [qty * prices[symbol] for symbol, qty in positions.items() if qty != 0.0]
    return sum(abs(v) for v in values) / equity, sum(values) / equity


def _bad(value: float) -> bool:
    return not (math.isfinite(value) and value > 0)


class PreTradeCheck:
    """Checks orders against :class:`RiskLimits`; see the module docstring for the rules."""

    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits

    def check(
        self,
        order: OrderRequest,
        *,
        price: float,
        last_price: float,
        equity: float,
        cash: float,
        positions: Mapping[str, float],
        prices: Mapping[str, float],
        orders_today: int,
    ) -> RiskDecision:
        """Accept or reject ``order``.

        Parameters
        ----------
        price
            The order's expected fill price (for a market order, the price it
            will likely get); a limit order is collared at its limit price.
        last_price
            The last trade (or mid) the collar is measured from.
        positions
            Signed quantities held now, before this order.
        prices
            Prices of the other held symbols, for exposure after the order.
        orders_today
            Orders already sent today.
        """
        lim = self.limits
        symbol = order.symbol
        held = positions.get(symbol, 0.0)
        if _bad(price) or _bad(last_price):
            return self._reject(order, [f"invalid price {price} or last price {last_price}"])
        problems: list[str] = []
        collar_price = (
            order.limit_price
            if order.order_type is OrderType.LIMIT and order.limit_price is not None
            else price
        )
        away = abs(collar_price - last_price) / last_price
        if away > lim.price_collar_pct + _SLACK:
            problems.append(
                f"{order.order_type.value} price {collar_price:.2f} is {away:.1%} from last "
                f"{last_price:.2f} > collar {lim.price_collar_pct:.1%} for {symbol}"
            )
        # Opposite side and no larger than the position: shrinks |position|, never flips it.
        reduces = held * order.side.sign < 0 and order.quantity <= abs(held) * (1 + 1e-9)
        if order.reduce_only and not reduces:
            problems.append(
                f"reduce_only {order.side.value} {order.quantity:g} would not shrink "
                f"position {held:g} in {symbol}"
            )
        if not reduces:
            problems.extend(
                self._risk_adding(
                    order, price=price, equity=equity, cash=cash, positions=positions, prices=prices
                )
            )
            if orders_today >= lim.max_orders_per_day:
                problems.append(f"orders today {orders_today} >= max {lim.max_orders_per_day}")
        if problems:
            return self._reject(order, problems)
        return RiskDecision(accepted=True)

    def _risk_adding(
        self,
        order: OrderRequest,
        *,
        price: float,
        equity: float,
        cash: float,
        positions: Mapping[str, float],
        prices: Mapping[str, float],
    ) -> list[str]:
        """The limits only an order that adds risk must respect."""
        lim = self.limits
        symbol = order.symbol
        problems: list[str] = []
        notional = order.quantity * price
        if notional > lim.max_order_notional + _SLACK:
            problems.append(
                f"order notional {notional:.2f} > max {lim.max_order_notional:.2f} for {symbol}"
            )
        cash_after = cash - order.side.sign * notional
        if order.side.sign > 0 and cash_after < lim.min_cash - _SLACK:
            problems.append(f"cash after order {cash_after:.2f} < min {lim.min_cash:.2f}")
        if not (math.isfinite(equity) and equity > 0):
            problems.append(f"equity {equity} is not positive; no risk may be added")
            return problems
        after = dict(positions)
        after[symbol] = after.get(symbol, 0.0) + order.side.sign * order.quantity
        marks = {**prices, symbol: price}
        missing = sorted(s for s, q in after.items() if q != 0.0 and s not in marks)
        if missing:
            problems.append(f"no price for held {', '.join(missing)}; exposure unknown")
            return problems
        weight = abs(after[symbol] * price) / equity
        if weight > lim.max_position_weight + _SLACK:
            problems.append(
                f"position weight {weight:.2f} > max {lim.max_position_weight:.2f} for {symbol}"
            )
        gross, net = gross_and_net(after, marks, equity)
        if gross > lim.max_gross_exposure + _SLACK:
            problems.append(f"gross exposure {gross:.2f} > max {lim.max_gross_exposure:.2f}")
        if abs(net) > lim.max_net_exposure + _SLACK:
            problems.append(f"net exposure {net:.2f} > max {lim.max_net_exposure:.2f}")
        return problems

    @staticmethod
    def _reject(order: OrderRequest, problems: list[str]) -> RiskDecision:
        event = RiskEvent(
            ts=pd.Timestamp(order.ts_init, tz="UTC"),  # read by people: boxed here
            component=COMPONENT,
            severity=Severity.WARNING,
            reason="; ".join(problems),
            data={
                "client_order_id": order.client_order_id,
                "symbol": order.symbol,
                "side": order.side.value,
                "quantity": order.quantity,
                "violations": tuple(problems),
            },
        )
        return RiskDecision(accepted=False, event=event)
