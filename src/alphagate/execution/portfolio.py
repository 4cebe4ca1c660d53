"""Cash, positions, P&L and round-trip trades, kept from fills alone.

The :class:`Portfolio` is the one place fills become money. It knows nothing
of orders or venues, only :class:`~alphagate.domain.orders.Fill`, so the
backtest's simulated fills and a broker's real ones go through the same
arithmetic, and a portfolio rebuilt by replaying journaled fills equals the
one that was running.

Conventions (see also :mod:`alphagate.domain.positions`):

- **Cash** moves by the notional of every fill (a buy spends it, a sell,
  short sales included, receives it) and by its fee.
- **Average cost.** Adding to a position re-weights its average price;
  reducing it leaves the average unchanged and realises
  ``closed_qty * (price - average)`` (sign flipped for a short).
- **A flip is a close plus an open.** A fill larger than the position it
  opposes realises P&L on the whole position at the fill price, closes that
  round trip, and opens the remainder as a new position and trade at the fill
  price. Treating the remainder as part of the old trade would mix two
  directions in one record and make the trade's P&L meaningless.
- **P&L is gross of fees**, fees are counted apart in :attr:`Portfolio.fees_paid`
  and :attr:`Trade.fees <alphagate.domain.positions.Trade.fees>`. Hence
  ``equity == initial_cash + realised + unrealised - fees_paid``.
- **Duplicates are harmless.** A fill is identified by its order's client id
  and its ``trade_id``; a fill seen before changes nothing (RELIABILITY I3),
  and one that reuses a seen id with different contents raises, since that
  is a venue or journal inconsistency, not a re-send.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from alphagate.domain.orders import Fill, Side
from alphagate.domain.positions import Position, Trade

QTY_TOLERANCE: Final = 1e-9
"""Relative slack for "this fill closes the position exactly": selling ``0.3``
against a holding of ``0.1 + 0.2`` leaves the position flat, not short 5e-17."""


def _split(held: float, fill: Fill) -> tuple[float, float]:
    """Split a fill into the quantity that closes ``held`` and the quantity that opens or adds."""
    quantity = fill.quantity
    if held == 0.0 or (held > 0.0) == (fill.side.sign > 0):
        return 0.0, quantity
    size = abs(held)
    if abs(quantity - size) <= QTY_TOLERANCE * max(quantity, size):
        return size, 0.0
    if quantity < size:
        return quantity, 0.0
    return size, quantity - size


class _Holding:
    """One symbol's book, changed in place by its fills; read out as a :class:`Position`.

    Sizing and valuing read the quantities (:attr:`Portfolio.quantities`), so
    a ``Position`` value per fill would be built for nobody; one is built when
    :attr:`Portfolio.positions` or :meth:`Portfolio.position` is asked.
    """

    __slots__ = ("average_price", "quantity", "realised_pnl")

    def __init__(self) -> None:
        self.quantity = 0.0
        self.average_price = 0.0
        self.realised_pnl = 0.0

    def as_position(self, symbol: str) -> Position:
        """The holding as a :class:`Position` value."""
        return Position(symbol, self.quantity, self.average_price, self.realised_pnl)


class _OpenTrade:
    """A round trip still open, changed in place by each fill it takes.

    A fill that flips a position would otherwise build a :class:`Trade` for
    the open trade it updates and another for the one it opens, values that
    nothing reads; a ``Trade`` is built when the round trip closes, or when
    :meth:`Portfolio.open_trades` is asked.
    """

    __slots__ = (
        "entry_price", "entry_ts", "exit_price", "exit_quantity", "fees", "pnl", "quantity", "side",
    )  # fmt: skip

    def __init__(self, fill: Fill, quantity: float, fee: float) -> None:
        self.side = fill.side
        self.quantity = quantity
        self.entry_ts = fill.ts_event
        self.entry_price = fill.price
        self.exit_quantity = 0.0
        self.exit_price: float | None = None
        self.pnl = 0.0
        self.fees = fee

    def as_trade(self, symbol: str, exit_ts: int | None = None) -> Trade:
        """The round trip as a :class:`Trade` value, closed at ``exit_ts`` when given."""
        return Trade(
            symbol, self.side, self.quantity, self.entry_ts, self.entry_price,
            self.exit_quantity, exit_ts, self.exit_price, self.pnl, self.fees,
        )  # fmt: skip


class Portfolio:
    """Positions in any number of symbols, long or short, and the cash behind them.

    Parameters
    ----------
    cash
        Starting cash in the account currency.
    """

    def __init__(self, cash: float) -> None:
        if not math.isfinite(cash):
            raise ValueError(f"starting cash must be finite, got {cash}")
        self._initial_cash = float(cash)
        self._cash = float(cash)
        self._fees_paid = 0.0
        self._realised_pnl = 0.0
        self._holdings: dict[str, _Holding] = {}  # every symbol ever traded
        # The non-flat symbols' signed quantities: what sizing and valuing read on every
        # order, kept by ``apply_fill`` so neither looks through the Position values.
        self._quantities: dict[str, float] = {}
        self._quantities_view = MappingProxyType(self._quantities)
        self._open_trades: dict[str, _OpenTrade] = {}
        self._closed_trades: list[Trade] = []
        self._fills: dict[tuple[str, str], Fill] = {}

    @property
    def initial_cash(self) -> float:
        """Cash the portfolio started with."""
        return self._initial_cash

    @property
    def cash(self) -> float:
        """Cash now: starting cash, less what buys cost, plus what sells brought, less fees."""
        return self._cash

    @property
    def fees_paid(self) -> float:
        """Sum of the fees of every fill applied (rebates count negative)."""
        return self._fees_paid

    @property
    def realised_pnl(self) -> float:
        """Price P&L realised over all symbols, gross of fees."""
        return self._realised_pnl

    @property
    def positions(self) -> Mapping[str, Position]:
        """Every symbol ever traded (flat ones too, for their realised P&L), read-only."""
        return MappingProxyType({s: h.as_position(s) for s, h in self._holdings.items()})

    @property
    def quantities(self) -> Mapping[str, float]:
        """Signed quantity of every non-flat symbol: a read-only view that follows the fills."""
        return self._quantities_view

    def position(self, symbol: str) -> Position:
        """The position in ``symbol``; flat when it was never traded."""
        holding = self._holdings.get(symbol)
        return Position(symbol) if holding is None else holding.as_position(symbol)

    def quantity(self, symbol: str) -> float:
        """The signed quantity held in ``symbol``; ``0.0`` when flat or never traded."""
        return self._quantities.get(symbol, 0.0)

    def open_trades(self) -> tuple[Trade, ...]:
        """Round trips still open, one per symbol with a position, in the order they opened."""
        return tuple([t.as_trade(s) for s, t in self._open_trades.items()])

    def closed_trades(self) -> tuple[Trade, ...]:
        """Round trips that ended, in the order they closed."""
        return tuple(self._closed_trades)

    def apply_fill(self, fill: Fill) -> bool:
        """Book one fill; return ``False`` when it had already been booked.

        Raises
        ------
        ValueError
            When the fill reuses a ``(client_order_id, trade_id)`` already booked
            with different contents.
        """
        key = (fill.client_order_id, fill.trade_id)
        seen = self._fills.get(key)
        if seen is not None:
            if seen != fill:
                raise ValueError(
                    f"fill {fill.trade_id!r} of order {fill.client_order_id!r} was booked as "
                    f"{seen!r} and is now reported as {fill!r}"
                )
            return False
        self._fills[key] = fill

        symbol, price, sign = fill.symbol, fill.price, 1.0 if fill.side is Side.BUY else -1.0
        holding = self._holdings.get(symbol)
        if holding is None:
            holding = self._holdings[symbol] = _Holding()
        held, average_before = holding.quantity, holding.average_price
        closing, opening = _split(held, fill)
        realised = 0.0
        if closing > 0.0:
            direction = 1.0 if held > 0.0 else -1.0
            realised = direction * closing * (price - average_before)
        closes_all = closing > 0.0 and closing == abs(held)
        if closes_all:
            quantity = sign * opening
            average = price if opening > 0.0 else 0.0
        elif closing > 0.0:
            quantity = held + sign * fill.quantity
            average = average_before
        else:
            size = abs(held) + opening
            quantity = sign * size
            average = (abs(held) * average_before + opening * price) / size
        holding.quantity, holding.average_price = quantity, average
        holding.realised_pnl += realised
        if quantity != 0.0:
            self._quantities[symbol] = quantity
        else:
            self._quantities.pop(symbol, None)

        self._cash -= sign * fill.quantity * price
        self._cash -= fill.fee
        self._fees_paid += fill.fee
        self._realised_pnl += realised
        self._book_trades(fill, closing, opening, realised, closes_all)
        return True

    def _book_trades(
        self, fill: Fill, closing: float, opening: float, realised: float, closes_all: bool
    ) -> None:
        if closing > 0.0 and opening > 0.0:
            close_fee = fill.fee * closing / fill.quantity
            open_fee = fill.fee - close_fee
        else:
            close_fee = open_fee = fill.fee
        symbol = fill.symbol
        if closing > 0.0:
            trade = self._open_trades[symbol]
            exited = trade.exit_quantity + closing
            previous_exit = trade.exit_price if trade.exit_price is not None else 0.0
            trade.exit_price = (previous_exit * trade.exit_quantity + fill.price * closing) / exited
            trade.exit_quantity = trade.quantity if closes_all else exited
            trade.pnl += realised
            trade.fees += close_fee
            # Moved to the end as it closes or shrinks, as the Trade it replaced was.
            del self._open_trades[symbol]
            if closes_all:
                self._closed_trades.append(trade.as_trade(symbol, fill.ts_event))
            else:
                self._open_trades[symbol] = trade
        if opening > 0.0:
            current = self._open_trades.get(symbol)
            if current is None:
                self._open_trades[symbol] = _OpenTrade(fill, opening, open_fee)
            else:
                entered = current.quantity + opening
                current.entry_price = (
                    current.entry_price * current.quantity + fill.price * opening
                ) / entered
                current.quantity = entered
                current.fees += open_fee

    def _price(self, symbol: str, prices: Mapping[str, float]) -> float:
        # A missing mark is an error, not a zero: valuing a position at nothing
        # would report a loss (or, for a short, a gain) that never happened.
        if symbol not in prices:
            raise KeyError(f"no mark price for open position in {symbol!r}")
        price = float(prices[symbol])
        if not (math.isfinite(price) and price > 0.0):
            raise ValueError(f"mark price for {symbol!r} must be positive and finite, got {price}")
        return price

    def _open_positions(self) -> list[Position]:
        return [self._holdings[s].as_position(s) for s in self._quantities]

    def mark(self, prices: Mapping[str, float]) -> float:
        """Unrealised P&L of every open position at ``prices`` (one per open symbol)."""
        return math.fsum(
            p.unrealised_pnl(self._price(p.symbol, prices)) for p in self._open_positions()
        )

    def equity(self, prices: Mapping[str, float]) -> float:
        """Cash plus the signed market value of every open position."""
        price = self._price
        return math.fsum([self._cash, *[q * price(s, prices) for s, q in self._quantities.items()]])

    def gross_exposure(self, prices: Mapping[str, float]) -> float:
        """Sum of the absolute market values: how much is at risk either way."""
        price = self._price
        return math.fsum(abs(q * price(s, prices)) for s, q in self._quantities.items())

    def net_exposure(self, prices: Mapping[str, float]) -> float:
        """Sum of the signed market values: longs less shorts."""
        price = self._price
        return math.fsum([q * price(s, prices) for s, q in self._quantities.items()])
