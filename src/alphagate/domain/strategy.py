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
    parent_leg
        The leg of an entry intent of the same symbol and bar that this order
        protects (a bracket's stop-loss or take-profit): it rests until that
        entry fills and never for more than the entry filled.
    oco_group
        Intents of the same symbol and bar naming the same group cancel each
        other when one fills (a bracket's stop and take-profit).
    reduce_only
        The order may only shrink the position, never open or flip one.
    """

    symbol: str
    quantity: float
    order_type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    leg: str = "entry"
    parent_leg: str | None = None
    oco_group: str | None = None
    reduce_only: bool = False


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


class StrategyContext:
    """Everything a strategy may know at one bar close; see the module docstring.

    A plain holder built from values, for tests and for callers outside the
    engine; the kernel passes a subclass that reads its own state lazily,
    so a strategy that never asks for ``equity`` or ``history`` never pays for
    them. Either way the context is only valid during the ``on_bar`` call that
    received it: keep values, not the context.

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
    updated
        The symbols whose bar closed at this step (all of ``history`` unless given).
    """

    def __init__(
        self,
        ts: pd.Timestamp,
        history: Mapping[str, SymbolHistory],
        positions: Mapping[str, float],
        cash: float,
        equity: float,
        *,
        updated: Sequence[str] | None = None,
        indicators: Mapping[str, Mapping[str, FloatArray]] | None = None,
    ) -> None:
        self._ts, self._history, self._positions = ts, history, positions
        self._cash, self._equity = cash, equity
        self._updated = tuple(history) if updated is None else tuple(updated)
        self._indicators = indicators if indicators is not None else {}

    @property
    def ts(self) -> pd.Timestamp:
        """The current bar's close."""
        return self._ts

    @property
    def history(self) -> Mapping[str, SymbolHistory]:
        """Per symbol, its bars up to and including the current close."""
        return self._history

    @property
    def positions(self) -> Mapping[str, float]:
        """Signed quantity held per non-flat symbol."""
        return self._positions

    @property
    def cash(self) -> float:
        """Account cash."""
        return self._cash

    @property
    def equity(self) -> float:
        """Cash plus every position marked at its latest close."""
        return self._equity

    @property
    def updated(self) -> tuple[str, ...]:
        """Symbols with a bar closing now, in the run's symbol order."""
        return self._updated

    def position(self, symbol: str) -> float:
        """Signed quantity held in ``symbol``, ``0.0`` when none."""
        return self.positions.get(symbol, 0.0)

    def bars_seen(self, symbol: str) -> int:
        """Bars of ``symbol`` closed so far (``0`` before its first)."""
        history = self.history.get(symbol)
        return 0 if history is None else len(history)

    def indicator(self, symbol: str, name: str) -> FloatArray:
        """The strategy's indicator ``name`` for ``symbol``, up to the current bar (read-only)."""
        return indicator_of(self._indicators, symbol, name)[: self.bars_seen(symbol)]

    def value(self, symbol: str, name: str, ago: int = 0) -> float:
        """Indicator ``name`` of ``symbol`` at the current bar, or ``ago`` bars before it.

        Raises
        ------
        IndexError
            When ``ago`` reaches before the symbol's first bar (or is negative:
            a value after the current bar does not exist for a strategy).
        """
        return _value_at(indicator_of(self._indicators, symbol, name), self.bars_seen(symbol), ago)


def indicator_of(
    indicators: Mapping[str, Mapping[str, FloatArray]], symbol: str, name: str
) -> FloatArray:
    """Look up one declared indicator, or say which ones the symbol has."""
    try:
        return indicators[symbol][name]
    except KeyError:
        known = sorted(indicators.get(symbol, {}))
        raise KeyError(
            f"no indicator {name!r} for {symbol!r} (declared: {', '.join(known) or 'none'})"
        ) from None


def _value_at(values: FloatArray, seen: int, ago: int) -> float:
    row = seen - 1 - ago
    if ago < 0 or row < 0:
        raise IndexError(f"indicator value {ago} bars ago does not exist after {seen} bars")
    return float(values[row])


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


class DeclaresIndicators(Protocol):
    """A strategy that asks the engine to compute arrays once instead of at every bar.

    ``indicators`` receives a symbol's whole history and returns arrays of the
    same length, value ``i`` computed from bars ``0..i`` only. Computing them
    once is what makes a strategy called on every bar cheap (backtesting.py's
    ``self.I`` does the same); the price is that the function sees the future,
    so the engine does not take "from bars ``0..i`` only" on trust: it
    recomputes on histories cut at several bars and refuses the run when a
    value changes (:class:`LookAheadError`). The strategy then reads them
    through :meth:`StrategyContext.indicator` and :meth:`StrategyContext.value`,
    which stop at the current bar.
    """

    def indicators(self, symbol: str, history: SymbolHistory) -> Mapping[str, FloatArray]:
        """Arrays over ``history``, one value per bar, each from that bar and earlier."""
        ...


class LookAheadError(AlphagateError):
    """A declared indicator changed when later bars were added: it used the future."""


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
