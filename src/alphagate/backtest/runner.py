"""One backtest: a strategy over a bars frame, through the simulated venue, into a result.

This is the backtest's composition of ring-3 parts (venue, fill and
commission models, portfolio) around the kernel, walked by the historical
driver (:mod:`alphagate.backtest.driver`); paper and live runs compose the
same kernel with other drivers and venues. The result holds frames
that reports and files read, and the metrics every gate judges by
(:func:`alphagate.metrics.performance.compute_metrics`), so a backtest and a gate can
never disagree on a number.

Open trades at the end are *not* closed: they appear with empty exit fields
and are valued at the last close in the equity curve (no exit fee charged).
Closing them would invent a trade the strategy never asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

from alphagate.backtest.driver import BacktestDriver
from alphagate.domain.bars import NAT_NS, symbols_of
from alphagate.domain.guard import OrderGuard
from alphagate.domain.order_state import OrderState
from alphagate.domain.orders import Fill
from alphagate.domain.positions import Trade
from alphagate.domain.strategy import Strategy
from alphagate.engine.kernel import Sizing
from alphagate.execution.commission import CommissionModel, NoCommission
from alphagate.execution.fill_models import FillModel, NextOpenFill
from alphagate.execution.portfolio import Portfolio
from alphagate.execution.venue import SimulatedVenue
from alphagate.metrics.performance import PerformanceMetrics, compute_metrics

TRADE_COLUMNS = (
    "symbol", "side", "qty", "entry_ts", "entry_price", "exit_ts", "exit_price", "pnl", "fees",
)  # fmt: skip
ORDER_COLUMNS = (
    "client_order_id", "symbol", "side", "order_type", "qty", "ts_created", "status",
    "filled_qty", "avg_fill_price", "reason",
)  # fmt: skip
FILL_COLUMNS = ("client_order_id", "trade_id", "symbol", "side", "qty", "price", "ts", "fee")


@dataclass(frozen=True)
class BacktestResult:
    """What one backtest produced.

    Attributes
    ----------
    equity
        Account value at every bar close, indexed by ``ts``.
    trades
        Round trips (:data:`TRADE_COLUMNS`); ``pnl`` is gross of fees, ``fees``
        apart; an open trade has ``NaT``/``NaN`` exit fields.
    orders
        Every order's final state, in the order they were sent.
    metrics
        :func:`~alphagate.metrics.performance.compute_metrics` of the equity, with the
        closed trades' net P&L and the first symbol's close as benchmark.
    fill_records
        Every fill, in the order they happened; :attr:`fills` is their frame.
    """

    strategy: str
    equity: pd.Series
    trades: pd.DataFrame
    orders: pd.DataFrame
    metrics: PerformanceMetrics
    fill_records: tuple[Fill, ...] = field(repr=False)

    @cached_property
    def fills(self) -> pd.DataFrame:
        """The fills as a frame (:data:`FILL_COLUMNS`), built when first read.

        No output file holds them, and a long run has tens of thousands
        (a tenth of a second to tabulate at a million bars), so a run that
        only writes its files never pays for the frame.
        """
        return _fills_frame(self.fill_records)


def run_backtest(
    bars: pd.DataFrame,
    strategy: Strategy,
    *,
    cash: float = 10_000.0,
    fill_model: FillModel | None = None,
    commission: CommissionModel | None = None,
    units: Literal["whole", "fractional"] = "whole",
    sizing: Sizing = "next_open",
    latency_bars: int = 0,
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
        the fill bar's open (see :mod:`alphagate.engine.kernel`).
    latency_bars
        Bars of its symbol an order lets pass before it may fill (0: the next bar).
    calendar
        Exchange calendar used only to infer bars per year for the metrics.
    guard
        Risk controls the kernel consults after each bar and before each order
        (:mod:`alphagate.domain.guard`); none by default.

    Raises
    ------
    ValueError
        For a NaN price, a malformed frame, or fewer than two bars.
    alphagate.domain.strategy.StrategyError
        When the strategy raises or asks for something impossible.
    """
    model = fill_model if fill_model is not None else NextOpenFill()
    fees = commission if commission is not None else NoCommission()
    portfolio = Portfolio(cash)
    venue = SimulatedVenue(model, fees, latency_bars, symbols=symbols_of(bars), starting_cash=cash)
    driver = BacktestDriver(
        bars, strategy, venue, portfolio, commission=fees, units=units, sizing=sizing,
        feed_every_bar=model.history_bars > 0, guard=guard,
    )  # fmt: skip
    record = driver.run()
    # The venue's books and the loop's indicators are not needed for the result;
    # letting them go before the frames and metrics are built lowers the peak.
    del driver, venue
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
    first = str(bars.index[0][0])  # the first row's symbol: the index is sorted by symbol
    # Only the close column is taken apart: cutting the whole frame would copy every column.
    close = bars["close"].xs(first, level="symbol")
    if close.index.equals(equity.index):
        benchmark = close
    else:
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
        metrics=metrics,
        fill_records=tuple(fills),
    )


