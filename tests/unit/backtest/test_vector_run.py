"""The vectorised path's full result equals the event engine's, frame by frame."""

from __future__ import annotations

import pandas as pd
import pytest

from alphagate.backtest.runner import BacktestResult, run_backtest
from alphagate.backtest.vector_run import run_vector_backtest
from alphagate.domain.strategy import Strategy
from alphagate.execution.commission import BasisPoints, NoCommission
from alphagate.strategies.builtin import BollingerBreakout, BuyAndHold, RsiMeanReversion, SmaCross
from alphagate.testing import bundled_bars


def assert_same_result(fast: BacktestResult, slow: BacktestResult) -> None:
    pd.testing.assert_series_equal(fast.equity, slow.equity, rtol=1e-9, atol=0.0)
    pd.testing.assert_frame_equal(fast.trades, slow.trades, rtol=1e-9)
    columns = ["client_order_id", "symbol", "side", "qty", "ts_created", "status", "filled_qty"]
    pd.testing.assert_frame_equal(fast.orders[columns], slow.orders[columns], rtol=1e-9)
    columns = ["client_order_id", "symbol", "side", "qty", "price", "ts", "fee"]
    pd.testing.assert_frame_equal(fast.fills[columns], slow.fills[columns], rtol=1e-9)
    for name, value in slow.metrics.to_json_dict().items():
        other = fast.metrics.to_json_dict()[name]
        assert other == pytest.approx(value, rel=1e-9, abs=1e-12), name


@pytest.mark.parametrize(
    "strategy",
    [SmaCross(10, 30), RsiMeanReversion(14, 30, 70), BollingerBreakout(20, 2.0, weight=0.5)],
    ids=lambda s: s.name,
)
@pytest.mark.parametrize(("bps", "units"), [(0.0, "whole"), (10.0, "fractional")])
def test_every_signal_strategy_gives_the_event_engines_result(
    gspc_bars: pd.DataFrame, strategy: Strategy, bps: float, units: str
) -> None:
    commission = BasisPoints(bps) if bps else NoCommission()
    slow = run_backtest(gspc_bars, strategy, commission=commission, units=units)  # type: ignore[arg-type]
    fast = run_vector_backtest(gspc_bars, strategy, commission_bps=bps, units=units)  # type: ignore[arg-type]
    assert len(slow.trades) > 10
    assert_same_result(fast, slow)


def test_a_bar_by_bar_strategy_is_refused_with_the_way_out(gspc_bars: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="use --engine event"):
        run_vector_backtest(gspc_bars, BuyAndHold())


def test_more_than_one_symbol_is_refused() -> None:
    bars = bundled_bars(["^GSPC", "^IXIC"])
    with pytest.raises(ValueError, match="runs one symbol, got 2"):
        run_vector_backtest(bars, SmaCross())
