"""The backtest report: one self-contained HTML file a person can open anywhere.

A report is read long after the run, often on another machine, attached to a
review or archived next to a promoted model, and sometimes offline. So it is a
single file that needs nothing else: Plotly's JavaScript bundle is inlined
once (about 4.8 MB) and every chart after the first reuses it; styles are
inline and use the system's fonts. The page loads no script, stylesheet, font
or image from the network. (The inlined bundle itself contains a few
``https://cdn…`` string literals, defaults of Plotly's geo and map traces,
which this report never draws, so they are never fetched.)

Sections, in order: headline metrics, equity against a benchmark, drawdown,
monthly returns, trades marked on price, and the trades table. Every section
is always present, with a short note when its input is missing or empty, so a
reader (and a test) finds the same structure in every report.

Every string that comes from the caller (the title, symbols, metric names) is
passed through :func:`html.escape` before it reaches the page, so a symbol or
title with ``<`` in it is shown as written and never read as markup. Such
strings are kept out of the charts themselves (a symbol heads its chart as an
HTML heading, not a Plotly title), because Plotly interprets some HTML-like
tags in its labels.

Long runs are drawn reduced, so that a report of a million bars opens as fast
as one of a thousand and stays a few MB. Every line (equity, benchmark,
drawdown, each close) with more than ``max_points`` points is cut into equal
buckets of consecutive bars and only each bucket's first, lowest, highest and
last point are drawn, in time order (plus its first missing value, so a gap
stays a gap): peaks, troughs, the deepest drawdown and both ends appear at
their exact values and times, and only wiggles narrower than a bucket, which
the screen could not show anyway, are lost. A line with at most
``max_points`` points is drawn untouched. Nothing shown as a number is taken
from a reduced line: the metrics are the caller's (computed from the full
run) and the monthly returns are computed from the full equity. A symbol with
more than ``max_trade_markers`` trades gets markers for that many of them (open
trades, the largest by absolute P&L, and the rest spread evenly in trade
order), and its caption says how many of how many are marked.

The output is deterministic: chart ``div`` ids are fixed rather than Plotly's
random UUIDs and no clock is read, so the same inputs give the same bytes and
two reports can be compared with ``diff`` or a hash. The file is written to a
temporary name beside the target and renamed over it, so a reader (or a crash)
sees the old report or the new one, never half of one.
"""

from __future__ import annotations

import html
import math
import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

__all__ = [
    "MAX_PLOT_POINTS",
    "MAX_TRADE_MARKERS",
    "MAX_TRADE_ROWS",
    "TRADE_COLUMNS",
    "monthly_returns",
    "render_report",
]

MAX_PLOT_POINTS = 4_000
"""Points drawn per line by default. A chart is about 1,000 pixels wide, so
4,000 points (up to four per bucket: first, lowest, highest, last) keep every
visible peak and trough, while a line of a million bars would make the page
weigh a hundred MB and take seconds to draw."""

MAX_TRADE_MARKERS = 2_000
"""Trades marked on one symbol's price chart by default (each has an entry and
possibly an exit marker). Past that, markers cover one another and only slow
the page; see :func:`render_report` for which trades are marked."""

MAX_TRADE_ROWS = 500
"""Trades listed in the table. Longer lists are cut (with the full count shown)
because a table of tens of thousands of rows makes the page slow to open and
nobody reads it; the complete list belongs in the run's trades file."""

TRADE_COLUMNS = (
    "symbol",
    "side",
    "qty",
    "entry_ts",
    "entry_price",
    "exit_ts",
    "exit_price",
    "pnl",
    "fees",
)
"""Columns a non-empty trades frame must have (others are ignored)."""

_MONTH_NAMES = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
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

_LONG_SIDES = frozenset({"buy", "long"})
_SHORT_SIDES = frozenset({"sell", "short"})
_GREEN = "#1a9850"
_RED = "#d73027"
_EXIT_COLOUR = "#2b2b2b"
_STRATEGY_COLOUR = "#2c5fa8"
_BENCHMARK_COLOUR = "#8c8c8c"
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}