def _utc_times(stamps: list[int] | list[int | None]) -> pd.DatetimeIndex:
    """UTC times from ns since the epoch (``None`` becomes ``NaT``), boxed in one go.

    Orders, fills and trades keep their times as ints; this is the one place
    they become datetimes, a column at a time, for the frames people and
    files read.
    """
    values = np.array([NAT_NS if t is None else t for t in stamps], dtype=np.int64)
    return pd.to_datetime(values, unit="ns", utc=True)


def _text(values: Sequence[str]) -> pd.api.extensions.ExtensionArray:
    """A string column that keeps its dtype when the run left no rows.

    The order enums (side, type, status) are ``StrEnum`` members, which are
    ``str`` objects holding their values: Arrow reads that text directly, so
    they are passed as they are, without a ``str()`` call each (a third of
    the orders frame's time at a million bars).
    """
    return pd.array(values, dtype="str")


# The frames below are built column by column: a backtest of a million bars
# leaves tens of thousands of orders and fills, and pandas turns a list of row
# dicts into columns several times slower than it takes the columns themselves.


def _trades_frame(trades: list[Trade]) -> pd.DataFrame:
    exits = [t.exit_ts for t in trades]
    columns = {
        "symbol": _text([t.symbol for t in trades]),
        "side": _text([t.side for t in trades]),
        "qty": np.array([t.quantity for t in trades], dtype=np.float64),
        "entry_ts": _utc_times([t.entry_ts for t in trades]),
        "entry_price": np.array([t.entry_price for t in trades], dtype=np.float64),
        "exit_ts": _utc_times(exits),
        "exit_price": np.array(
            [t.exit_price if t.exit_ts is not None else np.nan for t in trades], dtype=np.float64
        ),
        "pnl": np.array([t.pnl for t in trades], dtype=np.float64),
        "fees": np.array([t.fees for t in trades], dtype=np.float64),
    }
    return pd.DataFrame(columns, columns=list(TRADE_COLUMNS))


def _orders_frame(states: Iterable[OrderState]) -> pd.DataFrame:
    states = list(states)
    requests = [s.request for s in states]
    columns = {
        "client_order_id": _text([r.client_order_id for r in requests]),
        "symbol": _text([r.symbol for r in requests]),
        "side": _text([r.side for r in requests]),
        "order_type": _text([r.order_type for r in requests]),
        "qty": np.array([r.quantity for r in requests], dtype=np.float64),
        "ts_created": _utc_times([r.ts_init for r in requests]),
        "status": _text([s.status for s in states]),
        "filled_qty": np.array([s.filled_qty for s in states], dtype=np.float64),
        "avg_fill_price": np.array(
            [np.nan if s.avg_fill_price is None else s.avg_fill_price for s in states],
            dtype=np.float64,
        ),
        "reason": np.array([s.reason for s in states], dtype=object),
    }
    return pd.DataFrame(columns, columns=list(ORDER_COLUMNS))


def _fills_frame(fills: Iterable[Fill]) -> pd.DataFrame:
    fills = list(fills)
    columns = {
        "client_order_id": _text([f.client_order_id for f in fills]),
        "trade_id": _text([f.trade_id for f in fills]),
        "symbol": _text([f.symbol for f in fills]),
        "side": _text([f.side for f in fills]),
        "qty": np.array([f.quantity for f in fills], dtype=np.float64),
        "price": np.array([f.price for f in fills], dtype=np.float64),
        "ts": _utc_times([f.ts_event for f in fills]),
        "fee": np.array([f.fee for f in fills], dtype=np.float64),
    }
    return pd.DataFrame(columns, columns=list(FILL_COLUMNS))
