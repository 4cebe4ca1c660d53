"""Holdings and round trips as values: :class:`Position` and :class:`Trade`.

Both are snapshots. The portfolio (:mod:`alphagate.execution.portfolio`)
keeps its books in place and hands out new values when asked, never its
books themselves, so a position handed to a risk check or a report cannot
change under the reader's feet.

Accounting conventions, used everywhere these types appear:

- **Average cost.** A position's ``average_price`` is the quantity-weighted
  mean price of the fills that opened or added to it; fills that reduce it
  leave it unchanged, and realise ``closed_qty * (price - average_price)``
  (sign flipped for a short).
- **P&L is gross of fees.** ``realised_pnl`` and ``Trade.pnl`` are price P&L
  only; fees are counted separately (``Trade.fees``, the portfolio's
  ``fees_paid``). Net figures are one subtraction away (``Trade.net_pnl``),
  whereas a P&L with fees folded in cannot be split back, and cost analysis
  needs the split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from alphagate.domain.instants import check_ns
from alphagate.domain.orders import Side


@dataclass(frozen=True, slots=True)
class Position:
    """What is held in one symbol: a signed quantity at an average cost.

    Attributes
    ----------
    quantity
        Positive long, negative short, zero flat.
    average_price
        Average cost of the open quantity; ``0.0`` when flat.
    realised_pnl
        Price P&L realised in this symbol over the portfolio's life, gross of fees.
    """

    symbol: str
    quantity: float = 0.0
    average_price: float = 0.0
    realised_pnl: float = 0.0

    def __post_init__(self) -> None:
        symbol = self.symbol
        if not symbol:
            raise ValueError("a position needs a symbol")
        for name, value in (
            ("quantity", self.quantity),
            ("average_price", self.average_price),
            ("realised_pnl", self.realised_pnl),
        ):
            if not math.isfinite(value):
                raise ValueError(f"position {symbol!r}: {name} must be finite, got {value}")
        if self.quantity != 0.0 and self.average_price <= 0.0:
            raise ValueError(
                f"position {symbol!r}: an open position needs a positive average_price"
            )

    @property
    def is_flat(self) -> bool:
        """True when nothing is held."""
        return self.quantity == 0.0

    @property
    def side(self) -> Side | None:
        """``BUY`` for a long, ``SELL`` for a short, ``None`` when flat."""
        if self.quantity == 0.0:
            return None
        return Side.BUY if self.quantity > 0 else Side.SELL

    def market_value(self, price: float) -> float:
        """Signed value of the position at ``price``: negative for a short."""
        return self.quantity * price

    def unrealised_pnl(self, price: float) -> float:
        """Price P&L of the open quantity if it were closed at ``price``."""
        return self.quantity * (price - self.average_price)


@dataclass(frozen=True, slots=True)
class Trade:
    """One round trip in one symbol: from flat to flat, or to the fill that flips it.

    A trade opens when a fill takes the position away from zero and closes
    when a fill brings it back to zero or through it; in between, fills in the
    trade's direction add to it and opposite fills partly exit it.

    Attributes
    ----------
    side
        The direction of the entry: ``BUY`` for a long round trip.
    quantity
        Total quantity entered (the sum of the fills that opened or added).
    entry_ts
        When the trade opened: its first fill's ``ts_event``, ns since the
        epoch (UTC).
    entry_price
        Quantity-weighted mean price of those entry fills.
    exit_quantity
        Quantity exited so far; equals ``quantity`` once the trade is closed.
    exit_ts, exit_price
        When the trade closed (its closing fill's ``ts_event``, ns since the
        epoch), and the quantity-weighted mean price of its exit fills;
        ``exit_price`` is set from the first partial exit, ``exit_ts`` only at
        the close, ``None`` while the trade is open.
    pnl
        Price P&L realised by the exits so far, gross of fees. With average
        cost, a closed trade's ``pnl`` equals
        ``side.sign * (exit_price - entry_price) * quantity``.
    fees
        Fees of the trade's fills; a fill that flips the position splits its
        fee between the trade it closes and the one it opens, in proportion to
        quantity.
    """

    symbol: str
    side: Side
    quantity: float
    entry_ts: int
    entry_price: float
    exit_quantity: float = 0.0
    exit_ts: int | None = None
    exit_price: float | None = None
    pnl: float = 0.0
    fees: float = 0.0

    def __post_init__(self) -> None:
        symbol, quantity = self.symbol, self.quantity
        if not symbol:
            raise ValueError("a trade needs a symbol")
        if not (math.isfinite(quantity) and quantity > 0):
            raise ValueError(f"trade in {symbol!r}: quantity must be positive and finite")
        check_ns(self.entry_ts, f"trade in {symbol!r}: entry_ts")
        if self.exit_ts is not None:
            check_ns(self.exit_ts, f"trade in {symbol!r}: exit_ts")
        if not 0.0 <= self.exit_quantity <= quantity * (1.0 + 1e-9):
            raise ValueError(
                f"trade in {symbol!r}: exit_quantity {self.exit_quantity} outside [0, {quantity}]"
            )

    @property
    def is_open(self) -> bool:
        """True until the fill that brings the position back to zero or through it."""
        return self.exit_ts is None

    @property
    def open_quantity(self) -> float:
        """Quantity entered and not yet exited."""
        return max(self.quantity - self.exit_quantity, 0.0)

    @property
    def net_pnl(self) -> float:
        """Realised price P&L less the trade's fees."""
        return self.pnl - self.fees
