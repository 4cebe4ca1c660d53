"""What the engine asks a venue to do, and what the venue reports back.

An :class:`OrderRequest` is the intent, fixed when the decision is made and
journaled before it is sent; a :class:`Fill` is one execution the venue
reports. The two never share an object: a request does not change as fills
arrive, so the journal can record it once and a replay rebuilds exactly the
same request. How far an order has got lives in
:class:`alphagate.domain.order_state.OrderState`, a snapshot rebuilt from
events.

Both types check themselves on construction. A bad quantity or a missing
limit price caught here names the order it belongs to, instead of surfacing
later as a venue rejection with an opaque code, or worse, as a fill of an
order nobody meant to send.

Times are int64 nanoseconds since the epoch, UTC
(:mod:`alphagate.domain.instants`): ``ts_init`` when the engine made the
request, ``ts_event`` when the fill happened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from alphagate.domain.instants import check_ns


class Side(StrEnum):
    """The direction of an order or a fill."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """``+1`` for a buy, ``-1`` for a sell: the sign of the position change."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        """The side that closes a position this side opened."""
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    """How an order is priced; each type needs exactly the prices it names."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    """How long an unfilled order stays working."""

    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"


class OrderStatus(StrEnum):
    """Where an order is in its life; the legal moves are in ``order_state.TRANSITIONS``."""

    NEW = "new"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"


class Liquidity(StrEnum):
    """Whether a fill added liquidity to the book (maker) or took it (taker).

    Venues charge the two differently, so the fee model and the cost report
    need to know which one a fill was.
    """

    MAKER = "maker"
    TAKER = "taker"


# Which prices each order type needs: (limit_price, stop_price). A price an order
# type does not use is refused rather than ignored, since a MARKET order carrying a
# limit price means the caller believed something about it that is not true.
_PRICES_NEEDED: dict[OrderType, tuple[bool, bool]] = {
    OrderType.MARKET: (False, False),
    OrderType.LIMIT: (True, False),
    OrderType.STOP: (False, True),
    OrderType.STOP_LIMIT: (True, True),
}


def _is_positive_finite(value: float) -> bool:
    return math.isfinite(value) and value > 0


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRequest:
    """One order the engine intends to send, exactly as it will be journaled.

    Parameters
    ----------
    client_order_id
        The deterministic id from :func:`alphagate.domain.ids.client_order_id`,
        so a replayed decision names the same order and the venue refuses a
        second copy.
    quantity
        Unsigned, positive and finite; the direction is ``side``.
    ts_init
        When the engine made the request (the decision's bar close), in ns
        since the epoch, UTC.
    limit_price, stop_price
        Exactly the prices ``order_type`` needs (see :class:`OrderType`).
    parent_id
        The entry order a protective child (stop-loss, take-profit) belongs to.
    oco_group_id
        Orders sharing this id cancel each other when one fills.
    reduce_only
        The order may only shrink a position, never open or flip one; kept on
        the request so risk checks and venues that support it both see it.
    """

    client_order_id: str
    symbol: str
    side: Side
    quantity: float
    ts_init: int
    order_type: OrderType = OrderType.MARKET
    time_in_force: TimeInForce = TimeInForce.DAY
    limit_price: float | None = None
    stop_price: float | None = None
    parent_id: str | None = None
    oco_group_id: str | None = None
    reduce_only: bool = False

    def __post_init__(self) -> None:
        if not self.client_order_id:
            raise ValueError("an order request needs a non-empty client_order_id")
        owner = f"order {self.client_order_id!r}"
        if not self.symbol:
            raise ValueError(f"{owner}: symbol must not be empty")
        if not _is_positive_finite(self.quantity):
            raise ValueError(f"{owner}: quantity must be positive and finite, got {self.quantity}")
        ts = check_ns(self.ts_init, f"{owner}: ts_init")
        if ts is not self.ts_init:  # a NumPy integer, kept as a plain int
            object.__setattr__(self, "ts_init", ts)
        needs_limit, needs_stop = _PRICES_NEEDED[self.order_type]
        for name, price, needed in (
            ("limit_price", self.limit_price, needs_limit),
            ("stop_price", self.stop_price, needs_stop),
        ):
            if needed and price is None:
                raise ValueError(f"{owner}: a {self.order_type.name} order needs {name}")
            if not needed and price is not None:
                raise ValueError(f"{owner}: a {self.order_type.name} order takes no {name}")
            if price is not None and not _is_positive_finite(price):
                raise ValueError(f"{owner}: {name} must be positive and finite, got {price}")
        if self.parent_id == self.client_order_id:
            raise ValueError(f"{owner}: an order cannot be its own parent")


@dataclass(frozen=True, slots=True, kw_only=True)
class Fill:
    """One execution of (part of) an order, as the venue or the simulator reports it.

    The execution-assumption fields record *why* the price is what it is, so a
    backtest's costs can be audited and compared with live fills; a real venue
    fills only ``price`` and ``fee`` and leaves the model fields at their
    defaults.

    Parameters
    ----------
    trade_id
        The venue's id for this execution. Applying the same ``trade_id`` twice
        must change nothing (RELIABILITY invariant I3), which is what makes a
        replayed or duplicated fill report harmless.
    quantity
        Unsigned, positive and finite; the direction is ``side``.
    ts_event
        When the execution happened (a simulated fill: its bar's close), in ns
        since the epoch, UTC.
    fee
        Money paid for this fill in the account currency; negative for a maker
        rebate.
    reference_price
        The price the fill model started from (next open, mid, bar close);
        ``None`` when the fill is a venue's and no model was involved.
    slippage, impact
        Per-unit price amounts the model charged against the reference (adverse
        is positive): ``slippage`` for spread and noise, ``impact`` for the
        order's own size.
    liquidity
        Maker or taker, which decides the fee schedule.
    """

    client_order_id: str
    trade_id: str
    symbol: str
    side: Side
    quantity: float
    price: float
    ts_event: int
    fee: float = 0.0
    reference_price: float | None = None
    slippage: float = 0.0
    impact: float = 0.0
    liquidity: Liquidity = Liquidity.TAKER

    def __post_init__(self) -> None:
        if not self.client_order_id or not self.trade_id:
            raise ValueError(
                f"a fill needs a client_order_id and a trade_id, got "
                f"{self.client_order_id!r} and {self.trade_id!r}"
            )
        owner = f"fill {self.trade_id!r} of order {self.client_order_id!r}"
        if not self.symbol:
            raise ValueError(f"{owner}: symbol must not be empty")
        if not _is_positive_finite(self.quantity):
            raise ValueError(f"{owner}: quantity must be positive and finite, got {self.quantity}")
        if not _is_positive_finite(self.price):
            raise ValueError(f"{owner}: price must be positive and finite, got {self.price}")
        if self.reference_price is not None and not _is_positive_finite(self.reference_price):
            raise ValueError(
                f"{owner}: reference_price must be positive and finite, got {self.reference_price}"
            )
        for name, value in (
            ("fee", self.fee),
            ("slippage", self.slippage),
            ("impact", self.impact),
        ):
            if not math.isfinite(value):
                raise ValueError(f"{owner}: {name} must be finite, got {value}")
        ts = check_ns(self.ts_event, f"{owner}: ts_event")
        if ts is not self.ts_event:  # a NumPy integer, kept as a plain int
            object.__setattr__(self, "ts_event", ts)

    @property
    def signed_quantity(self) -> float:
        """The position change this fill causes: positive for a buy, negative for a sell."""
        return self.side.sign * self.quantity

    @property
    def notional(self) -> float:
        """Unsigned traded value, ``quantity * price``, before fees."""
        return self.quantity * self.price
