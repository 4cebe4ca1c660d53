"""Built-in strategies, and the registry that builds one from a name and text parameters.

They are baselines and fixtures, not alpha: a buy-and-hold benchmark, the
textbook SMA crossover (whose semantics match backtesting.py's ``crossover``
exactly, so the engine can be checked against that library), an RSI mean
reversion and a Bollinger breakout. All are long-only and answer with target
weights: ``weight`` of equity when in, ``0`` when out, ``None`` when nothing
changes. Each reads only the context's history, so each is point in time.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from alphagate.domain.strategy import FloatArray, Strategy, StrategyContext, SymbolHistory
from alphagate.errors import ConfigError
from alphagate.strategies.parameters import ParameterValue, constructor_arguments, did_you_mean
from alphagate.strategies.signals import bollinger_weights, rsi_weights, sma_cross_weights


def _whole_numbers(strategy: object, *names: str) -> None:
    """Store each of ``names`` as a Python ``int``, accepting any integer (a sweep's ``np.int64``).

    A period is an index and a window length: ``operator.index`` takes any
    integer (NumPy's included) and refuses a float, so ``fast=5.5`` fails
    here, naming the parameter, rather than deep inside an indicator.
    """
    owner = getattr(strategy, "name", type(strategy).__name__)
    for name in names:
        value = getattr(strategy, name)
        try:
            number = operator.index(value)
        except TypeError:
            raise ValueError(f"{owner}: {name} must be an integer, got {value!r}") from None
        object.__setattr__(strategy, name, number)


def _check_period(owner: str, name: str, value: int, least: int = 1) -> None:
    if value < least:
        raise ValueError(f"{owner}: {name} must be an integer >= {least}, got {value}")


def _check_weight(owner: str, weight: float) -> None:
    if not (math.isfinite(weight) and 0.0 < weight <= 1.0):
        raise ValueError(f"{owner}: weight must be in (0, 1], got {weight}")


def _follow_targets(context: StrategyContext) -> dict[str, float] | None:
    """Act on each updated symbol's ``target`` indicator: weight in, ``0`` out, ``NaN`` nothing.

    A ``0`` while flat is dropped: there is nothing to close, and answering
    ``None`` when nothing changes keeps the engine's per-bar path empty.
    """
    out: dict[str, float] | None = None
    for symbol in context.updated:
        target = context.value(symbol, "target")
        if math.isnan(target) or (target == 0.0 and context.position(symbol) == 0.0):
            continue
        if out is None:
            out = {}
        out[symbol] = target
    return out


@dataclass(frozen=True, slots=True)
class BuyAndHold:
    """Put ``weight`` of equity, split equally, in every symbol at the first bar; then hold."""

    weight: float = 1.0
    name: str = field(default="buy_and_hold", init=False)

    def __post_init__(self) -> None:
        _check_weight(self.name, self.weight)

    @property
    def warmup(self) -> int:
        """No history needed."""
        return 0

    def on_bar(self, context: StrategyContext) -> dict[str, float] | None:
        """Ask for the equal split while nothing is held, then nothing."""
        if context.positions or not context.history:
            return None
        share = self.weight / len(context.history)
        return dict.fromkeys(context.history, share)


@dataclass(frozen=True, slots=True)
class SmaCross:
    """All in when the fast SMA crosses above the slow one, flat when it crosses below.

    A cross is backtesting.py's ``crossover``: ``fast[-2] < slow[-2] and
    fast[-1] > slow[-1]``, strict on both bars, so touching is not crossing.
    It needs two values of the slow SMA, hence ``warmup = slow + 1``.
    """

    fast: int = 10
    slow: int = 30
    weight: float = 1.0
    name: str = field(default="sma_cross", init=False)

    def __post_init__(self) -> None:
        _whole_numbers(self, "fast", "slow")
        _check_period(self.name, "fast", self.fast)
        _check_period(self.name, "slow", self.slow, self.fast + 1)
        _check_weight(self.name, self.weight)

    @property
    def warmup(self) -> int:
        """``slow + 1`` bars: two values of the slow SMA."""
        return self.slow + 1

    def indicators(self, symbol: str, history: SymbolHistory) -> dict[str, FloatArray]:
        """``target``: :func:`~alphagate.strategies.signals.sma_cross_weights` of the closes."""
        return {
            "target": sma_cross_weights(history.close, self.fast, self.slow, weight=self.weight)
        }

    def on_bar(self, context: StrategyContext) -> dict[str, float] | None:
        """Target ``weight`` on a cross up, ``0`` on a cross down."""
        return _follow_targets(context)


@dataclass(frozen=True, slots=True)
class RsiMeanReversion:
    """In when RSI (TA-Lib, Wilder) falls below ``low``, out when it rises above ``high``."""

    period: int = 14
    low: float = 30.0
    high: float = 70.0
    weight: float = 1.0
    name: str = field(default="rsi_mean_reversion", init=False)

    def __post_init__(self) -> None:
        _whole_numbers(self, "period")
        _check_period(self.name, "period", self.period, 2)
        if not 0.0 <= self.low < self.high <= 100.0:
            raise ValueError(
                f"{self.name}: need 0 <= low < high <= 100, got {self.low}, {self.high}"
            )
        _check_weight(self.name, self.weight)

    @property
    def warmup(self) -> int:
        """``period + 1`` closes: the first RSI value."""
        return self.period + 1

    def indicators(self, symbol: str, history: SymbolHistory) -> dict[str, FloatArray]:
        """``target``: :func:`~alphagate.strategies.signals.rsi_weights` of the closes."""
        target = rsi_weights(history.close, self.period, self.low, self.high, weight=self.weight)
        return {"target": target}

    def on_bar(self, context: StrategyContext) -> dict[str, float] | None:
        """Target ``weight`` when oversold, ``0`` when overbought."""
        return _follow_targets(context)


@dataclass(frozen=True, slots=True)
class BollingerBreakout:
    """In when the close breaks above SMA + k std, out when it falls below the SMA."""

    period: int = 20
    k: float = 2.0
    weight: float = 1.0
    name: str = field(default="bollinger_breakout", init=False)

    def __post_init__(self) -> None:
        _whole_numbers(self, "period")
        _check_period(self.name, "period", self.period, 2)
        if not (math.isfinite(self.k) and self.k > 0):
            raise ValueError(f"{self.name}: k must be positive, got {self.k}")
        _check_weight(self.name, self.weight)

    @property
    def warmup(self) -> int:
        """``period`` closes: the first band."""
        return self.period

    def indicators(self, symbol: str, history: SymbolHistory) -> dict[str, FloatArray]:
        """``target``: :func:`~alphagate.strategies.signals.bollinger_weights` of the closes."""
        target = bollinger_weights(history.close, self.period, self.k, weight=self.weight)
        return {"target": target}

    def on_bar(self, context: StrategyContext) -> dict[str, float] | None:
        """Target ``weight`` above the upper band, ``0`` below the middle."""
        return _follow_targets(context)


STRATEGIES: Final[Mapping[str, type[Strategy]]] = {
    "buy_and_hold": BuyAndHold,
    "sma_cross": SmaCross,
    "rsi_mean_reversion": RsiMeanReversion,
    "bollinger_breakout": BollingerBreakout,
}
"""Built-in strategies by name."""


BUILTIN_HINT: Final = (
    "a class of your own is named as package.module:ClassName or path/to/file.py:ClassName"
)
"""How to name a strategy that is not built in, for messages that list the built-ins."""


def make_strategy(name: str, params: Mapping[str, ParameterValue] | None = None) -> Strategy:
    """Build a built-in strategy from its name and parameters given as text or numbers.

    Text values (from a CLI or a config file) are converted to the type the
    parameter has, so ``{"fast": "5"}`` works as ``{"fast": 5}`` (see
    :func:`~alphagate.strategies.parameters.constructor_arguments`).

    Raises
    ------
    ConfigError
        For an unknown strategy or parameter (with the nearest valid name), a
        value of the wrong type, or a value the strategy refuses.
    """
    cls = STRATEGIES.get(name)
    if cls is None:
        raise ConfigError(
            f"unknown strategy {name!r}{did_you_mean(name, STRATEGIES)} "
            f"(built-in: {', '.join(sorted(STRATEGIES))}; {BUILTIN_HINT})"
        )
    kwargs = constructor_arguments(name, cls, params or {})
    try:
        strategy: Strategy = cls(**kwargs)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return strategy
