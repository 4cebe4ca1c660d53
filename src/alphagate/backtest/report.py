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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from plotly.colors import diverging

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
from alphagate.backtest.plotly_html import (
    Figure,
    chart_html,
    colorscale,
    plotly_file,
    plotly_template,
    typed_array,
)
from alphagate.backtest.report_tables import (
    AMOUNT_FORMAT,
    MAX_TRADE_ROWS,
    QUANTITY_FORMAT,
    format_amount,
    format_quantity,
    format_ts,
    metrics_table,
    trades_table,
)

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
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}
_TEMPLATE = "plotly_white"

_BUNDLE_PLACE = "<alphagate-plotly-bundle>"
"""Where the first chart's ``<script>`` holds Plotly's bundle until the page is
complete. No other ``<`` reaches the page unescaped: caller strings go through
:func:`html.escape` and chart JSON writes ``<`` as ``\\u003c``."""

_Embed = Callable[[Figure, str, int], str]
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
    write_text_atomically(path, page)
    return path


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

    figures: list[str] = []
    template = plotly_template(_TEMPLATE)

    def embed(fig: Figure, div_id: str, height: int) -> str:
        # The first chart carries the whole Plotly bundle; later charts run
        # after it in document order and find ``Plotly`` already defined.
        fig["layout"] = {"template": template, **fig["layout"], "height": height}
        figures.append(div_id)
        bundle = _BUNDLE_PLACE if len(figures) == 1 else None
        return chart_html(fig, div_id, f"{height}px", bundle, _PLOT_CONFIG)

    safe_title = html.escape(title)
    first, last = equity_utc.index[0], equity_utc.index[-1]
    subtitle = (
        f"{format_ts(first)} to {format_ts(last)} UTC &middot; {len(equity_utc):,} bars"
        f" &middot; equity {format_amount(float(equity_utc.iloc[0]))}"
        f" &rarr; {format_amount(float(equity_utc.iloc[-1]))}"
    )
    sections = [
        _section("metrics", "Headline metrics", metrics_table(metrics)),
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
        _section("monthly-returns", "Monthly returns", _monthly_html(values, stamps, embed)),
        _section(
            "trades-on-price",
            "Trades on price",
            _price_html(prices, trades, embed, max_points, max_trade_markers),
        ),
        _section("trades", "Trades", trades_table(trades)),
    ]
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{safe_title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<h1>{safe_title}</h1>\n<p class="subtitle">{subtitle}</p>\n'
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )
    # The bundle goes in last, in one copy: carried through the sections'
    # assembly it was copied half a dozen times, a few ms each at its size.
    before, place, after = page.partition(_BUNDLE_PLACE)
    if not place:
        raise AssertionError("the first chart lost the place of Plotly's bundle")
    return "".join((before, plotly_file("plotly.min.js"), after))


# --------------------------------------------------------------------------- sections


