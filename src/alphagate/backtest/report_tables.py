"""The backtest report's tables and how it writes numbers: metrics, trades, amounts, times.

Kept apart from the charts (:mod:`alphagate.backtest.report`) because these
are the report's formatting rules, read and tested on their own: which
metrics are fractions shown as percentages, how many trades the table lists,
and how prices, amounts and quantities are written. The HTML itself (escaping,
the dash for anything undefined) is :mod:`alphagate.html_report`'s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

from alphagate.html_report import Cell, Column, Row, format_number, frame_table, note, table
from alphagate.html_report.numbers import DASH

MAX_TRADE_ROWS: Final = 500
"""Trades listed in the table. Longer lists are cut (with the full count shown)
because a table of tens of thousands of rows makes the page slow to open and
nobody reads it; the complete list belongs in the run's trades file."""

# How each metric of ``PerformanceMetrics`` is shown. Fractions are stored as
# plain numbers (0.12 is 12 %), so the report needs to know which ones to scale.
_PERCENT_METRICS = frozenset(
    {"total_return", "cagr", "annual_volatility", "max_drawdown", "win_rate", "exposure", "alpha"}
)
_RATIO_METRICS = frozenset({"sharpe", "sortino", "calmar", "profit_factor", "beta", "turnover"})
_AMOUNT_METRICS = frozenset({"avg_win", "avg_loss"})
_METRIC_LABELS: Mapping[str, str] = {
    "total_return": "Total return",
    "cagr": "CAGR",
    "annual_volatility": "Annual volatility",
    "sharpe": "Sharpe ratio",
    "sortino": "Sortino ratio",
    "max_drawdown": "Max drawdown",
    "max_drawdown_duration": "Max drawdown duration (bars)",
    "calmar": "Calmar ratio",
    "win_rate": "Win rate",
    "profit_factor": "Profit factor",
    "avg_win": "Average win",
    "avg_loss": "Average loss",
    "exposure": "Exposure",
    "turnover": "Turnover (per year)",
    "trades": "Trades",
    "alpha": "Alpha (annual)",
    "beta": "Beta",
    "periods_per_year": "Periods per year",
}


def format_metric(name: str, value: float | int | None) -> str:
    """One metric as shown: fractions as %, ratios and amounts to 2 dp, counts whole.

    ``None``/``nan`` mean "undefined for this run" (``PerformanceMetrics``
    writes nan, ``to_json_dict`` None) and show the dash; an infinite profit
    factor is real and shows as infinity.
    """
    number = math.nan if value is None else float(value)
    if name in _PERCENT_METRICS:
        return format_number(number * 100.0, "{:,.2f}%")
    if name in _RATIO_METRICS or name in _AMOUNT_METRICS:
        return format_number(number, "{:,.2f}")
    if math.isfinite(number) and number.is_integer():
        return format_number(int(number), "{:,d}")
    return format_number(number, "{:,.4g}")


def format_amount(value: float) -> str:
    """Money to the cent, with thousands separators."""
    return format_number(value, "{:,.2f}")


def format_price(value: float) -> str:
    """A price to the cent, or to six significant digits below 1 (a penny stock, a crypto pair)."""
    if math.isfinite(value) and abs(value) < 1.0:
        return format_number(value, "{:.6g}")
    return format_number(value, "{:,.2f}")


def format_quantity(value: float) -> str:
    """A quantity to eight significant digits: whole shares stay whole, crypto lots keep theirs."""
    return format_number(value, "{:,.8g}")


def format_ts(stamp: pd.Timestamp) -> str:
    """A time to the minute (the report's times are UTC); the dash when there is none."""
    if pd.isna(stamp):
        return DASH
    return str(stamp.strftime("%Y-%m-%d %H:%M"))


def _side(is_long: bool) -> str:
    return "long" if is_long else "short"


def _exit_time(stamp: pd.Timestamp) -> str:
    return "open" if pd.isna(stamp) else format_ts(stamp)


_METRICS_COLUMNS = (Column("Metric", text=True, row_header=True), Column("Value"))


def metrics_table(metrics: Mapping[str, float | int | None]) -> str:
    """Each metric, labelled, with its name in ``data-metric`` for a script to find it."""
    if not metrics:
        return note("No metrics were given.")
    rows = (
        Row(
            [
                Cell(_METRIC_LABELS.get(name, name.replace("_", " ").capitalize())),
                format_metric(name, value),
            ],
            data={"metric": name},
        )
        for name, value in metrics.items()
    )
    return table(_METRICS_COLUMNS, rows, css_class="metrics", header=False)


_TRADE_COLUMNS = (
    Column("#", key="number"),
    Column("Symbol", text=True, key="symbol"),
    Column("Side", text=True, key="long", format=_side),
    Column("Qty", key="qty", format=format_quantity),
    Column("Entry time", key="entry_ts", format=format_ts),
    Column("Entry price", key="entry_price", format=format_price),
    Column("Exit time", key="exit_ts", format=_exit_time),
    Column("Exit price", key="exit_price", format=format_price),
    Column("P&L", key="pnl", format=format_amount),
    Column("Fees", key="fees", format=format_amount),
    Column("Net P&L", key="net", format=format_amount),
)


def trades_table(trades: pd.DataFrame) -> str:
    """The first :data:`MAX_TRADE_ROWS` trades (``checked_trades``' frame), open ones marked."""
    if len(trades) == 0:
        return note("No trades.")
    total = len(trades)
    shown = trades.iloc[:MAX_TRADE_ROWS]
    is_open = shown["exit_ts"].isna().to_numpy(dtype=bool)
    summary = (
        f"Showing the first {len(shown):,} of {total:,} trades"
        if total > len(shown)
        else f"{total:,} trade{'' if total == 1 else 's'}"
    )
    summary += (
        f" ({int(trades['exit_ts'].isna().sum()):,} open). Times in UTC; P&L is gross of fees."
    )
    frame = shown.assign(number=np.arange(1, len(shown) + 1), net=shown["pnl"] - shown["fees"])
    body = frame_table(
        frame,
        _TRADE_COLUMNS,
        row_classes=["open" if flag else "closed" for flag in is_open.tolist()],
        css_class="trades",
        scroll=True,
    )
    return note(summary) + "\n" + body
