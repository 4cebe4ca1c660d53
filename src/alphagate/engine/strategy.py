"""What a strategy is, what it may see, and what it may ask for.

A strategy is deliberately small: a ``name`` (part of every client order id it
causes, so it must be stable across runs), a ``warmup`` (bars of history it
needs before it is asked anything) and ``on_bar``, which reads a
:class:`StrategyContext` and answers with orders, target weights or nothing.

**Point in time by construction.** The context holds, per symbol, NumPy views
of the bars up to and including the current one and no further, taken from
read-only arrays. A strategy cannot read tomorrow's close by mistake, because
tomorrow's close is not in anything it was handed (the structural trick of
backtesting.py, which slices its data arrays before each ``next()``), and it
cannot corrupt the engine's copy because the views are not writeable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphagate.domain.orders import OrderType, TimeInForce
from alphagate.errors import AlphagateError

FloatArray: TypeAlias = npt.NDArray[np.float64]


class StrategyError(AlphagateError):
    """A strategy raised, or answered with something the engine cannot act on.

    The message names the strategy and the bar, so a failed run says where it
    failed without a traceback; the original exception is chained as
    ``__cause__`` for whoever needs the traceback.
    """

    def __init__(self, strategy: str, ts: pd.Timestamp, detail: str) -> None:
        self.strategy = strategy
        self.ts = ts
        super().__init__(f"strategy {strategy!r} failed at bar {ts.isoformat()}: {detail}")


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """One order a strategy asks for; the engine turns it into an ``OrderRequest``.

    Parameters
    ----------
    symbol
        A symbol of the run.
    quantity
        Signed: positive buys, negative sells; zero is ignored. Signed rather
        than ``side`` + quantity so "change my position by x" is one number.
    leg
        Distinguishes several orders for one symbol at one bar; it is part of
        the deterministic client order id, so two intents for the same symbol
        at the same bar need different legs.
    """

    symbol: str
    quantity: float
    order_type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    leg: str = "entry"


StrategyOutput: TypeAlias = Sequence[OrderIntent] | Mapping[str, float] | None
"""Orders, or target weights per symbol in ``[-1, 1]`` of equity, or ``None`` (no change)."""


@dataclass(frozen=True, slots=True)
class SymbolHistory:
    """Bars of one symbol up to and including the current one, as read-only arrays.

    ``ts`` holds bar closes as int64 nanoseconds since the epoch (UTC): a
    DatetimeIndex per bar would cost more than the rest of the step.
    """

    ts: npt.NDArray[np.int64]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return len(self.close)


@dataclass(frozen=True, slots=True)
class StrategyContext:
    """Everything a strategy may know at one bar close; nothing in it can be changed.

    Attributes
    ----------
    ts
        The current bar's close.
    history
        Per symbol, its bars with ``ts <=`` the current bar's close.
    positions
        Signed quantity held per symbol (symbols never traded are absent).
    cash, equity
        Account cash, and cash plus positions marked at the latest closes.
    """

    ts: pd.Timestamp
    history: Mapping[str, SymbolHistory]
    positions: Mapping[str, float]
    cash: float
    equity: float

    def position(self, symbol: str) -> float:
        """Signed quantity held in ``symbol``, ``0.0`` when none."""
        return self.positions.get(symbol, 0.0)


class Strategy(Protocol):
    """Anything that decides at bar closes; see the module docstring."""

    @property
    def name(self) -> str:
        """Stable name, part of every client order id the strategy causes."""
        ...

    @property
    def warmup(self) -> int:
        """Bars of history needed before the first call (0: called from the first bar)."""
        ...

    def on_bar(self, context: StrategyContext) -> StrategyOutput:
        """Decide at the current bar's close."""
        ...


def check_weights(weights: Mapping[str, float], symbols: frozenset[str]) -> None:
    """Raise ``ValueError`` unless every weight is finite, in ``[-1, 1]``, for a known symbol.

    A weight of 1.5 would silently lever the account; refusing it makes
    leverage a decision someone has to add on purpose, not a typo's effect.
    """
    for symbol, weight in weights.items():
        if symbol not in symbols:
            raise ValueError(f"target weight for unknown symbol {symbol!r}")
        if not (math.isfinite(weight) and -1.0 <= weight <= 1.0):
            raise ValueError(f"target weight for {symbol!r} must be in [-1, 1], got {weight}")
