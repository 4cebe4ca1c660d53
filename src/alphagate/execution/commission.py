"""Commission models: what one fill costs in fees, apart from its price.

Fees are kept out of the fill price on purpose. A fill's price says where the
order traded (and the fill model records why); its ``fee`` says what the
broker charged. The portfolio counts the two apart, so a cost report can tell
spread and impact from commissions, and a real broker's fee schedule can be
swapped in without touching the fill model.

Every model here answers for **one fill**. A minimum charge therefore applies
per fill, not per order: an order filled in three pieces (a participation cap,
a partial fill) pays the minimum up to three times. That overstates the fees
of brokers that charge minimums per order, which errs on the side of a
backtest that looks worse than live, never better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Protocol

from alphagate.domain.orders import Liquidity

BPS: Final = 1e-4
"""One basis point as a fraction of notional."""


def _check(name: str, value: float, *, allow_negative: bool = False) -> None:
    if not math.isfinite(value) or (value < 0 and not allow_negative):
        bound = "finite" if allow_negative else "finite and non-negative"
        raise ValueError(f"{name} must be {bound}, got {value}")


class CommissionModel(Protocol):
    """Anything that prices one fill's fees."""

    def fee(self, quantity: float, price: float, liquidity: Liquidity) -> float:
        """Return the fee, in the account currency, for one fill (negative is a rebate).

        Parameters
        ----------
        quantity
            Unsigned quantity of the fill.
        price
            The fill's price.
        liquidity
            Whether the fill added liquidity (maker) or took it (taker).
        """
        ...


@dataclass(frozen=True, slots=True)
class NoCommission:
    """Free trading. For tests and for venues that charge nothing; costs still come from fills."""

    def fee(self, quantity: float, price: float, liquidity: Liquidity) -> float:
        """Return ``0.0``."""
        return 0.0


@dataclass(frozen=True, slots=True)
class PerShare:
    """A fixed amount per unit traded, with a minimum per fill (US equity brokers).

    Parameters
    ----------
    rate
        Fee per share (or unit), e.g. ``0.005``.
    minimum
        Least fee one fill pays, e.g. ``1.0``; see the module docstring for why
        it is per fill.
    """

    rate: float
    minimum: float = 0.0

    def __post_init__(self) -> None:
        _check("PerShare.rate", self.rate)
        _check("PerShare.minimum", self.minimum)

    def fee(self, quantity: float, price: float, liquidity: Liquidity) -> float:
        """Return ``max(rate * quantity, minimum)``."""
        return max(self.rate * quantity, self.minimum)


@dataclass(frozen=True, slots=True)
class BasisPoints:
    """A fraction of the traded notional, whatever the liquidity (most retail schedules).

    Parameters
    ----------
    bps
        Fee in basis points of ``quantity * price``; ``10`` is 0.1 %.
    """

    bps: float

    def __post_init__(self) -> None:
        _check("BasisPoints.bps", self.bps)

    def fee(self, quantity: float, price: float, liquidity: Liquidity) -> float:
        """Return ``quantity * price * bps / 10 000``."""
        return quantity * price * self.bps * BPS


@dataclass(frozen=True, slots=True)
class MakerTaker:
    """Different rates for adding and taking liquidity (crypto and ECN schedules).

    Parameters
    ----------
    maker_bps
        Basis points of notional for a fill that added liquidity. Negative is a
        rebate the venue pays, as on several exchanges.
    taker_bps
        Basis points of notional for a fill that took liquidity; never negative.
    """

    maker_bps: float
    taker_bps: float

    def __post_init__(self) -> None:
        _check("MakerTaker.maker_bps", self.maker_bps, allow_negative=True)
        _check("MakerTaker.taker_bps", self.taker_bps)

    def fee(self, quantity: float, price: float, liquidity: Liquidity) -> float:
        """Return the notional times the maker or the taker rate."""
        bps = self.maker_bps if liquidity is Liquidity.MAKER else self.taker_bps
        return quantity * price * bps * BPS
