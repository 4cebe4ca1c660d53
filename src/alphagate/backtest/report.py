"""The backtest report: one self-contained HTML file a person can open anywhere.

The page is built with :mod:`alphagate.html_report`, so it is a single file
that needs nothing else: Plotly's JavaScript bundle is inlined once, styles
are inline and use the system's fonts, and the page loads no script,
stylesheet, font or image from the network. (The inlined bundle itself
contains a few ``https://cdn…`` string literals, defaults of Plotly's geo and
map traces, which this report never draws, so they are never fetched.)

Sections, in order: headline metrics, equity against a benchmark, drawdown,
monthly returns, trades marked on price, and the trades table. Every section
is always present, with a short note when its input is missing or empty, so a
reader (and a test) finds the same structure in every report.

Every string that comes from the caller (the title, symbols, metric names) is
escaped before it reaches the page, so a symbol or title with ``<`` in it is
shown as written and never read as markup. Such strings are kept out of the
charts themselves (a symbol heads its chart as an HTML heading, not a Plotly
title), because Plotly interprets some HTML-like tags in its labels.

Long runs are drawn reduced, because a person reads a chart about 1,000
pixels wide: every line (equity, benchmark, drawdown, each close) with more
than ``max_points`` points is cut into equal buckets of consecutive bars and
only each bucket's first, lowest, highest and last point are drawn, in time
order (plus its first missing value, so a gap stays a gap): peaks, troughs,
the deepest drawdown and both ends appear at their exact values and times,
and only wiggles narrower than a bucket, which the screen could not show
anyway, are lost. A line with at most ``max_points`` points is drawn
untouched. Nothing shown as a number is taken from a reduced line: the
metrics are the caller's (computed from the full run) and the monthly
returns are computed from the full equity. A symbol with more than
``max_trade_markers`` trades gets markers for that many of them (open
trades, the largest by absolute P&L, and the rest spread evenly in trade
order), and its caption says how many of how many are marked.

The output is deterministic: chart ``div`` ids are fixed rather than Plotly's
random UUIDs and no clock is read, so the same inputs give the same bytes and
two reports can be compared with ``diff`` or a hash.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphagate.atomic import write_text_atomically
from alphagate.backtest.chart_series import (
    TRADE_COLUMNS,
    checked_equity,
    checked_trades,
    marked_trades,
    min_max_indices,
    monthly_returns,
    monthly_table,
    plot_times,
    rescaled_benchmark,
    utc_index,
)
from alphagate.backtest.report_tables import (
    MAX_TRADE_ROWS,
    format_amount,
    format_quantity,
    format_ts,
    metrics_table,
    trades_table,
)
from alphagate.html_report import Page, note

__all__ = [
    "MAX_PLOT_POINTS",
    "MAX_TRADE_MARKERS",
    "MAX_TRADE_ROWS",
    "TRADE_COLUMNS",
    "monthly_returns",
    "render_report",
    "report_page",
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


_MONTH_NAMES = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
_GREEN = "#1a9850"
_RED = "#d73027"
_EXIT_COLOUR = "#2b2b2b"
_STRATEGY_COLOUR = "#2c5fa8"
_BENCHMARK_COLOUR = "#8c8c8c"

_CSS = """
table.metrics th { background: none; font-weight: normal; color: #3e4c59; }
tr.open td { background: #fffbe6; }
"""


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
        :meth:`~alphagate.metrics.performance.PerformanceMetrics.to_json_dict`; ``None``
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
    page = report_page(
        equity=equity,
        benchmark=benchmark,
        trades=trades,
        prices=prices,
        metrics=metrics,
        title=title,
        log_scale=log_scale,
        max_points=max_points,
        max_trade_markers=max_trade_markers,
    )
    return write_text_atomically(path, page)


def report_page(
    *,
    equity: pd.Series,
    benchmark: pd.Series | None,
    trades: pd.DataFrame,
    prices: pd.DataFrame | None,
    metrics: Mapping[str, float | int | None],
    title: str,
    log_scale: bool = False,
    max_points: int = MAX_PLOT_POINTS,
    max_trade_markers: int = MAX_TRADE_MARKERS,
) -> str:
    """The page :func:`render_report` writes, as text, for a caller that writes it itself.

    Parameters and errors are those of :func:`render_report`.
    """
    if max_points < 5:
        raise ValueError(f"max_points must be at least 5, got {max_points}")
    if max_trade_markers < 0:
        raise ValueError(f"max_trade_markers must be at least 0, got {max_trade_markers}")
    values, stamps = checked_equity(equity, "equity")
    trades = checked_trades(trades)
    equity_utc = equity.set_axis(stamps)

    subtitle = (
        f"{format_ts(stamps[0])} to {format_ts(stamps[-1])} UTC \u00b7 {len(equity_utc):,} bars"
        f" \u00b7 equity {format_amount(float(values[0]))}"
        f" \u2192 {format_amount(float(values[-1]))}"
    )
    page = Page(title, subtitle=subtitle, css=_CSS)
    reduced = _reduced_note(len(equity_utc), max_points)
    page.add_section("metrics", "Headline metrics", metrics_table(metrics))
    page.add_section(
        "equity",
        "Equity vs benchmark",
        _equity_note(benchmark),
        reduced,
        page.chart(
            _equity_figure(equity_utc, benchmark, log_scale, max_points), "equity-chart", 460
        ),
    )
    page.add_section(
        "drawdown",
        "Drawdown",
        note("Distance below the running peak of equity (underwater curve)."),
        reduced,
        page.chart(_drawdown_figure(values, stamps, max_points), "drawdown-chart", 300),
    )
    page.add_section("monthly-returns", "Monthly returns", *_monthly_parts(values, stamps, page))
    page.add_section(
        "trades-on-price",
        "Trades on price",
        *_price_parts(prices, trades, page, max_points, max_trade_markers),
    )
    page.add_section("trades", "Trades", trades_table(trades))
    return page.html()


# --------------------------------------------------------------------------- sections


def _equity_note(benchmark: pd.Series | None) -> str:
    if benchmark is None:
        return note("No benchmark was given.")
    return note(
        "Benchmark rescaled to start at the strategy's first equity. "
        "Use the buttons to switch between a linear and a log axis."
    )


def _reduced_note(points: int, max_points: int) -> str:
    """A note under a chart whose lines are drawn reduced; nothing for a short run."""
    if points <= max_points:
        return ""
    return note(
        f"{points:,} bars, drawn as at most {max_points:,} points per line: "
        "the first, lowest, highest and last point of each stretch of bars, so peaks, troughs "
        "and both ends are exact. Every number in this report uses all the bars."
    )


def _line(
    name: str, stamps: pd.DatetimeIndex, values: np.ndarray[Any, Any], max_points: int
) -> dict[str, Any]:
    """A line trace of ``values`` at ``stamps``, reduced to ``max_points`` (see the module)."""
    keep = min_max_indices(values, max_points)
    return {"type": "scatter", "name": name, "x": plot_times(stamps[keep]), "y": values[keep]}


def _equity_figure(
    equity: pd.Series, benchmark: pd.Series | None, log_scale: bool, max_points: int
) -> dict[str, Any]:
    stamps = pd.DatetimeIndex(equity.index)
    strategy = _line("Strategy", stamps, equity.to_numpy(dtype=np.float64), max_points)
    traces = [{**strategy, "line": {"color": _STRATEGY_COLOUR, "width": 2}}]
    if benchmark is not None:
        rescaled = _line("Benchmark", stamps, rescaled_benchmark(benchmark, equity), max_points)
        traces.append(
            {
                **rescaled,
                "connectgaps": False,
                "line": {"color": _BENCHMARK_COLOUR, "dash": "dot", "width": 1.5},
            }
        )
    layout = {
        "yaxis": {"title": {"text": "Equity"}, "type": "log" if log_scale else "linear"},
        "legend": {"orientation": "h", "y": 1.08, "x": 0.0},
        "margin": {"t": 60, "b": 40},
        "hovermode": "x unified",
        "updatemenus": [
            {
                "active": 1 if log_scale else 0,
                "buttons": [
                    {"args": [{"yaxis.type": "linear"}], "label": "Linear", "method": "relayout"},
                    {"args": [{"yaxis.type": "log"}], "label": "Log", "method": "relayout"},
                ],
                "direction": "right",
                "showactive": True,
                "type": "buttons",
                "x": 1.0,
                "xanchor": "right",
                "y": 1.15,
            }
        ],
    }
    return {"data": traces, "layout": layout}


def _drawdown_figure(
    values: np.ndarray[Any, Any], stamps: pd.DatetimeIndex, max_points: int
) -> dict[str, Any]:
    # Computed from every bar, then reduced: the deepest point is a bucket's
    # lowest, so it is drawn at its exact depth and time.
    underwater = (values / np.maximum.accumulate(values) - 1.0) * 100.0
    trace = {
        **_line("Drawdown", stamps, underwater, max_points),
        "fill": "tozeroy",
        "hovertemplate": "%{x}<br>%{y:.2f}%<extra></extra>",
        "line": {"color": _RED, "width": 1},
    }
    layout = {
        "yaxis": {"title": {"text": "Drawdown (%)"}, "ticksuffix": "%"},
        "margin": {"t": 20, "b": 40},
        "showlegend": False,
    }
    return {"data": [trace], "layout": layout}


def _monthly_parts(
    values: np.ndarray[Any, Any], stamps: pd.DatetimeIndex, page: Page
) -> tuple[str, str]:
    """The heatmap of :func:`monthly_returns` of the curve :func:`checked_equity` returned."""
    table = monthly_table(values, stamps)
    percent = table.to_numpy(dtype=np.float64) * 100.0
    text = [["" if math.isnan(v) else f"{v:.1f}%" for v in row] for row in percent]
    heatmap = {
        "type": "heatmap",
        "colorbar": {"ticksuffix": "%", "title": {"text": "%"}},
        "colorscale": "RdYlGn",
        "hovertemplate": "%{y} %{x}: %{z:.2f}%<extra></extra>",
        "text": text,
        "texttemplate": "%{text}",
        "x": list(_MONTH_NAMES),
        "xgap": 2,
        "y": [str(year) for year in table.index],
        "ygap": 2,
        "z": percent,
        "zmid": 0.0,
    }
    layout = {
        "yaxis": {"autorange": "reversed", "type": "category"},
        "xaxis": {"side": "top", "type": "category"},
        "margin": {"t": 40, "b": 20},
    }
    explanation = note(
        "Return of each calendar month (UTC), compounded within the month "
        "from the previous month's last equity; blank where there is no data."
    )
    chart = page.chart(
        {"data": [heatmap], "layout": layout}, "monthly-returns-chart", 120 + 32 * len(table)
    )
    return explanation, chart


def _price_parts(
    prices: pd.DataFrame | None,
    trades: pd.DataFrame,
    page: Page,
    max_points: int,
    max_trade_markers: int,
) -> list[str]:
    if prices is None or prices.shape[1] == 0:
        return [note("No prices were given, so trades are not marked on a chart.")]
    parts = [
        note(
            "Entries: \u25b2 long (green), \u25bc short (red); exits: \u2715. "
            "Open trades have an entry only."
        ),
        _reduced_note(len(prices), max_points),
    ]
    stamps = utc_index(prices.index)
    for number, column in enumerate(prices.columns):
        symbol = str(column)
        mine = trades[(trades["symbol"] == symbol).to_numpy(dtype=bool)]
        closes = prices[column].to_numpy(dtype=np.float64, na_value=np.nan)
        marked = marked_trades(mine, max_trade_markers)
        close = {
            **_line("Close", stamps, closes, max_points),
            "line": {"color": _BENCHMARK_COLOUR, "width": 1.2},
        }
        layout = {
            "yaxis": {"title": {"text": "Price"}},
            "legend": {"orientation": "h", "y": 1.1, "x": 0.0},
            "margin": {"t": 40, "b": 40},
        }
        fig = {"data": [close, *_trade_marker_traces(marked)], "layout": layout}
        count = len(mine)
        caption = f"{count:,} trade{'' if count == 1 else 's'}"
        if len(marked) < count:
            caption += (
                f"; markers for {len(marked):,} of {count:,} trades: the open ones, the largest "
                "by absolute P&L, and the rest spread evenly in trade order"
            )
        # The symbol heads its chart as escaped HTML, never as a Plotly title,
        # because Plotly reads some HTML-like tags in its labels.
        parts.append(f"<h3>{html.escape(symbol)}</h3>")
        parts.append(note(caption))
        parts.append(page.chart(fig, f"price-chart-{number}", 380))
    return parts


def _trade_marker_traces(trades: pd.DataFrame) -> list[dict[str, Any]]:
    """Entry markers (long up and green, short down and red) and exit crosses.

    A trade's entry and exit show the same quantity and P&L, so each trade's
    hover text is formatted once and shared by its two markers.
    """
    hover = [
        [format_quantity(qty), format_amount(pnl)]
        for qty, pnl in zip(trades["qty"].tolist(), trades["pnl"].tolist(), strict=True)
    ]
    long = trades["long"].to_numpy(dtype=bool)
    entry_ts = pd.DatetimeIndex(trades["entry_ts"])
    entry_price = trades["entry_price"].to_numpy(dtype=np.float64)
    traces = []
    for mask, name, symbol, colour in (
        (long, "Long entry", "triangle-up", _GREEN),
        (~long, "Short entry", "triangle-down", _RED),
    ):
        rows = np.flatnonzero(mask)
        if rows.size:
            traces.append(
                {
                    "type": "scatter",
                    "customdata": [hover[row] for row in rows.tolist()],
                    "hovertemplate": (
                        f"{name}<br>%{{x}}<br>price %{{y}}<br>qty %{{customdata[0]}}<extra></extra>"
                    ),
                    "marker": {"color": colour, "size": 11, "symbol": symbol},
                    "mode": "markers",
                    "name": name,
                    "x": plot_times(entry_ts[rows]),
                    "y": entry_price[rows],
                }
            )
    rows = np.flatnonzero(trades["exit_ts"].notna().to_numpy(dtype=bool))
    if rows.size:
        traces.append(
            {
                "type": "scatter",
                "customdata": [hover[row] for row in rows.tolist()],
                "hovertemplate": (
                    "Exit<br>%{x}<br>price %{y}<br>qty %{customdata[0]}"
                    "<br>P&amp;L %{customdata[1]}<extra></extra>"
                ),
                "marker": {"color": _EXIT_COLOUR, "size": 9, "symbol": "x"},
                "mode": "markers",
                "name": "Exit",
                "x": plot_times(pd.DatetimeIndex(trades["exit_ts"])[rows]),
                "y": trades["exit_price"].to_numpy(dtype=np.float64)[rows],
            }
        )
    return traces