_Embed = Callable[[go.Figure, str, int], str]
"""``render_report``'s callback that turns a figure into an HTML fragment."""

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       margin: 0 auto; max-width: 1200px; padding: 1.5rem; color: #1f2933; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #d9dee3; padding-bottom: 0.3rem;
     margin-top: 2rem; }
h3 { font-size: 1rem; margin-bottom: 0.2rem; }
.subtitle, .note { color: #616e7c; font-size: 0.9rem; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #eef0f2; text-align: right;
         white-space: nowrap; }
th { background: #f5f7fa; }
td.text, th.text { text-align: left; }
table.metrics td.label { text-align: left; color: #3e4c59; }
tr.open td { background: #fffbe6; }
.table-scroll { overflow-x: auto; }
"""


# --------------------------------------------------------------------------- monthly returns


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Compounded return of each calendar month, as a years x months table.

    A month's return is its last equity value over the last value before the
    month began, minus one; the first month is measured from the curve's
    first value, because that is the starting capital and there is nothing
    before it. Measuring month end to month end (rather than summing daily
    returns) makes the months compound exactly: the product of ``1 + r`` over
    all months equals the curve's last value over its first. A month with no
    equity point is ``NaN`` (not 0 %, which would claim the account was
    flat); whatever changed during such a month is counted in the next month
    that has data, which is the first time the curve shows it.

    Months are calendar months in UTC, as every ``ts`` in alphagate is UTC (a
    tz-naive index is taken to be UTC already).

    Parameters
    ----------
    equity
        Account value at each bar close, positive and finite, indexed by
        strictly increasing timestamps.

    Returns
    -------
    pandas.DataFrame
        One row per year from the first to the last (``int`` index named
        ``"year"``), one column per month ``1`` to ``12`` (named ``"month"``),
        values as fractions (0.012 is 1.2 %).

    Raises
    ------
    ValueError
        When ``equity`` is empty, not indexed by timestamps, not strictly
        increasing, or has a value that is not finite or not positive.
    """
    values, index = _checked_equity(equity, "equity")
    month_key = index.year * 100 + index.month
    last = pd.Series(values, index=index).groupby(month_key).last()
    base = np.concatenate(([values[0]], last.to_numpy()[:-1]))
    returns = last.to_numpy() / base - 1.0

    years = range(int(index.year[0]), int(index.year[-1]) + 1)
    table = pd.DataFrame(
        np.nan,
        index=pd.Index(years, name="year", dtype="int64"),
        columns=pd.Index(range(1, 13), name="month", dtype="int64"),
    )
    for key, value in zip(last.index, returns, strict=True):
        table.loc[int(key) // 100, int(key) % 100] = float(value)
    return table


# --------------------------------------------------------------------------- report


def render_report(
    *,
    equity: pd.Series,
    benchmark: pd.Series | None,
    trades: pd.DataFrame,
    prices: pd.DataFrame | None,
    metrics: Mapping[str, float | int | None],
    title: str,
    path: Path,
    log_scale: bool = False,
    max_points: int = MAX_PLOT_POINTS,
    max_trade_markers: int = MAX_TRADE_MARKERS,
) -> Path:
    """Write a backtest's report as one self-contained HTML file.

    Parameters
    ----------
    equity
        Account value at each bar close (UTC timestamps), positive and finite.
    benchmark
        Benchmark equity or prices on the same timestamps, or ``None``. It is
        read at the equity's timestamps and rescaled to start at the
        strategy's first equity, so both lines start together and their gap
        is the strategy's excess growth.
    trades
        One row per round trip with the columns of :data:`TRADE_COLUMNS`;
        ``side`` is ``buy``/``long`` or ``sell``/``short`` (the
        :class:`~alphagate.domain.orders.Side` values work). An open trade
        has an empty (``NaT``/``None``) ``exit_ts``. A frame with no rows may
        lack the columns.
    prices
        Close prices, one column per symbol, indexed by timestamp, on which
        the trades are marked; ``None`` to leave that section empty. Trades in
        symbols without a column are listed in the table only.
    metrics
        Headline metrics by name, e.g.
        :meth:`~alphagate.metrics.PerformanceMetrics.to_json_dict`; ``None``
        (and ``nan``) is shown as a dash.
    title
        Shown as the page title and heading (escaped).
    path
        Where to write; parent directories are created.
    log_scale
        Start the equity chart on a log axis (a button switches either way).
        A log axis shows equal percentage moves as equal heights, which is
        what matters on a long, compounding curve.
    max_points
        Most points drawn per line (at least 5). A longer line is cut into
        buckets of consecutive bars of which only the first, lowest, highest
        and last point are drawn (and the first missing value, if any), so
        its extremes and ends are drawn exactly; see the module docstring.
        Metrics and monthly returns always come from the full series.
    max_trade_markers
        Most trades marked on one symbol's price chart (at least 0). With
        more, the marked ones are the open trades, then the largest by
        absolute P&L (half of what is left), then trades spread evenly over
        the rest in trade order; the chart's caption gives the counts.

    Returns
    -------
    pathlib.Path
        ``path``, once the file is complete and in place.

    Raises
    ------
    ValueError
        When the equity is invalid (see :func:`monthly_returns`), the
        benchmark has no value on any equity timestamp, a non-empty trades
        frame lacks a column, a trade's side is not recognised, or a limit is
        out of range.
    """
    if max_points < 5:
        raise ValueError(f"max_points must be at least 5, got {max_points}")
    if max_trade_markers < 0:
        raise ValueError(f"max_trade_markers must be at least 0, got {max_trade_markers}")
    _checked_equity(equity, "equity")
    trades = _checked_trades(trades)
    equity_utc = equity.set_axis(_utc(equity.index))

    figures: list[str] = []

    def embed(fig: go.Figure, div_id: str, height: int) -> str:
        # The first chart carries the whole Plotly bundle; later charts run
        # after it in document order and find ``Plotly`` already defined.
        fig.update_layout(height=height, template="plotly_white")
        figures.append(div_id)
        fragment: str = pio.to_html(
            fig,
            include_plotlyjs=len(figures) == 1,
            full_html=False,
            div_id=div_id,
            config=_PLOT_CONFIG,
            default_height=f"{height}px",
        )
        return fragment

    safe_title = html.escape(title)
    first, last = equity_utc.index[0], equity_utc.index[-1]
    subtitle = (
        f"{_format_ts(first)} to {_format_ts(last)} UTC &middot; {len(equity_utc):,} bars"
        f" &middot; equity {_format_amount(float(equity_utc.iloc[0]))}"
        f" &rarr; {_format_amount(float(equity_utc.iloc[-1]))}"
    )
    sections = [
        _section("metrics", "Headline metrics", _metrics_table(metrics)),
        _section(
            "equity",
            "Equity vs benchmark",
            _equity_note(benchmark)
            + _reduced_note(len(equity_utc), max_points)
            + embed(
                _equity_figure(equity_utc, benchmark, log_scale, max_points), "equity-chart", 460
            ),
        ),
        _section(
            "drawdown",
            "Drawdown",
            '<p class="note">Distance below the running peak of equity (underwater curve).</p>'
            + _reduced_note(len(equity_utc), max_points)
            + embed(_drawdown_figure(equity_utc, max_points), "drawdown-chart", 300),
        ),
        _section("monthly-returns", "Monthly returns", _monthly_html(equity_utc, embed)),
        _section(
            "trades-on-price",
            "Trades on price",
            _price_html(prices, trades, embed, max_points, max_trade_markers),
        ),
        _section("trades", "Trades", _trades_table(trades)),
    ]
    document = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{safe_title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<h1>{safe_title}</h1>\n<p class="subtitle">{subtitle}</p>\n'
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )
    _write_atomically(path, document)
    return path


# --------------------------------------------------------------------------- sections


def _section(anchor: str, heading: str, body: str) -> str:
    return f'<section id="{anchor}">\n<h2>{heading}</h2>\n{body}\n</section>'


def _metrics_table(metrics: Mapping[str, float | int | None]) -> str:
    if not metrics:
        return '<p class="note">No metrics were given.</p>'
    rows = []
    for name, value in metrics.items():
        label = _METRIC_LABELS.get(name, name.replace("_", " ").capitalize())
        rows.append(
            f'<tr data-metric="{html.escape(name)}"><td class="label">{html.escape(label)}</td>'
            f"<td>{_format_metric(name, value)}</td></tr>"
        )
    return '<table class="metrics">\n' + "\n".join(rows) + "\n</table>"


def _equity_note(benchmark: pd.Series | None) -> str:
    if benchmark is None:
        return '<p class="note">No benchmark was given.</p>'
    return (
        '<p class="note">Benchmark rescaled to start at the strategy\'s first equity. '
        "Use the buttons to switch between a linear and a log axis.</p>"
    )


def _reduced_note(points: int, max_points: int) -> str:
    """A note under a chart whose lines are drawn reduced; nothing for a short run."""
    if points <= max_points:
        return ""
    return (
        f'<p class="note">{points:,} bars, drawn as at most {max_points:,} points per line: '
        "the first, lowest, highest and last point of each stretch of bars, so peaks, troughs "
        "and both ends are exact. Every number in this report uses all the bars.</p>"
    )


def _equity_figure(
    equity: pd.Series, benchmark: pd.Series | None, log_scale: bool, max_points: int
) -> go.Figure:
    fig = go.Figure()
    values = equity.to_numpy(dtype=np.float64)
    keep = _min_max_indices(values, max_points)
    fig.add_trace(
        go.Scatter(
            x=_plot_times(equity.index[keep]),
            y=values[keep],
            name="Strategy",
            line={"color": _STRATEGY_COLOUR, "width": 2},
        )
    )
    if benchmark is not None:
        rescaled = _rescaled_benchmark(benchmark, equity)
        keep = _min_max_indices(rescaled, max_points)
        fig.add_trace(
            go.Scatter(
                x=_plot_times(equity.index[keep]),
                y=rescaled[keep],
                name="Benchmark",
                line={"color": _BENCHMARK_COLOUR, "width": 1.5, "dash": "dot"},
                connectgaps=False,
            )
        )
    fig.update_layout(
        yaxis={"title": {"text": "Equity"}, "type": "log" if log_scale else "linear"},
        hovermode="x unified",
        legend={"orientation": "h", "y": 1.08, "x": 0.0},
        margin={"t": 60, "b": 40},
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 1.0,
                "xanchor": "right",
                "y": 1.15,
                "showactive": True,
                "active": 1 if log_scale else 0,
                "buttons": [
                    {"label": "Linear", "method": "relayout", "args": [{"yaxis.type": "linear"}]},
                    {"label": "Log", "method": "relayout", "args": [{"yaxis.type": "log"}]},
                ],
            }
        ],
    )
    return fig


def _drawdown_figure(equity: pd.Series, max_points: int) -> go.Figure:
    values = equity.to_numpy(dtype=np.float64)
    # Computed from every bar, then reduced: the deepest point is a bucket's
    # lowest, so it is drawn at its exact depth and time.
    underwater = (values / np.maximum.accumulate(values) - 1.0) * 100.0
    keep = _min_max_indices(underwater, max_points)
    fig = go.Figure(
        go.Scatter(
            x=_plot_times(equity.index[keep]),
            y=underwater[keep],
            name="Drawdown",
            fill="tozeroy",
            line={"color": _RED, "width": 1},
            hovertemplate="%{x}<br>%{y:.2f}%<extra></extra>",
        )
    )
    fig.update_layout(
        yaxis={"title": {"text": "Drawdown (%)"}, "ticksuffix": "%"},
        showlegend=False,
        margin={"t": 20, "b": 40},
    )
    return fig


def _monthly_html(equity: pd.Series, embed: _Embed) -> str:
    table = monthly_returns(equity)
    percent = table.to_numpy(dtype=np.float64) * 100.0
    text = [["" if math.isnan(v) else f"{v:.1f}%" for v in row] for row in percent]
    fig = go.Figure(
        go.Heatmap(
            z=percent,
            x=list(_MONTH_NAMES),
            y=[str(year) for year in table.index],
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmid=0.0,
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": "%"}, "ticksuffix": "%"},
            hovertemplate="%{y} %{x}: %{z:.2f}%<extra></extra>",
        )
    )
    fig.update_layout(
        yaxis={"autorange": "reversed", "type": "category"},
        xaxis={"side": "top", "type": "category"},
        margin={"t": 40, "b": 20},
    )
    height = 120 + 32 * len(table)
    note = (
        '<p class="note">Return of each calendar month (UTC), compounded within the month '
        "from the previous month's last equity; blank where there is no data.</p>"
    )
    return note + embed(fig, "monthly-returns-chart", height)


def _price_html(
    prices: pd.DataFrame | None,
    trades: pd.DataFrame,
    embed: _Embed,
    max_points: int,
    max_trade_markers: int,
) -> str:
    if prices is None or prices.shape[1] == 0:
        return '<p class="note">No prices were given, so trades are not marked on a chart.</p>'
    parts = [
        '<p class="note">Entries: &#9650; long (green), &#9660; short (red); '
        "exits: &#10005;. Open trades have an entry only.</p>"
    ]
    if len(prices) > max_points:
        parts.append(_reduced_note(len(prices), max_points))
    stamps = _utc(prices.index)
    for number, column in enumerate(prices.columns):
        symbol = str(column)
        mine = trades[(trades["symbol"] == symbol).to_numpy(dtype=bool)]
        closes = prices[column].to_numpy(dtype=np.float64, na_value=np.nan)
        keep = _min_max_indices(closes, max_points)
        marked = _marked_trades(mine, max_trade_markers)
        fig = go.Figure(
            go.Scatter(
                x=_plot_times(stamps[keep]),
                y=closes[keep],
                name="Close",
                line={"color": _BENCHMARK_COLOUR, "width": 1.2},
            )
        )
        for trace in _trade_marker_traces(marked):
            fig.add_trace(trace)
        fig.update_layout(
            yaxis={"title": {"text": "Price"}},
            legend={"orientation": "h", "y": 1.1, "x": 0.0},
            margin={"t": 40, "b": 40},
        )
        count = len(mine)
        caption = f"{count:,} trade{'' if count == 1 else 's'}"
        if len(marked) < count:
            caption += (
                f"; markers for {len(marked):,} of {count:,} trades: the open ones, the largest "
                "by absolute P&amp;L, and the rest spread evenly in trade order"
            )
        parts.append(
            f"<h3>{html.escape(symbol)}</h3>"
            f'<p class="note">{caption}</p>' + embed(fig, f"price-chart-{number}", 380)
        )
    return "\n".join(parts)


def _marked_trades(trades: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The trades to mark on a price chart: all of them, or ``limit`` chosen ones.

    Chosen, in this order, until ``limit`` are taken: the open trades (the
    position the run ended with), the largest by absolute P&L (ties: the
    earlier row) up to half of what is left, then trades spread evenly over
    the remaining rows, which are in trade order, so quiet stretches of the
    run keep some markers. The chosen rows keep their original order.
    """
    count = len(trades)
    if count <= limit:
        return trades
    keep = np.zeros(count, dtype=bool)
    keep[np.flatnonzero(trades["exit_ts"].isna().to_numpy())[:limit]] = True
    magnitude = np.abs(trades["pnl"].to_numpy(dtype=np.float64, na_value=np.nan))
    order = np.argsort(-np.nan_to_num(magnitude, nan=-1.0), kind="stable")
    order = order[~keep[order]]
    keep[order[: (limit - int(keep.sum())) // 2]] = True
    rest = np.flatnonzero(~keep)
    wanted = limit - int(keep.sum())
    if wanted == 1:
        keep[rest[0]] = True
    elif wanted > 1:
        # rest.size > wanted (count > limit), so the steps are at least 1 and
        # the integer positions are distinct, first and last included.
        keep[rest[np.arange(wanted) * (rest.size - 1) // (wanted - 1)]] = True
    return trades[keep]


def _trade_marker_traces(trades: pd.DataFrame) -> list[go.Scatter]:
    """Entry markers (long up and green, short down and red) and exit crosses."""
    traces = []
    for mask, name, symbol, colour in (
        (trades["long"], "Long entry", "triangle-up", _GREEN),
        (~trades["long"], "Short entry", "triangle-down", _RED),
    ):
        entries = trades[mask.to_numpy(dtype=bool)]
        if len(entries):
            traces.append(
                go.Scatter(
                    x=_plot_times(pd.DatetimeIndex(entries["entry_ts"])),
                    y=entries["entry_price"].to_numpy(dtype=np.float64),
                    mode="markers",
                    name=name,
                    marker={"symbol": symbol, "color": colour, "size": 11},
                    customdata=_hover_data(entries),
                    hovertemplate=(
                        f"{name}<br>%{{x}}<br>price %{{y}}<br>qty %{{customdata[0]}}<extra></extra>"
                    ),
                )
            )
    exits = trades[trades["exit_ts"].notna().to_numpy(dtype=bool)]
    if len(exits):
        traces.append(
            go.Scatter(
                x=_plot_times(pd.DatetimeIndex(exits["exit_ts"])),
                y=exits["exit_price"].to_numpy(dtype=np.float64),
                mode="markers",
                name="Exit",
                marker={"symbol": "x", "color": _EXIT_COLOUR, "size": 9},
                customdata=_hover_data(exits),
                hovertemplate=(
                    "Exit<br>%{x}<br>price %{y}<br>qty %{customdata[0]}"
                    "<br>P&amp;L %{customdata[1]}<extra></extra>"
                ),
            )
        )
    return traces


def _hover_data(trades: pd.DataFrame) -> list[list[str]]:
    return [
        [_format_quantity(float(qty)), _format_amount(float(pnl))]
        for qty, pnl in zip(trades["qty"], trades["pnl"], strict=True)
    ]


def _trades_table(trades: pd.DataFrame) -> str:
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
    rows = []
    for number, row in enumerate(shown.itertuples(index=False), start=1):
        record: Any = row
        is_open = pd.isna(record.exit_ts)
        rows.append(
            f'<tr class="{"open" if is_open else "closed"}">'
            f"<td>{number}</td>"
            f'<td class="text">{html.escape(record.symbol)}</td>'
            f'<td class="text">{"long" if record.long else "short"}</td>'
            f"<td>{_format_quantity(record.qty)}</td>"
            f"<td>{_format_ts(record.entry_ts)}</td>"
            f"<td>{_format_price(record.entry_price)}</td>"
            f"<td>{'open' if is_open else _format_ts(record.exit_ts)}</td>"
            f"<td>{_format_price(record.exit_price)}</td>"
            f"<td>{_format_amount(record.pnl)}</td>"
            f"<td>{_format_amount(record.fees)}</td>"
            f"<td>{_format_amount(record.pnl - record.fees)}</td>"
            "</tr>"
        )
    return (
        f'<p class="note">{summary}</p>\n<div class="table-scroll"><table class="trades">\n'
        + header
        + "\n"
        + "\n".join(rows)
        + "\n</table></div>"
    )


# --------------------------------------------------------------------------- inputs


def _checked_equity(equity: pd.Series, name: str) -> tuple[np.ndarray[Any, Any], pd.DatetimeIndex]:
    """Validate an equity curve; return its values and its index in UTC."""
    if not isinstance(equity, pd.Series):
        raise ValueError(f"{name} must be a pandas Series, got {type(equity).__name__}")
    if len(equity) == 0:
        raise ValueError(f"{name} is empty; a report needs at least one equity point")
    if not isinstance(equity.index, pd.DatetimeIndex):
        raise ValueError(f"{name} must be indexed by timestamps, got {type(equity.index).__name__}")
    index = _utc(equity.index)
    if not (index.is_monotonic_increasing and index.is_unique):
        raise ValueError(f"{name} timestamps must be strictly increasing (sorted, no duplicates)")
    values = equity.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values) | (values <= 0.0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must be positive and finite: {int(bad.sum())} bad value(s), "
            f"the first {values[first]} at {equity.index[first]}"
        )
    return values, index


def _checked_trades(trades: pd.DataFrame) -> pd.DataFrame:
    """Validate the trades and return them with uniform types.

    Engines and tests build trade frames in different ways (``Side`` enums or
    strings, ``None`` or ``NaT`` for an open exit, naive or aware times), so
    everything is normalised once here: ``symbol`` as text, a boolean
    ``long``, times as UTC ``datetime64`` (missing exit = ``NaT``), numbers as
    float64 (missing = ``NaN``). A frame with no rows may lack the columns.
    """
    if len(trades) == 0:
        trades = pd.DataFrame({column: pd.Series(dtype=object) for column in TRADE_COLUMNS})
    missing = [column for column in TRADE_COLUMNS if column not in trades.columns]
    if missing:
        raise ValueError(f"trades lack column(s) {missing}; expected {list(TRADE_COLUMNS)}")
    trades = trades.reset_index(drop=True)
    out = pd.DataFrame(
        {
            "symbol": trades["symbol"].astype(str),
            "long": _is_long(trades["side"]),
            "entry_ts": pd.to_datetime(trades["entry_ts"], utc=True),
            "exit_ts": pd.to_datetime(trades["exit_ts"], utc=True),
        }
    )
    for column in ("qty", "entry_price", "exit_price", "pnl", "fees"):
        out[column] = pd.to_numeric(trades[column], errors="coerce").astype(np.float64)
    if out["entry_ts"].isna().any():
        row = int(np.flatnonzero(out["entry_ts"].isna().to_numpy())[0])
        raise ValueError(f"the trade in row {row} has no entry_ts; every trade has one")
    return out


def _is_long(sides: pd.Series) -> np.ndarray[Any, np.dtype[np.bool_]]:
    normalised = sides.astype(str).str.strip().str.lower()
    unknown = ~normalised.isin(_LONG_SIDES | _SHORT_SIDES)
    if unknown.any():
        raise ValueError(
            f"trade side must be one of {sorted(_LONG_SIDES | _SHORT_SIDES)}, "
            f"got {sides[unknown].iloc[0]!r}"
        )
    return normalised.isin(_LONG_SIDES).to_numpy(dtype=bool)


def _rescaled_benchmark(benchmark: pd.Series, equity: pd.Series) -> np.ndarray[Any, Any]:
    """Benchmark at the equity's timestamps, scaled so it starts at the first equity."""
    aligned = (
        benchmark.set_axis(_utc(pd.DatetimeIndex(benchmark.index)))
        .reindex(equity.index)
        .to_numpy(dtype=np.float64, na_value=np.nan)
    )
    valid = np.flatnonzero(np.isfinite(aligned) & (aligned > 0.0))
    if valid.size == 0:
        raise ValueError(
            "benchmark has no positive value on any of the equity's timestamps; "
            "both must be stamped at the same bar closes"
        )
    # Anchor at the first timestamp where both exist (normally the first one),
    # so the lines start at the same height even if the benchmark starts late.
    start = int(valid[0])
    return aligned * (float(equity.iloc[start]) / float(aligned[start]))


def _utc(index: pd.Index) -> pd.DatetimeIndex:
    """``index`` as UTC timestamps; a tz-naive index is taken to be UTC already."""
    stamps = pd.DatetimeIndex(index)
    return stamps.tz_localize("UTC") if stamps.tz is None else stamps.tz_convert("UTC")


def _plot_times(index: pd.Index) -> list[str]:
    # Plotly.js draws the wall time it is given and ignores any offset, so
    # UTC wall times are passed as plain ISO strings: every axis reads UTC.
    # Formatted by NumPy in one call ("YYYY-MM-DDTHH:MM:SS", whole seconds);
    # Plotly takes either "T" or a space, the space reads better in a hover.
    seconds = _utc(index).tz_localize(None).to_numpy().astype("datetime64[s]")
    text = np.char.replace(np.datetime_as_string(seconds, unit="s"), "T", " ")
    return [str(stamp) for stamp in text.tolist()]


def _min_max_indices(values: np.ndarray[Any, Any], max_points: int) -> np.ndarray[Any, Any]:
    """Positions (sorted, int64) of the points of ``values`` to draw, at most ``max_points``.

    All of them when there are at most ``max_points``. Otherwise the series
    is cut into buckets of equal width (the last may be shorter) and each
    bucket contributes its first point, its lowest and its highest (the first
    of equal ones, missing values ignored) and its last point; a bucket with a
    missing value also contributes its first one, so that a gap in the line
    is still drawn as a gap. Four (five with gaps) points per bucket and
    ``max_points // 4`` (``// 5``) buckets keep within the limit, and the
    series' first, last, lowest and highest points are always among them.
    """
    count = values.size
    if count <= max_points:
        return np.arange(count, dtype=np.int64)
    missing = np.isnan(values)
    has_gaps = bool(missing.any())
    width = -(-count // max(1, max_points // (5 if has_gaps else 4)))
    buckets = -(-count // width)
    starts = np.arange(buckets, dtype=np.int64) * width
    ends = np.minimum(starts + width, count) - 1
    low = np.full(buckets * width, np.inf)
    low[:count] = np.where(missing, np.inf, values)
    high = np.full(buckets * width, -np.inf)
    high[:count] = np.where(missing, -np.inf, values)
    parts = [
        starts,
        starts + low.reshape(buckets, width).argmin(axis=1),
        starts + high.reshape(buckets, width).argmax(axis=1),
        ends,
    ]
    if has_gaps:
        gaps = np.zeros(buckets * width, dtype=bool)
        gaps[:count] = missing
        rows = gaps.reshape(buckets, width)
        parts.append((starts + rows.argmax(axis=1))[rows.any(axis=1)])
    return np.unique(np.concatenate(parts))


# --------------------------------------------------------------------------- formatting


def _format_metric(name: str, value: float | int | None) -> str:
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


def _format_amount(value: float) -> str:
    return _DASH if not math.isfinite(value) else f"{value:,.2f}"


def _format_price(value: float) -> str:
    if not math.isfinite(value):
        return _DASH
    return f"{value:,.2f}" if abs(value) >= 1.0 else f"{value:.6g}"


def _format_quantity(value: float) -> str:
    return _DASH if not math.isfinite(value) else f"{value:,.8g}"


def _format_ts(stamp: pd.Timestamp) -> str:
    if pd.isna(stamp):
        return _DASH
    return str(stamp.strftime("%Y-%m-%d %H:%M"))


# --------------------------------------------------------------------------- output


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``.

    The rename is atomic on one filesystem, so whoever opens ``path`` gets the
    previous report or the complete new one. The temporary name is unique
    (concurrent renders do not collide) and is removed if writing fails.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("x", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)  # os.replace
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
