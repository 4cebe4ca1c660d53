"""The vectorised path composed into the same result as the event engine's.

:func:`~alphagate.backtest.vectorized.run_vectorized` returns an equity curve
and the units held at each bar; a user who picks ``--engine vector`` still
expects ``trades.csv``, ``orders.csv``, metrics and a report. This module
derives them from the position changes, each of which is one market order
filled at that bar's open (the kernel's semantics), booked through the same
:class:`~alphagate.execution.portfolio.Portfolio` the event engine uses, with
the same client order ids and venue-style trade ids. So a result from either
path has the same shape and, on the configurations both support, the same
values (tested against each other).

What the vectorised path supports, and the error otherwise: one symbol, a
strategy that declares a ``target`` indicator
(:class:`~alphagate.domain.strategy.DeclaresIndicators`; the built-in
``sma_cross``, ``rsi_mean_reversion`` and ``bollinger_breakout``), next-open
fills, basis-point commission, sizing at the next open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

import numpy as np
import pandas as pd

from alphagate.backtest.runner import BacktestResult, result_frames
from alphagate.backtest.vectorized import run_vectorized
from alphagate.domain.bars import symbols_of
from alphagate.domain.ids import client_order_id
from alphagate.domain.order_state import Accepted, Filled, OrderState, Submitted
from alphagate.domain.orders import Fill, Liquidity, OrderRequest, Side
from alphagate.domain.strategy import FloatArray, Strategy, SymbolHistory
from alphagate.execution.commission import BasisPoints
from alphagate.execution.portfolio import Portfolio


def target_signal(strategy: Strategy, bars: pd.DataFrame) -> tuple[str, FloatArray]:
    """The single symbol of ``bars`` and the strategy's ``target`` array over it.

    Raises
    ------
    ValueError
        For more than one symbol, or a strategy without a ``target`` indicator.
    """
    symbols = symbols_of(bars)
    if len(symbols) != 1:
        raise ValueError(
            f"the vectorised engine runs one symbol, got {len(symbols)}: {', '.join(symbols)}; "
            "use --engine event"
        )
    declare: Callable[[str, SymbolHistory], Mapping[str, FloatArray]] | None = getattr(
        strategy, "indicators", None
    )
    if declare is None:
        raise ValueError(
            f"strategy {strategy.name!r} decides bar by bar (no 'target' indicator), "
            "so only the event engine can run it; use --engine event"
        )
    frame = bars.xs(symbols[0], level="symbol")
    history = SymbolHistory(
        pd.DatetimeIndex(frame.index).as_unit("ns").asi8,
        *(frame[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")),
    )
    arrays = declare(symbols[0], history)
    if "target" not in arrays:
        raise ValueError(
            f"strategy {strategy.name!r} declares no 'target' indicator; use --engine event"
        )
    return symbols[0], np.asarray(arrays["target"], dtype=np.float64)


def run_vector_backtest(
    bars: pd.DataFrame,
    strategy: Strategy,
    *,
    cash: float = 10_000.0,
    commission_bps: float = 0.0,
    units: Literal["whole", "fractional"] = "whole",
    calendar: str | None = "XNYS",
) -> BacktestResult:
    """Run ``strategy``'s target signal on the vectorised path; see the module docstring."""
    symbol, target = target_signal(strategy, bars)
    run = run_vectorized(bars, target, cash=cash, commission_bps=commission_bps, units=units)
    frame = bars.xs(symbol, level="symbol")
    opens = frame["open"].to_numpy(np.float64)
    stamps = pd.DatetimeIndex(run.equity.index)
    portfolio = Portfolio(cash)
    fee_model = BasisPoints(commission_bps)
    states: list[OrderState] = []
    fills: list[Fill] = []
    traded = np.zeros(len(stamps))
    held = np.concatenate([[0.0], run.positions])
    steps = np.flatnonzero(np.diff(held) != 0.0)
    # Orders and fills carry ns since the epoch; the result frames box them per column.
    nanos = stamps.as_unit("ns").asi8
    decisions = nanos[steps - 1].tolist()  # a change at step t was decided at t - 1's close
    fills_at = nanos[steps].tolist()
    for number, step in enumerate(steps.tolist(), start=1):
        delta = held[step + 1] - held[step]
        decided = decisions[number - 1]
        request = OrderRequest(
            client_order_id=client_order_id(strategy.name, symbol, decided, "entry"),
            symbol=symbol,
            side=Side.BUY if delta > 0 else Side.SELL,
            quantity=abs(delta),
            ts_init=decided,
        )
        price = opens[step]
        fill = Fill(
            client_order_id=request.client_order_id,
            trade_id=f"sim-{number}-1",
            symbol=symbol,
            side=request.side,
            quantity=request.quantity,
            price=price,
            ts_event=fills_at[number - 1],
            fee=fee_model.fee(request.quantity, price, Liquidity.TAKER),
            reference_price=price,
        )
        portfolio.apply_fill(fill)
        state = OrderState.new(request).apply(Submitted()).apply(Accepted(f"sim-{number}"))
        states.append(state.apply(Filled(fill)))
        fills.append(fill)
        traded[step] += fill.notional
    position_value = run.positions * frame["close"].to_numpy(np.float64)
    return result_frames(
        strategy=strategy.name,
        bars=bars,
        equity=run.equity,
        position_value=position_value,
        traded_notional=traded,
        portfolio=portfolio,
        orders=states,
        fills=fills,
        calendar=calendar,
    )