def _section(anchor: str, heading: str, body: str) -> str:
    return f'<section id="{anchor}">\n<h2>{heading}</h2>\n{body}\n</section>'


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
) -> Figure:
    values = equity.to_numpy(dtype=np.float64)
    keep = min_max_indices(values, max_points)
    traces = [
        {
            "line": {"color": _STRATEGY_COLOUR, "width": 2},
            "name": "Strategy",
            "x": plot_times(equity.index[keep]),
            "y": typed_array(values[keep]),
            "type": "scatter",
        }
    ]
    if benchmark is not None:
        rescaled = rescaled_benchmark(benchmark, equity)
        keep = min_max_indices(rescaled, max_points)
        traces.append(
            {
                "connectgaps": False,
                "line": {"color": _BENCHMARK_COLOUR, "dash": "dot", "width": 1.5},
                "name": "Benchmark",
                "x": plot_times(equity.index[keep]),
                "y": typed_array(rescaled[keep]),
                "type": "scatter",
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


def _drawdown_figure(equity: pd.Series, max_points: int) -> Figure:
    values = equity.to_numpy(dtype=np.float64)
    # Computed from every bar, then reduced: the deepest point is a bucket's
    # lowest, so it is drawn at its exact depth and time.
    # (values / peak - 1) * 100, in place: three fresh arrays of a million
    # floats were most of the chart's time.
    underwater = np.maximum.accumulate(values)
    np.divide(values, underwater, out=underwater)
    underwater -= 1.0
    underwater *= 100.0
    keep = min_max_indices(underwater, max_points)
    trace = {
        "fill": "tozeroy",
        "hovertemplate": "%{x}<br>%{y:.2f}%<extra></extra>",
        "line": {"color": _RED, "width": 1},
        "name": "Drawdown",
        "x": plot_times(equity.index[keep]),
        "y": typed_array(underwater[keep]),
        "type": "scatter",
    }
    layout = {
        "yaxis": {"title": {"text": "Drawdown (%)"}, "ticksuffix": "%"},
        "margin": {"t": 20, "b": 40},
        "showlegend": False,
    }
    return {"data": [trace], "layout": layout}


def _monthly_html(values: np.ndarray[Any, Any], stamps: pd.DatetimeIndex, embed: _Embed) -> str:
    """The heatmap of :func:`monthly_returns` of the curve :func:`checked_equity` returned."""
    table = monthly_table(values, stamps)
    percent = table.to_numpy(dtype=np.float64) * 100.0
    text = [["" if math.isnan(v) else f"{v:.1f}%" for v in row] for row in percent]
    heatmap = {
        "colorbar": {"ticksuffix": "%", "title": {"text": "%"}},
        "colorscale": colorscale(diverging.RdYlGn),
        "hovertemplate": "%{y} %{x}: %{z:.2f}%<extra></extra>",
        "text": text,
        "texttemplate": "%{text}",
        "x": list(_MONTH_NAMES),
        "xgap": 2,
        "y": [str(year) for year in table.index],
        "ygap": 2,
        "z": typed_array(percent),
        "zmid": 0.0,
        "type": "heatmap",
    }
    layout = {
        "yaxis": {"autorange": "reversed", "type": "category"},
        "xaxis": {"side": "top", "type": "category"},
        "margin": {"t": 40, "b": 20},
    }
    fig = {"data": [heatmap], "layout": layout}
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
    stamps = utc_index(prices.index)
    for number, column in enumerate(prices.columns):
        symbol = str(column)
        mine = trades[(trades["symbol"] == symbol).to_numpy(dtype=bool)]
        closes = prices[column].to_numpy(dtype=np.float64, na_value=np.nan)
        keep = min_max_indices(closes, max_points)
        marked = marked_trades(mine, max_trade_markers)
        close = {
            "line": {"color": _BENCHMARK_COLOUR, "width": 1.2},
            "name": "Close",
            "x": plot_times(stamps[keep]),
            "y": typed_array(closes[keep]),
            "type": "scatter",
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
                "by absolute P&amp;L, and the rest spread evenly in trade order"
            )
        parts.append(
            f"<h3>{html.escape(symbol)}</h3>"
            f'<p class="note">{caption}</p>' + embed(fig, f"price-chart-{number}", 380)
        )
    return "\n".join(parts)


def _trade_marker_traces(trades: pd.DataFrame) -> list[dict[str, Any]]:
    """Entry markers (long up and green, short down and red) and exit crosses.

    A trade's entry and exit show the same quantity and P&L, so each trade's
    hover text is formatted once and shared by its two markers.
    """
    hover = _hover_data(trades)
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
                    "customdata": [hover[row] for row in rows.tolist()],
                    "hovertemplate": (
                        f"{name}<br>%{{x}}<br>price %{{y}}<br>qty %{{customdata[0]}}<extra></extra>"
                    ),
                    "marker": {"color": colour, "size": 11, "symbol": symbol},
                    "mode": "markers",
                    "name": name,
                    "x": plot_times(entry_ts[rows]),
                    "y": typed_array(entry_price[rows]),
                    "type": "scatter",
                }
            )
    rows = np.flatnonzero(trades["exit_ts"].notna().to_numpy(dtype=bool))
    if rows.size:
        traces.append(
            {
                "customdata": [hover[row] for row in rows.tolist()],
                "hovertemplate": (
                    "Exit<br>%{x}<br>price %{y}<br>qty %{customdata[0]}"
                    "<br>P&amp;L %{customdata[1]}<extra></extra>"
                ),
                "marker": {"color": _EXIT_COLOUR, "size": 9, "symbol": "x"},
                "mode": "markers",
                "name": "Exit",
                "x": plot_times(pd.DatetimeIndex(trades["exit_ts"])[rows]),
                "y": typed_array(trades["exit_price"].to_numpy(dtype=np.float64)[rows]),
                "type": "scatter",
            }
        )
    return traces


def _hover_data(trades: pd.DataFrame) -> list[list[str]]:
    """Each trade's quantity and P&L, as :func:`format_quantity` and :func:`format_amount` do.

    Formatted through the same format specs by ``map``, a call per number
    less for the thousands of markers of a long run; a non-finite number
    (a dash) goes through the functions themselves.
    """
    columns = []
    for column, spec, function in (
        ("qty", QUANTITY_FORMAT, format_quantity),
        ("pnl", AMOUNT_FORMAT, format_amount),
    ):
        values = trades[column].to_numpy(dtype=np.float64)
        text = list(map(spec.format, values.tolist()))
        for row in np.flatnonzero(~np.isfinite(values)).tolist():
            text[row] = function(float(values[row]))
        columns.append(text)
    return list(map(list, zip(*columns, strict=True)))


# --------------------------------------------------------------------------- inputs


# --------------------------------------------------------------------------- formatting


# --------------------------------------------------------------------------- output
