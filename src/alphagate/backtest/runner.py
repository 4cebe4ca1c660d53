"""One backtest: a strategy over a bars frame, through the simulated venue, into a result.

This is the backtest's composition of ring-3 parts (venue, fill and
commission models, portfolio) around the ring-4 event loop; paper and live
runs will compose the same loop with other venues. The result holds frames
that reports and files read, and the metrics every gate judges by
(:func:`alphagate.metrics.compute_metrics`), so a backtest and a gate can
never disagree on a number.

Open trades at the end are *not* closed: they appear with empty exit fields
and are valued at the last close in the equity curve (no exit fee charged).
Closing them would invent a trade the strategy never asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from alphagate.domain.bars import symbols_of
from alphagate.domain.order_state import OrderState
from alphagate.domain.orders import Fill
from alphagate.domain.positions import Trade
from alphagate.engine.guard import OrderGuard
from alphagate.engine.loop import EventLoop, Sizing
from alphagate.engine.strategy import Strategy
from alphagate.execution.commission import CommissionModel, NoCommission
from alphagate.execution.fill_models import FillModel, NextOpenFill
from alphagate.execution.portfolio import Portfolio
from alphagate.execution.venue import SimulatedVenue
from alphagate.metrics import PerformanceMetrics, compute_metrics

TRADE_COLUMNS = (
    "symbol", "side", "qty", "entry_ts", "entry_price", "exit_ts", "exit_price", "pnl", "fees",
)  # fmt: skip
ORDER_COLUMNS = (
    "client_order_id", "symbol", "side", "order_type", "qty", "ts_created", "status",
    "filled_qty", "avg_fill_price", "reason",
)  # fmt: skip
FILL_COLUMNS = ("client_order_id", "trade_id", "symbol", "side", "qty", "price", "ts", "fee")


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """What one backtest produced.

    Attributes
    ----------
    equity
        Account value at every bar close, indexed by ``ts``.
    trades
        Round trips (:data:`TRADE_COLUMNS`); ``pnl`` is gross of fees, ``fees``
        apart; an open trade has ``NaT``/``NaN`` exit fields.
    orders, fills
        Every order's final state, and every fill, in the order they happened.
    metrics
        :func:`~alphagate.metrics.compute_metrics` of the equity, with the
        closed trades' net P&L and the first symbol's close as benchmark.
    """

    strategy: str
    equity: pd.Series
    trades: pd.DataFrame
    orders: pd.DataFrame
    fills: pd.DataFrame
    metrics: PerformanceMetrics


def run_backtest(
    bars: pd.DataFrame,
    strategy: Strategy,
    *,
    cash: float = 10_000.0,
    fill_model: FillModel | None = None,
    commission: CommissionModel | None = None,
    units: Literal["whole", "fractional"] = "whole",
    sizing: Sizing = "next_open",
    calendar: str | None = "XNYS",
    guard: OrderGuard | None = None,
) -> BacktestResult:
    """Run ``strategy`` over ``bars`` (a canonical bars frame) and collect the result.

    Parameters
    ----------
    fill_model
        :class:`~alphagate.execution.fill_models.NextOpenFill` when ``None``.
    commission
        Free when ``None``; pass e.g. ``BasisPoints(10)`` for 0.1 % of notional.
    sizing
        When target weights become quantities: at the decision's close or at
        the fill bar's open (see :mod:`alphagate.engine.loop`).
    calendar
        Exchange calendar used only to infer bars per year for the metrics.
    guard
        Risk controls the loop consults after each bar and before each order
        (:mod:`alphagate.engine.guard`); none by default.

    Raises
    ------
    ValueError
        For a NaN price, a malformed frame, or fewer than two bars.
    alphagate.engine.strategy.StrategyError
        When the strategy raises or asks for something impossible.
    """
    model = fill_model if fill_model is not None else NextOpenFill()
    fees = commission if commission is not None else NoCommission()
    portfolio = Portfolio(cash)
    venue = SimulatedVenue(model, fees, symbols=symbols_of(bars))
    loop = EventLoop(
        bars, strategy, venue, portfolio, commission=fees, units=units, sizing=sizing,
        feed_every_bar=model.history_bars > 0, guard=guard,
    )  # fmt: skip
    record = loop.run()
    if len(record.ts) < 2:
        raise ValueError(f"a backtest needs at least two bars, got {len(record.ts)}")
    return result_frames(
        strategy=strategy.name,
        bars=bars,
        equity=pd.Series(record.equity, index=record.ts, name="equity"),
        position_value=record.position_value,
        traded_notional=record.traded_notional,
        portfolio=portfolio,
        orders=record.orders.values(),
        fills=record.fills,
        calendar=calendar,
    )


def result_frames(
    *,
    strategy: str,
    bars: pd.DataFrame,
    equity: pd.Series,
    position_value: np.ndarray,
    traded_notional: np.ndarray,
    portfolio: Portfolio,
    orders: Iterable[OrderState],
    fills: Iterable[Fill],
    calendar: str | None,
) -> BacktestResult:
    """Assemble a :class:`BacktestResult` from what a run left behind, whichever path ran it.

    One assembly for the event engine and the vectorised path, so their
    results have the same columns, the same trade booking and the same metrics.
    """
    first = symbols_of(bars)[0]
    close = bars.xs(first, level="symbol")["close"]
    # A multi-symbol run may have steps where the first symbol has no bar: carry
    # its last close, the price a holder of it would have seen.
    benchmark = close.reindex(equity.index).ffill().bfill()
    metrics = compute_metrics(
        equity,
        trade_pnl=[t.net_pnl for t in portfolio.closed_trades()],
        position_value=pd.Series(position_value, index=equity.index),
        traded_notional=pd.Series(traded_notional, index=equity.index),
        benchmark=benchmark,
        calendar=calendar,
    )
    trades = [*portfolio.closed_trades(), *portfolio.open_trades()]
    return BacktestResult(
        strategy=strategy,
        equity=equity,
        trades=_trades_frame(trades),
        orders=_orders_frame(orders),
        fills=_fills_frame(fills),
        metrics=metrics,
    )


def _trades_frame(trades: list[Trade]) -> pd.DataFrame:
    rows = [
        {
            "symbol": t.symbol,
            "side": str(t.side),
            "qty": t.quantity,
            "entry_ts": t.entry_ts,
            "entry_price": t.entry_price,
            "exit_ts": t.exit_ts if t.exit_ts is not None else pd.NaT,
            "exit_price": t.exit_price if t.exit_ts is not None else np.nan,
            "pnl": t.pnl,
            "fees": t.fees,
        }
        for t in trades
    ]
    frame = pd.DataFrame(rows, columns=list(TRADE_COLUMNS))
    for column in ("entry_ts", "exit_ts"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _orders_frame(states: Iterable[OrderState]) -> pd.DataFrame:
    rows = [
        {
            "client_order_id": s.request.client_order_id,
            "symbol": s.request.symbol,
            "side": str(s.request.side),
            "order_type": str(s.request.order_type),
            "qty": s.request.quantity,
            "ts_created": s.request.ts_created,
            "status": str(s.status),
            "filled_qty": s.filled_qty,
            "avg_fill_price": s.avg_fill_price,
            "reason": s.reason,
        }
        for s in states
    ]
    return pd.DataFrame(rows, columns=list(ORDER_COLUMNS))


def _fills_frame(fills: Iterable[Fill]) -> pd.DataFrame:
    rows = [
        (f.client_order_id, f.trade_id, f.symbol, str(f.side), f.quantity, f.price, f.ts, f.fee)
        for f in fills
    ]
    return pd.DataFrame(rows, columns=list(FILL_COLUMNS))
