"""Built-in strategies decide from history alone, and the registry builds them from text."""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest
import talib

from alphagate.domain.strategy import Strategy, StrategyContext, SymbolHistory
from alphagate.errors import ConfigError
from alphagate.strategies.builtin import (
    STRATEGIES,
    BollingerBreakout,
    BuyAndHold,
    RsiMeanReversion,
    SmaCross,
    make_strategy,
)


def context(
    close: list[float] | np.ndarray, strategy: Strategy, held: float = 0.0
) -> StrategyContext:
    """The context the engine would pass after ``close``; indicators built from it alone."""
    values = np.asarray(close, dtype=np.float64)
    history = SymbolHistory(np.arange(len(values)), values, values, values, values, values)
    positions = {"AAA": held} if held else {}
    declare = getattr(strategy, "indicators", None)
    return StrategyContext(
        ts=pd.Timestamp("2024-01-02 21:00", tz="UTC"),
        history=MappingProxyType({"AAA": history}),
        positions=MappingProxyType(positions),
        cash=1000.0,
        equity=1000.0,
        indicators={"AAA": declare("AAA", history)} if declare else None,
    )


def decide(strategy: Strategy, close: list[float] | np.ndarray, held: float = 0.0) -> object:
    return strategy.on_bar(context(close, strategy, held))


def crossover(a: np.ndarray, b: np.ndarray) -> bool:
    """backtesting.py's definition, restated."""
    return bool(a[-2] < b[-2] and a[-1] > b[-1])


def test_sma_cross_goes_all_in_exactly_when_the_fast_sma_crosses_above_the_slow() -> None:
    rng = np.random.default_rng(7)
    close = 100 + np.cumsum(rng.normal(0, 1, 400))
    strategy = SmaCross(5, 15)
    fast, slow = talib.SMA(close, 5), talib.SMA(close, 15)
    ups = downs = 0
    for n in range(strategy.warmup, len(close) + 1):
        out = decide(strategy, close[:n], held=1.0)
        up, down = crossover(fast[:n], slow[:n]), crossover(slow[:n], fast[:n])
        assert out == ({"AAA": 1.0} if up else {"AAA": 0.0} if down else None)
        ups, downs = ups + up, downs + down
    assert ups > 5 and downs > 5


def test_sma_cross_says_nothing_before_two_slow_values_exist() -> None:
    assert decide(SmaCross(2, 3), [1.0, 2.0, 3.0]) is None
    assert SmaCross(2, 3).warmup == 4


def test_a_cross_down_while_flat_asks_for_nothing() -> None:
    close = [10.0, 10.0, 10.0, 10.0, 1.0]
    assert decide(SmaCross(1, 3), close) is None
    assert decide(SmaCross(1, 3), close, held=2.0) is None  # 10 == 10: no strict cross


def test_buy_and_hold_buys_once_then_holds() -> None:
    assert decide(BuyAndHold(), [1.0]) == {"AAA": 1.0}
    assert decide(BuyAndHold(), [1.0], held=3.0) is None


def test_rsi_mean_reversion_buys_oversold_and_exits_overbought() -> None:
    falling = np.linspace(100, 50, 30)
    rising = np.linspace(50, 100, 30)
    strategy = RsiMeanReversion()
    assert decide(strategy, falling) == {"AAA": 1.0}
    assert decide(strategy, rising, held=1.0) == {"AAA": 0.0}
    assert decide(strategy, falling[:10]) is None  # before the first RSI value


def test_bollinger_breakout_buys_above_the_upper_band_and_exits_below_the_middle() -> None:
    flat = [100.0, 101.0] * 10
    strategy = BollingerBreakout(period=20, k=2)
    assert decide(strategy, [*flat[1:], 110.0]) == {"AAA": 1.0}
    assert decide(strategy, [*flat[1:], 90.0], held=1.0) == {"AAA": 0.0}
    assert decide(strategy, flat) is None


def test_make_strategy_converts_text_parameters_to_their_types() -> None:
    strategy = make_strategy("sma_cross", {"fast": "5", "slow": 20.0})
    assert strategy == SmaCross(5, 20)
    assert make_strategy("rsi_mean_reversion", {"low": "25"}) == RsiMeanReversion(low=25.0)
    assert set(STRATEGIES) == {
        "buy_and_hold",
        "sma_cross",
        "rsi_mean_reversion",
        "bollinger_breakout",
    }


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("sma_crosss", {}, "did you mean 'sma_cross'"),
        ("sma_cross", {"fsat": 5}, "did you mean 'fast'"),
        ("sma_cross", {"fast": "five"}, "fast must be int"),
        ("sma_cross", {"fast": 2.5}, "must be an integer"),
        ("sma_cross", {"fast": 30, "slow": 10}, "slow must be an integer >= 31"),
        ("bollinger_breakout", {"k": -1}, "k must be positive"),
    ],
)
def test_make_strategy_refuses_bad_names_and_parameters_with_a_hint(
    name: str, params: dict[str, str | float], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        make_strategy(name, params)


def test_integer_parameters_from_a_numpy_sweep_are_taken_as_python_ints() -> None:
    # np.arange grids give NumPy integers, which the compiled build would refuse
    # on reading an int field; the strategies store them as plain ints instead.
    for fast in np.arange(5, 8):
        strategy = SmaCross(fast, np.int32(20))  # type: ignore[arg-type]
        assert (strategy.fast, strategy.slow) == (int(fast), 20)
        assert type(strategy.fast) is int and type(strategy.slow) is int
        assert decide(strategy, [1.0] * 30) is None
    assert type(RsiMeanReversion(np.int64(10)).period) is int  # type: ignore[arg-type]
    assert type(BollingerBreakout(np.int16(15)).period) is int  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"fast must be an integer, got 5\.5"):
        SmaCross(5.5)  # type: ignore[arg-type]
