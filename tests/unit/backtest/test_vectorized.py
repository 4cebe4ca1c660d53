"""run_vectorized and sma_cross_weights give the event engine's results, not approximations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.backtest.runner import run_backtest
from alphagate.backtest.vectorized import _floordiv, run_vectorized
from alphagate.domain.strategy import StrategyContext
from alphagate.execution.commission import BasisPoints, NoCommission
from alphagate.strategies.builtin import SmaCross
from alphagate.strategies.signals import sma_cross_weights
from alphagate.testing import bars_of, stack_bars

RTOL = 1e-9
START = "2024-01-01 00:01"
"""The one-minute test bars close from here on."""


class Replay:
    """Answers at bar t with ``weights[t]``, or nothing when it is NaN."""

    name = "replay"
    warmup = 0

    def __init__(self, weights: np.ndarray) -> None:
        self.weights = weights

    def on_bar(self, context: StrategyContext) -> dict[str, float] | None:
        weight = float(self.weights[len(context.history["AAA"]) - 1])
        return None if math.isnan(weight) else {"AAA": weight}


def _max_rel(a: pd.Series, b: pd.Series) -> float:
    x, y = a.to_numpy(), b.to_numpy()
    return float(np.max(np.abs(x - y) / np.maximum(np.abs(y), 1e-300)))


@pytest.mark.parametrize("bps", [0.0, 10.0])
@pytest.mark.parametrize("units", ["whole", "fractional"])
def test_sma_cross_equals_the_event_engine_on_gspc(
    gspc_bars: pd.DataFrame, bps: float, units: str
) -> None:
    commission = BasisPoints(bps) if bps else NoCommission()
    engine = run_backtest(
        gspc_bars, SmaCross(10, 30), commission=commission, units=units,  # type: ignore[arg-type]
    )  # fmt: skip
    weights = sma_cross_weights(gspc_bars["close"].to_numpy(), 10, 30)
    fast = run_vectorized(gspc_bars, weights, commission_bps=bps, units=units)  # type: ignore[arg-type]
    assert fast.equity.index.equals(engine.equity.index)
    assert _max_rel(fast.equity, engine.equity) < RTOL
    assert fast.trades == len(engine.trades) == 88
    # Positions at the closes: the engine's fills replayed.
    fills = engine.fills.assign(signed=np.where(engine.fills["side"] == "buy", 1.0, -1.0))
    held = (fills["signed"] * fills["qty"]).groupby(fills["ts"]).sum().cumsum()
    expected = held.reindex(engine.equity.index).ffill().fillna(0.0).to_numpy()
    np.testing.assert_allclose(fast.positions, expected, rtol=1e-12, atol=1e-9)


def test_sma_cross_weights_warm_up_and_crossings() -> None:
    close = np.array([5.0, 4.0, 3.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0, 2.0])
    weights = sma_cross_weights(close, 1, 2)
    assert np.isnan(weights[:2]).all()  # a decision needs slow + 1 = 3 closes
    # fast = close, slow = mean of two: up at 4 (2 < 2.5, 3 > 2.5), down at 7 (5 > 4.5, 4 < 4.5).
    expected = [np.nan, np.nan, np.nan, np.nan, 1.0, np.nan, np.nan, 0.0, np.nan, np.nan]
    np.testing.assert_array_equal(weights, expected)


def test_sma_cross_weights_touching_is_not_crossing() -> None:
    # Constant prices: every mean is equal, so no strict comparison ever holds.
    assert np.isnan(sma_cross_weights(np.full(50, 7.3), 3, 5)).all()


@settings(max_examples=30, deadline=None)
@given(
    data=st.data(),
    n=st.integers(2, 60),
    bps=st.sampled_from([0.0, 5.0, 25.0]),
    units=st.sampled_from(["whole", "fractional"]),
    cash=st.sampled_from([1_000.0, 10_000.0, 123_456.78]),
)
def test_random_paths_and_weights_equal_the_event_engine(
    data: st.DataObject, n: int, bps: float, units: str, cash: float
) -> None:
    steps = data.draw(st.lists(st.floats(-0.1, 0.1), min_size=2 * n, max_size=2 * n))
    path = 50.0 * np.exp(np.cumsum(steps))
    open_, close = path[0::2].copy(), path[1::2].copy()
    weight = st.one_of(st.just(math.nan), st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0]))
    weights = np.array(data.draw(st.lists(weight, min_size=n, max_size=n)))
    bars = bars_of(close, opens=open_, start=START, freq="min")
    commission = BasisPoints(bps) if bps else NoCommission()
    engine = run_backtest(
        bars, Replay(weights), cash=cash, commission=commission, units=units,  # type: ignore[arg-type]
        calendar=None,
    )  # fmt: skip
    fast = run_vectorized(bars, weights, cash=cash, commission_bps=bps, units=units)  # type: ignore[arg-type]
    assert _max_rel(fast.equity, engine.equity) < RTOL
    assert fast.trades == len(engine.trades)


def test_a_weights_series_is_accepted_when_it_carries_the_bars_index(
    gspc_bars: pd.DataFrame,
) -> None:
    ts = gspc_bars.index.get_level_values("ts")
    weights = pd.Series(sma_cross_weights(gspc_bars["close"].to_numpy()), index=ts)
    as_array = run_vectorized(gspc_bars, weights.to_numpy())
    as_series = run_vectorized(gspc_bars, weights)
    pd.testing.assert_series_equal(as_array.equity, as_series.equity)
    with pytest.raises(ValueError, match="other than the bars' ts"):
        run_vectorized(gspc_bars, pd.Series(weights.to_numpy(), index=ts + pd.Timedelta("1h")))


def test_more_than_one_symbol_is_refused() -> None:
    prices = np.linspace(10.0, 12.0, 5)
    bars = stack_bars(*(bars_of(prices, symbol=s, start=START, freq="min") for s in ("AAA", "BBB")))
    with pytest.raises(ValueError, match="exactly one symbol, got 2"):
        run_vectorized(bars, np.full(5, np.nan))


def test_a_nan_price_is_refused_naming_column_and_bar() -> None:
    prices = np.linspace(10.0, 12.0, 5)
    bars = bars_of(prices, start=START, freq="min")
    bars.iloc[3, bars.columns.get_loc("close")] = np.nan
    with pytest.raises(ValueError, match=r"NaN close for 'AAA' at 2024-01-01 00:04"):
        run_vectorized(bars, np.full(5, np.nan))


@pytest.mark.parametrize("length", [4, 6])
def test_weights_of_the_wrong_length_are_refused(length: int) -> None:
    prices = np.linspace(10.0, 12.0, 5)
    with pytest.raises(ValueError, match=r"one weight per bar \(5\)"):
        run_vectorized(bars_of(prices, start=START, freq="min"), np.full(length, 1.0))


def test_weights_out_of_range_and_bad_options_are_refused() -> None:
    prices = np.linspace(10.0, 12.0, 5)
    bars = bars_of(prices, start=START, freq="min")
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        run_vectorized(bars, np.array([np.nan, 1.5, np.nan, np.nan, np.nan]))
    with pytest.raises(ValueError, match="units"):
        run_vectorized(bars, np.full(5, np.nan), units="lots")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="commission_bps"):
        run_vectorized(bars, np.full(5, np.nan), commission_bps=-1.0)
    with pytest.raises(ValueError, match="fast < slow"):
        sma_cross_weights(prices, 5, 5)
    with pytest.raises(ValueError, match="finite"):
        sma_cross_weights(np.array([1.0, np.nan, 2.0]), 1, 2)


def test_floordiv_is_cpythons() -> None:
    rng = np.random.default_rng(7)
    xs = [*rng.uniform(0.0, 1e6, 2000), 0.0, 0.3, 1.0, 6.0, 1e300]
    ys = [*rng.uniform(0.01, 1e3, 2000), 0.1, 0.1, 0.1, 3.0, 7.0]
    for x, y in zip(xs, ys, strict=True):
        assert _floordiv(float(x), float(y)) == float(x) // float(y)
