"""run_backtest and write_outputs on a hand-computed four-bar run."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from alphagate.backtest.outputs import INCOMPLETE_MARKER, write_outputs
from alphagate.backtest.runner import FILL_COLUMNS, TRADE_COLUMNS, BacktestResult, run_backtest
from alphagate.domain.orders import OrderStatus, OrderType, Side
from alphagate.domain.strategy import StrategyContext, StrategyError
from alphagate.execution.commission import BasisPoints
from alphagate.strategies.builtin import BuyAndHold
from alphagate.testing import bars_of

TS = pd.date_range("2024-01-02 21:00", periods=4, freq="D", tz="UTC")


@pytest.fixture
def bars() -> pd.DataFrame:
    """AAA opens 10, 11, 12, 13 and closes 10.5, 11.5, 12.5, 12 inside a 5..20 range."""
    return bars_of(
        [10.5, 11.5, 12.5, 12.0], opens=[10.0, 11.0, 12.0, 13.0], highs=20.0, lows=5.0, stamps=TS
    )


class RoundTrip:
    """In at bar 1, out at bar 2, in again at bar 3 (left open)."""

    name = "round_trip"
    warmup = 0

    def on_bar(self, context: StrategyContext) -> dict[str, float]:
        return {"AAA": [1.0, 0.0, 1.0, 1.0][len(context.history["AAA"]) - 1]}


def test_buy_and_hold_with_commission_matches_the_hand_computed_equity(
    bars: pd.DataFrame,
) -> None:
    result = run_backtest(
        bars, BuyAndHold(), cash=1000.0, commission=BasisPoints(100), sizing="next_open"
    )
    # Unit cost 11 * 1.01 = 11.11: 1000 // 11.11 = 90 shares; fee 9.90; cash 0.10.
    fee = 90 * 11.0 * 0.01
    cash = 1000.0 - 990.0 - fee
    expected = [1000.0, cash + 90 * 11.5, cash + 90 * 12.5, cash + 90 * 12.0]
    assert result.equity.tolist() == pytest.approx(expected, rel=1e-12)
    assert list(result.equity.index) == list(TS)
    trade = result.trades.iloc[0]
    assert (trade["qty"], trade["entry_price"], trade["entry_ts"]) == (90.0, 11.0, TS[1])
    assert pd.isna(trade["exit_ts"]) and math.isnan(trade["exit_price"])
    assert trade["fees"] == pytest.approx(fee)
    assert result.metrics.trades == 0  # the open trade is not a closed one
    assert result.metrics.total_return == pytest.approx(expected[-1] / 1000.0 - 1)


def test_a_round_trip_appears_as_a_closed_trade_and_an_open_one(bars: pd.DataFrame) -> None:
    result = run_backtest(bars, RoundTrip(), cash=1000.0, sizing="next_open")
    assert list(result.trades.columns) == list(TRADE_COLUMNS)
    closed, still_open = result.trades.iloc[0], result.trades.iloc[1]
    # 90 bought at 11 (bar 2), sold at 12 (bar 3); then 1090 // 13 = 83 bought at bar 4.
    assert (closed["qty"], closed["exit_price"], closed["exit_ts"]) == (90.0, 12.0, TS[2])
    assert closed["pnl"] == 90.0
    assert still_open["qty"] == 83.0 and pd.isna(still_open["exit_ts"])
    assert result.metrics.trades == 1 and result.metrics.win_rate == 1.0
    assert list(result.orders["status"]) == ["filled", "filled", "filled"]
    assert len(result.fills) == 3


def test_enum_columns_hold_the_members_values_as_plain_text(bars: pd.DataFrame) -> None:
    # The enums reach the frames without a str() call each; what is stored must
    # still be their values as plain str, never the members or their reprs.
    result = run_backtest(bars, RoundTrip(), cash=1000.0, sizing="next_open")
    expected = {
        ("orders", "side"): [Side.BUY.value, Side.SELL.value, Side.BUY.value],
        ("orders", "order_type"): [OrderType.MARKET.value] * 3,
        ("orders", "status"): [OrderStatus.FILLED.value] * 3,
        ("trades", "side"): [Side.BUY.value] * 2,
        ("fills", "side"): [Side.BUY.value, Side.SELL.value, Side.BUY.value],
    }
    for (frame, column), values in expected.items():
        stored = getattr(result, frame)[column].tolist()
        assert stored == values and {type(v) for v in stored} == {str}, (frame, column)


def test_the_fills_frame_is_built_only_when_read_and_holds_every_fill(
    bars: pd.DataFrame, tmp_path: Path
) -> None:
    result = run_backtest(bars, RoundTrip(), cash=1000.0, sizing="next_open")
    write_outputs(result, tmp_path / "run")
    assert "fills" not in vars(result)  # no file needs it: writing the outputs left it unbuilt
    fills = result.fills
    assert list(fills.columns) == list(FILL_COLUMNS)
    assert list(fills["client_order_id"]) == [f.client_order_id for f in result.fill_records]
    assert list(fills["price"]) == [f.price for f in result.fill_records] == [11.0, 12.0, 13.0]
    assert list(fills["side"]) == ["buy", "sell", "buy"]
    assert result.fills is fills  # built once


def test_outputs_are_written_with_metrics_last(bars: pd.DataFrame, tmp_path: Path) -> None:
    result = run_backtest(bars, BuyAndHold(), cash=1000.0)
    out = write_outputs(result, tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == [
        "equity.csv",
        "metrics.json",
        "orders.csv",
        "trades.csv",
    ]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["strategy"] == "buy_and_hold"
    assert metrics["total_return"] == pytest.approx(result.metrics.total_return)
    equity = pd.read_csv(out / "equity.csv")
    assert list(equity.columns) == ["ts", "equity"] and len(equity) == 4
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging left behind


def test_a_failed_equity_write_also_leaves_the_run_incomplete(
    bars: pd.DataFrame, tmp_path: Path
) -> None:
    class UnreadableCurve:
        @property
        def index(self) -> pd.Index:
            raise OSError("disk full while writing the curve")

    result = run_backtest(bars, BuyAndHold(), cash=1000.0)
    broken = dataclasses.replace(result, equity=UnreadableCurve())  # type: ignore[arg-type]
    with pytest.raises(OSError, match="while writing the curve"):
        write_outputs(broken, tmp_path / "run")
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert INCOMPLETE_MARKER in names and "metrics.json" not in names
    assert {"trades.csv", "orders.csv"} <= names  # the files written before it are kept


def test_a_failing_strategy_surfaces_as_a_strategy_error(bars: pd.DataFrame) -> None:
    class Failing:
        name = "failing"
        warmup = 0

        def on_bar(self, context: StrategyContext) -> None:
            raise KeyError("close")

    with pytest.raises(StrategyError, match="'failing' failed at bar 2024-01-02T21:00"):
        run_backtest(bars, Failing())


def test_a_result_is_frozen(bars: pd.DataFrame) -> None:
    result: BacktestResult = run_backtest(bars, BuyAndHold())
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.strategy = "other"  # type: ignore[misc]


class NeverTrades:
    name = "never"
    warmup = 0

    def on_bar(self, context: StrategyContext) -> None:
        return None


def test_a_run_without_orders_gives_empty_frames_with_the_same_column_types(
    bars: pd.DataFrame,
) -> None:
    traded = run_backtest(bars, RoundTrip(), cash=1000.0)
    idle = run_backtest(bars, NeverTrades(), cash=1000.0)
    for name in ("trades", "orders", "fills"):
        full, empty = getattr(traded, name), getattr(idle, name)
        assert len(full) > 0 and len(empty) == 0
        assert empty.dtypes.to_dict() == full.dtypes.to_dict(), name
    # An open trade's missing exit is a NaT of the same unit as the entries.
    assert traded.trades["exit_ts"].dtype == traded.trades["entry_ts"].dtype
