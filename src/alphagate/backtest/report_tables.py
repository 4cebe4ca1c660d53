"""The backtest report's tables and how it writes numbers: metrics, trades, amounts, times.

Kept apart from the charts (:mod:`alphagate.backtest.report`) because these
are plain HTML and formatting rules, read and tested on their own: which
metrics are fractions shown as percentages, how many trades the table lists,
and the dash shown for anything undefined.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

MAX_TRADE_ROWS: Final = 500
"""Trades listed in the table. Longer lists are cut (with the full count shown)
because a table of tens of thousands of rows makes the page slow to open and
nobody reads it; the complete list belongs in the run's trades file."""

_DASH = "\u2014"  # shown for a metric or value that is missing or undefined

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


def metrics_table(metrics: Mapping[str, float | int | None]) -> str:
    if not metrics:
        return '<p class="note">No metrics were given.</p>'
    rows = []
    for name, value in metrics.items():
        label = _METRIC_LABELS.get(name, name.replace("_", " ").capitalize())
        rows.append(
            f'<tr data-metric="{html.escape(name)}"><td class="label">{html.escape(label)}</td>'
            f"<td>{format_metric(name, value)}</td></tr>"
        )
    return '<table class="metrics">\n' + "\n".join(rows) + "\n</table>"


def trades_table(trades: pd.DataFrame) -> str:
    if len(trades) == 0:
        return '<p class="note">No trades.</p>'
    total = len(trades)
    open_count = int(trades["exit_ts"].isna().sum())
    shown = trades.iloc[:MAX_TRADE_ROWS]
    summary = (
        f"Showing the first {len(shown):,} of {total:,} trades"
        if total > len(shown)
        else f"{total:,} trade{'' if total == 1 else 's'}"
    )
    summary += f" ({open_count:,} open). Times in UTC; P&amp;L is gross of fees."
    header = (
        '<tr><th>#</th><th class="text">Symbol</th><th class="text">Side</th><th>Qty</th>'
        "<th>Entry time</th><th>Entry price</th><th>Exit time</th><th>Exit price</th>"
        "<th>P&amp;L</th><th>Fees</th><th>Net P&amp;L</th></tr>"
    )
    # Formatted a column at a time: the times in one NumPy call each, the
    # numbers by ``map``, rather than a ``strftime`` and an attribute lookup
    # per cell.
    columns = zip(
        map(html.escape, shown["symbol"].tolist()),
        shown["long"].tolist(),
        map(format_quantity, shown["qty"].tolist()),
        format_times(shown["entry_ts"]),
        map(format_price, shown["entry_price"].tolist()),
        shown["exit_ts"].isna().tolist(),
        format_times(shown["exit_ts"]),
        map(format_price, shown["exit_price"].tolist()),
        map(format_amount, shown["pnl"].tolist()),
        map(format_amount, shown["fees"].tolist()),
        map(format_amount, (shown["pnl"] - shown["fees"]).tolist()),
        strict=True,
    )
    rows = [
        f'<tr class="{"open" if is_open else "closed"}">'
        f"<td>{number}</td>"
        f'<td class="text">{symbol}</td>'
        f'<td class="text">{"long" if is_long else "short"}</td>'
        f"<td>{qty}</td>"
        f"<td>{entry_ts}</td>"
        f"<td>{entry_price}</td>"
        f"<td>{'open' if is_open else exit_ts}</td>"
        f"<td>{exit_price}</td>"
        f"<td>{pnl}</td>"
        f"<td>{fees}</td>"
        f"<td>{net}</td>"
        "</tr>"
        for number, (
            symbol,
            is_long,
            qty,
            entry_ts,
            entry_price,
            is_open,
            exit_ts,
            exit_price,
            pnl,
            fees,
            net,
        ) in enumerate(columns, start=1)
    ]
    return (
        f'<p class="note">{summary}</p>\n<div class="table-scroll"><table class="trades">\n'
        + header
        + "\n"
        + "\n".join(rows)
        + "\n</table></div>"
    )


def format_metric(name: str, value: float | int | None) -> str:
    """One metric as shown: fractions as %, ratios and amounts to 2 dp, counts whole."""
    number = math.nan if value is None else float(value)
    if not math.isfinite(number):
        # ``None``/``nan`` mean "undefined for this run" (PerformanceMetrics
        # writes nan, to_json_dict None); an infinite profit factor is real.
        return _DASH if math.isnan(number) else ("&infin;" if number > 0 else "&minus;&infin;")
    if name in _PERCENT_METRICS:
        text = f"{number * 100.0:,.2f}%"
    elif name in _RATIO_METRICS or name in _AMOUNT_METRICS:
        text = f"{number:,.2f}"
    elif number.is_integer():
        text = f"{int(number):,d}"
    else:
        text = f"{number:,.4g}"
    return text


AMOUNT_FORMAT: Final = "{:,.2f}"
"""How :func:`format_amount` writes a finite amount (for formatting many by ``map``)."""
QUANTITY_FORMAT: Final = "{:,.8g}"
"""How :func:`format_quantity` writes a finite quantity."""


def format_amount(value: float) -> str:
    return _DASH if not math.isfinite(value) else AMOUNT_FORMAT.format(value)


def format_price(value: float) -> str:
    if not math.isfinite(value):
        return _DASH
    return f"{value:,.2f}" if abs(value) >= 1.0 else f"{value:.6g}"


def format_quantity(value: float) -> str:
    return _DASH if not math.isfinite(value) else QUANTITY_FORMAT.format(value)


def format_ts(stamp: pd.Timestamp) -> str:
    if pd.isna(stamp):
        return _DASH
    return str(stamp.strftime("%Y-%m-%d %H:%M"))


def format_times(stamps: pd.Series) -> list[str]:
    """:func:`format_ts` of each stamp (a column of times), in one NumPy call.

    ``datetime_as_string`` to the minute writes the same text with a ``T``
    for the space, and truncates to the minute as ``strftime`` does (before
    1970 too). It pads a year to four digits where ``strftime`` does not, so
    a column with a year before 1000 (or after 9999) is formatted a stamp at
    a time.
    """
    times = pd.DatetimeIndex(stamps)
    wall = (times.tz_localize(None) if times.tz is not None else times).to_numpy()
    minutes = wall.astype("datetime64[m]")
    years = minutes[~np.isnat(minutes)].astype("datetime64[Y]").astype(np.int64) + 1970
    if years.size and not (years.min() >= 1000 and years.max() <= 9999):
        return [format_ts(stamp) for stamp in times]
    text = np.char.replace(np.datetime_as_string(minutes, unit="m"), "T", " ")
    text[np.isnat(minutes)] = _DASH
    return [str(value) for value in text.tolist()]
