"""Tests for the HTML backtest report and the monthly returns behind its heatmap.

``monthly_returns`` is checked against hand-computed numbers. The report is
checked as a file, read back with the standard library's HTML parser (the
``read_page`` fixture): well formed and self-contained (Plotly inlined once,
nothing loaded from the network), every section and metric present, caller
strings escaped, trades drawn and listed correctly. Chart contents are read
back from the Plotly JSON embedded in the page, so the tests check the numbers
a reader sees.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphagate.backtest import chart_series
from alphagate.backtest import report as report_module
from alphagate.backtest.report import MAX_TRADE_ROWS, TRADE_COLUMNS, monthly_returns, render_report
from alphagate.domain.orders import Side

SECTION_TITLES = (
    "Headline metrics",
    "Equity vs benchmark",
    "Drawdown",
    "Monthly returns",
    "Trades on price",
    "Trades",
)
HOSTILE_TITLE = "Run <script>alert(1)</script> & co"
HOSTILE_SYMBOL = "<b>X&Y"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# --------------------------------------------------------------------------- monthly returns


def test_monthly_returns_compound_each_month_from_the_previous_months_last_equity() -> None:
    # Intra-month points differ from the month ends, so a function that used a
    # month's first value, or summed daily returns, would get other numbers.
    equity = pd.Series(
        [100.0, 105.0, 110.0, 90.0, 99.0, 120.0, 108.9, 98.01],
        index=pd.DatetimeIndex(
            [
                utc("2024-01-02 21:00"),
                utc("2024-01-15 21:00"),
                utc("2024-01-31 21:00"),
                utc("2024-02-15 21:00"),
                utc("2024-02-29 21:00"),
                # no March data at all
                utc("2024-04-10 20:00"),
                utc("2024-04-30 20:00"),
                utc("2025-01-31 21:00"),
            ]
        ),
    )

    table = monthly_returns(equity)

    assert list(table.index) == [2024, 2025]
    assert table.columns.tolist() == list(range(1, 13))
    assert table.loc[2024, 1] == pytest.approx(110.0 / 100.0 - 1.0)  # base: first equity
    assert table.loc[2024, 2] == pytest.approx(99.0 / 110.0 - 1.0)
    assert math.isnan(float(table.loc[2024, 3]))  # no data: NaN, not 0 %
    assert table.loc[2024, 4] == pytest.approx(108.9 / 99.0 - 1.0)  # base: February's end
    assert table.loc[2025, 1] == pytest.approx(98.01 / 108.9 - 1.0)
    assert int(table.notna().sum().sum()) == 4


def test_monthly_returns_of_daily_equity_match_hand_computed_month_ends() -> None:
    days = pd.date_range("2023-11-01 21:00", "2024-02-29 21:00", freq="D", tz="UTC")
    # Grow 0.1 % a day in November, fall 0.2 % a day in December, flat in
    # January, grow 0.05 % a day in February.
    daily = np.select(
        [days.month == 11, days.month == 12, days.month == 1],
        [0.001, -0.002, 0.0],
        default=0.0005,
    )
    equity = pd.Series(1_000.0 * np.cumprod(1.0 + daily), index=days)

    table = monthly_returns(equity)

    # November's base is its own first point, which already includes one day
    # of growth, so November shows 29 compounding days, not 30.
    assert table.loc[2023, 11] == pytest.approx(1.001**29 - 1.0)
    assert table.loc[2023, 12] == pytest.approx(0.998**31 - 1.0)
    assert table.loc[2024, 1] == pytest.approx(0.0, abs=1e-15)
    assert table.loc[2024, 2] == pytest.approx(1.0005**29 - 1.0)
    assert table.loc[2023, 1:10].isna().all()
    assert table.loc[2024, 3:12].isna().all()


def test_monthly_returns_compound_to_the_total_return() -> None:
    rng = np.random.default_rng(7)
    stamps = pd.date_range("2020-03-17 14:00", periods=3_000, freq="7h", tz="UTC")
    equity = pd.Series(50.0 * np.cumprod(1.0 + rng.normal(0.0, 0.01, stamps.size)), index=stamps)

    table = monthly_returns(equity)

    months = table.to_numpy().ravel()
    compounded = float(np.prod(1.0 + months[~np.isnan(months)]))
    assert compounded == pytest.approx(equity.iloc[-1] / equity.iloc[0], rel=1e-12)


def test_monthly_returns_bucket_months_by_utc_not_by_the_index_time_zone() -> None:
    # 23:30 on 31 January in New York is already 1 February in UTC.
    equity = pd.Series(
        [100.0, 120.0, 150.0],
        index=pd.DatetimeIndex(
            [
                pd.Timestamp("2024-01-10 12:00", tz="America/New_York"),
                pd.Timestamp("2024-01-31 23:30", tz="America/New_York"),
                pd.Timestamp("2024-02-20 12:00", tz="America/New_York"),
            ]
        ),
    )

    table = monthly_returns(equity)

    assert table.loc[2024, 1] == pytest.approx(0.0)
    assert table.loc[2024, 2] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("values", "index", "message"),
    [
        ([], pd.DatetimeIndex([], tz="UTC"), "empty"),
        ([1.0, np.nan], pd.DatetimeIndex([utc("2024-01-01"), utc("2024-01-02")]), "finite"),
        ([1.0, 0.0], pd.DatetimeIndex([utc("2024-01-01"), utc("2024-01-02")]), "positive"),
        ([1.0, 2.0], pd.DatetimeIndex([utc("2024-01-02"), utc("2024-01-01")]), "increasing"),
        ([1.0, 2.0], pd.Index([0, 1]), "timestamps"),
    ],
)
def test_monthly_returns_reject_equity_that_is_not_a_valid_curve(
    values: list[float], index: pd.Index, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        monthly_returns(pd.Series(values, index=index, dtype=np.float64))


# --------------------------------------------------------------------------- report fixtures


def make_inputs() -> dict[str, Any]:
    """A small but complete backtest: equity, benchmark, two symbols, three trades."""
    rng = np.random.default_rng(3)
    stamps = pd.date_range("2023-01-02 21:00", periods=300, freq="B", tz="UTC")
    equity = pd.Series(10_000.0 * np.cumprod(1.0 + rng.normal(0.0005, 0.01, 300)), index=stamps)
    benchmark = pd.Series(400.0 * np.cumprod(1.0 + rng.normal(0.0003, 0.01, 300)), index=stamps)
    prices = pd.DataFrame(
        {
            "AAA": 100.0 * np.cumprod(1.0 + rng.normal(0.0, 0.02, 300)),
            HOSTILE_SYMBOL: 20.0 * np.cumprod(1.0 + rng.normal(0.0, 0.02, 300)),
        },
        index=stamps,
    )
    trades = pd.DataFrame(
        {
            "symbol": ["AAA", "AAA", HOSTILE_SYMBOL],
            "side": [Side.BUY, Side.SELL, "buy"],
            "qty": [10.0, 5.0, 100.0],
            "entry_ts": [stamps[10], stamps[100], stamps[250]],
            "entry_price": [101.5, 97.25, 21.0],
            "exit_ts": [stamps[40], stamps[130], pd.NaT],
            "exit_price": [110.0, 90.0, np.nan],
            "pnl": [85.0, 36.25, 0.0],
            "fees": [1.0, 0.5, 0.25],
        }
    )
    metrics: dict[str, float | int | None] = {
        "total_return": 0.1234,
        "sharpe": 1.23456,
        "max_drawdown": -0.0876,
        "profit_factor": None,
        "alpha": math.nan,
        "trades": 42,
        "avg_win": 1234.5,
    }
    return {
        "equity": equity,
        "benchmark": benchmark,
        "trades": trades,
        "prices": prices,
        "metrics": metrics,
        "title": HOSTILE_TITLE,
    }


@pytest.fixture(scope="module")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, Any]]:
    inputs = make_inputs()
    path = tmp_path_factory.mktemp("report") / "out" / "report.html"
    written = render_report(**inputs, path=path)
    assert written == path
    return path, path.read_text(encoding="utf-8"), inputs


def split_bundle(page: str) -> tuple[str, str]:
    """Return (the inlined plotly.js script, the page without it)."""
    marker = page.index("plotly.js v")
    start = page.rindex("<script", 0, marker)
    end = page.index("</script>", marker) + len("</script>")
    return page[start:end], page[:start] + page[end:]


def plot_data(page: str, div_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The traces and layout handed to ``Plotly.newPlot`` for one chart."""
    call = page.index(f'Plotly.newPlot(                        "{div_id}",')
    decoder = json.JSONDecoder()
    start = page.index("[", call)
    traces, end = decoder.raw_decode(page, start)
    layout, _ = decoder.raw_decode(page, page.index("{", end))
    return decoded(traces), layout


def decoded(value: Any) -> Any:
    """Plotly writes NumPy arrays as base64 typed arrays; turn them back into lists."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
        return (
            [None if math.isnan(v) else v for v in array.tolist()]
            if array.ndim == 1
            else [[None if math.isnan(v) else v for v in row] for row in array.tolist()]
        )
    if isinstance(value, dict):
        return {key: decoded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decoded(item) for item in value]
    return value


def trace(traces: list[dict[str, Any]], name: str) -> dict[str, Any]:
    matches = [t for t in traces if t.get("name") == name]
    assert len(matches) == 1, f"expected one trace named {name!r}, got {len(matches)}"
    return matches[0]


def plot_time(stamp: pd.Timestamp) -> str:
    return stamp.tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S")


# --------------------------------------------------------------------------- self-contained


def test_report_is_written_to_the_path_without_leaving_temporary_files(
    full_report: tuple[Path, str, dict[str, Any]],
) -> None:
    path, page, _ = full_report
    assert path.is_file()
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]


def test_report_inlines_the_plotly_bundle_exactly_once(
    full_report: tuple[Path, str, dict[str, Any]], read_page: Callable[[str], Any]
) -> None:
    _, page, _ = full_report
    bundle, _ = split_bundle(page)
    scripts = read_page(page).scripts
    assert [attrs for attrs, _ in scripts if "plotly.js v" in _] == [{}]
    assert page.count("plotly.js v") == 1
    assert len(bundle) > 1_000_000
    # Five charts (equity, drawdown, heatmap, two price charts) share the one bundle.
    assert page.count("Plotly.newPlot(") == 5


def test_report_loads_nothing_from_the_network(
    full_report: tuple[Path, str, dict[str, Any]], read_page: Callable[[str], Any]
) -> None:
    _, page, _ = full_report
    read_page(page).assert_self_contained()
    bundle, rest = split_bundle(page)
    lowered = page.lower()
    assert "<script src" not in lowered
    assert not re.search(r"<script[^>]*\bsrc\s*=", lowered)
    assert "<link" not in lowered
    assert "@import" not in lowered
    assert "<iframe" not in lowered
    # Outside plotly.js there is no URL at all; inside it, the only CDN
    # strings are defaults of geo/map traces that the report never draws.
    assert "http://" not in rest
    assert "https://" not in rest
    assert page.count("https://cdn") == bundle.count("https://cdn")


def test_report_has_every_section_in_order(
    full_report: tuple[Path, str, dict[str, Any]], read_page: Callable[[str], Any]
) -> None:
    _, page, _ = full_report
    headings = [text for tag, text in read_page(page).headings if tag == "h2"]
    assert headings == list(SECTION_TITLES)


# --------------------------------------------------------------------------- metrics and escaping


def test_report_lists_every_metric_formatted_by_kind(
    full_report: tuple[Path, str, dict[str, Any]], read_page: Callable[[str], Any]
) -> None:
    _, page, inputs = full_report
    table = read_page(page).table("metrics")
    rows = {row.attrs["data-metric"]: row.texts for row in table.rows}
    assert list(rows) == list(inputs["metrics"])
    assert rows["total_return"] == ["Total return", "12.34%"]
    assert rows["max_drawdown"] == ["Max drawdown", "-8.76%"]
    assert rows["sharpe"] == ["Sharpe ratio", "1.23"]
    assert rows["profit_factor"][1] == "\u2014"  # None
    assert rows["alpha"][1] == "\u2014"  # nan
    assert rows["trades"][1] == "42"
    assert rows["avg_win"][1] == "1,234.50"


def test_report_escapes_the_title_and_symbols(
    full_report: tuple[Path, str, dict[str, Any]], read_page: Callable[[str], Any]
) -> None:
    _, page, _ = full_report
    _, rest = split_bundle(page)
    assert "<script>alert(1)</script>" not in page
    assert "<b>X" not in rest
    read = read_page(page)
    # Read back as text, the hostile strings are exactly what the caller gave.
    assert read.title == HOSTILE_TITLE
    assert ("h1", HOSTILE_TITLE) in read.headings
    assert ("h3", HOSTILE_SYMBOL) in read.headings
    assert read.tags["b"] == 0 and read.tags["script"] == len(read.scripts)
    symbols = [row.texts[1] for row in read.table("trades").rows[1:]]
    assert symbols == ["AAA", "AAA", HOSTILE_SYMBOL]


# --------------------------------------------------------------------------- charts


def test_equity_chart_rescales_the_benchmark_to_the_first_equity(
    full_report: tuple[Path, str, dict[str, Any]],
) -> None:
    _, page, inputs = full_report
    traces, layout = plot_data(page, "equity-chart")
    strategy, benchmark = trace(traces, "Strategy"), trace(traces, "Benchmark")
    expected = inputs["benchmark"] / inputs["benchmark"].iloc[0] * inputs["equity"].iloc[0]
    assert benchmark["y"][0] == pytest.approx(strategy["y"][0])
    assert benchmark["y"] == pytest.approx(list(expected))
    assert strategy["x"][0] == plot_time(inputs["equity"].index[0])
    assert layout["yaxis"]["type"] == "linear"
    labels = [b["label"] for b in layout["updatemenus"][0]["buttons"]]
    assert labels == ["Linear", "Log"]


def test_drawdown_chart_shows_the_percentage_below_the_running_peak(
    full_report: tuple[Path, str, dict[str, Any]],
) -> None:
    _, page, inputs = full_report
    traces, _ = plot_data(page, "drawdown-chart")
    equity = inputs["equity"]
    expected = (equity / equity.cummax() - 1.0) * 100.0
    assert trace(traces, "Drawdown")["y"] == pytest.approx(list(expected))
    assert max(trace(traces, "Drawdown")["y"]) == 0.0


def test_heatmap_shows_monthly_returns_in_percent(
    full_report: tuple[Path, str, dict[str, Any]],
) -> None:
    _, page, inputs = full_report
    traces, _ = plot_data(page, "monthly-returns-chart")
    heatmap = traces[0]
    table = monthly_returns(inputs["equity"]) * 100.0
    assert heatmap["y"] == ["2023", "2024"]
    assert heatmap["x"][0] == "Jan"
    assert len(heatmap["x"]) == 12
    for row, expected in zip(heatmap["z"], table.to_numpy(), strict=True):
        for got, want in zip(row, expected, strict=True):
            assert (got is None) if math.isnan(want) else got == pytest.approx(want)


def test_price_chart_marks_long_and_short_entries_and_only_closed_exits(
    full_report: tuple[Path, str, dict[str, Any]],
) -> None:
    _, page, inputs = full_report
    stamps = inputs["equity"].index
    traces, _ = plot_data(page, "price-chart-0")  # AAA: one long, one short, both closed
    long_entry, short_entry = trace(traces, "Long entry"), trace(traces, "Short entry")
    assert long_entry["marker"]["symbol"] == "triangle-up"
    assert long_entry["marker"]["color"] == report_module._GREEN
    assert long_entry["x"] == [plot_time(stamps[10])]
    assert long_entry["y"] == [101.5]
    assert short_entry["marker"]["symbol"] == "triangle-down"
    assert short_entry["marker"]["color"] == report_module._RED
    assert short_entry["x"] == [plot_time(stamps[100])]
    exits = trace(traces, "Exit")
    assert exits["marker"]["symbol"] == "x"
    assert exits["x"] == [plot_time(stamps[40]), plot_time(stamps[130])]
    assert exits["y"] == [110.0, 90.0]

    traces, _ = plot_data(page, "price-chart-1")  # the hostile symbol: one open long
    assert trace(traces, "Long entry")["x"] == [plot_time(stamps[250])]
    assert [t["name"] for t in traces] == ["Close", "Long entry"]  # open: no exit marker


# --------------------------------------------------------------------------- trades table


TRADE_HEADINGS = [
    "#", "Symbol", "Side", "Qty", "Entry time", "Entry price", "Exit time", "Exit price",
    "P&L", "Fees", "Net P&L",
]  # fmt: skip


def test_trades_table_shows_every_trade_with_open_ones_as_open(
    full_report: tuple[Path, str, dict[str, Any]], read_page: Callable[[str], Any]
) -> None:
    _, page, _ = full_report
    table = read_page(page).table("trades")
    assert table.texts == [
        TRADE_HEADINGS,
        # Written out by hand from make_inputs(): business days from 2023-01-02 21:00 UTC.
        ["1", "AAA", "long", "10", "2023-01-16 21:00", "101.50", "2023-02-27 21:00", "110.00",
         "85.00", "1.00", "84.00"],
        ["2", "AAA", "short", "5", "2023-05-22 21:00", "97.25", "2023-07-03 21:00", "90.00",
         "36.25", "0.50", "35.75"],
        ["3", HOSTILE_SYMBOL, "long", "100", "2023-12-18 21:00", "21.00", "open", "\u2014",
         "0.00", "0.25", "-0.25"],
    ]  # fmt: skip
    assert [row.attrs.get("class") for row in table.rows[1:]] == ["closed", "closed", "open"]
    assert "3 trades (1 open)" in page


def trade_rows(page: str, read_page: Callable[[str], Any]) -> list[Any]:
    return list(read_page(page).table("trades").rows[1:])


def test_trades_table_lists_the_first_500_trades_and_the_full_count(
    tmp_path: Path, read_page: Callable[[str], Any]
) -> None:
    inputs = make_inputs()
    count = MAX_TRADE_ROWS + 123
    stamps = inputs["equity"].index
    inputs["trades"] = pd.DataFrame(
        {
            "symbol": ["AAA"] * count,
            "side": ["long", "short"] * (count // 2) + ["long"] * (count % 2),
            "qty": 1.0,
            "entry_ts": [stamps[i % 200] for i in range(count)],
            "entry_price": 100.0,
            "exit_ts": [stamps[i % 200 + 1] for i in range(count)],
            "exit_price": 101.0,
            "pnl": 1.0,
            "fees": 0.1,
        }
    )
    path = render_report(**inputs, path=tmp_path / "many.html")
    page = path.read_text(encoding="utf-8")

    assert len(trade_rows(page, read_page)) == MAX_TRADE_ROWS
    assert f"Showing the first 500 of {count:,} trades (0 open)" in page


@pytest.mark.parametrize(
    "empty",
    [pd.DataFrame(), pd.DataFrame(columns=list(TRADE_COLUMNS))],
    ids=["no-columns", "with-columns"],
)
def test_report_without_trades_says_so_and_still_draws_prices(
    tmp_path: Path, empty: pd.DataFrame
) -> None:
    inputs = make_inputs()
    inputs["trades"] = empty
    page = render_report(**inputs, path=tmp_path / "r.html").read_text(encoding="utf-8")

    assert '<p class="note">No trades.</p>' in page
    assert '<table class="trades">' not in page
    traces, _ = plot_data(page, "price-chart-0")
    assert [t["name"] for t in traces] == ["Close"]


def test_report_without_benchmark_or_prices_keeps_every_section(tmp_path: Path) -> None:
    inputs = make_inputs()
    inputs["benchmark"] = None
    inputs["prices"] = None
    page = render_report(**inputs, path=tmp_path / "r.html").read_text(encoding="utf-8")

    for title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in page
    assert "No benchmark was given." in page
    assert "No prices were given" in page
    traces, _ = plot_data(page, "equity-chart")
    assert [t["name"] for t in traces] == ["Strategy"]
    assert "price-chart-0" not in page


def test_log_scale_starts_the_equity_chart_on_a_log_axis(tmp_path: Path) -> None:
    page = render_report(**make_inputs(), path=tmp_path / "r.html", log_scale=True).read_text(
        encoding="utf-8"
    )
    _, layout = plot_data(page, "equity-chart")
    assert layout["yaxis"]["type"] == "log"
    assert layout["updatemenus"][0]["active"] == 1


# --------------------------------------------------------------------------- output behaviour


def test_same_inputs_render_identical_bytes(tmp_path: Path) -> None:
    first = render_report(**make_inputs(), path=tmp_path / "a.html").read_bytes()
    second = render_report(**make_inputs(), path=tmp_path / "b.html").read_bytes()
    assert first == second


def test_a_failed_write_keeps_the_previous_report_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "report.html"
    path.write_text("previous report", encoding="utf-8")

    def broken_fsync(_descriptor: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)  # the report's module uses os.fsync
    with pytest.raises(OSError, match="disk full"):
        render_report(**make_inputs(), path=path)

    assert path.read_text(encoding="utf-8") == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"trades": pd.DataFrame({"symbol": ["AAA"], "side": ["buy"]})}, "lack column"),
        ({"side": "hold"}, "trade side"),
        ({"entry_ts": pd.NaT}, "no entry_ts"),
        ({"benchmark": pd.Series([1.0], index=[utc("1999-01-01")])}, "benchmark"),
    ],
)
def test_invalid_inputs_raise_before_anything_is_written(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    inputs = make_inputs()
    for column in ("side", "entry_ts"):
        if column in change:
            inputs["trades"].loc[0, column] = change.pop(column)
    inputs.update(change)
    path = tmp_path / "r.html"

    with pytest.raises(ValueError, match=message):
        render_report(**inputs, path=path)
    assert not path.exists()


# --------------------------------------------------------------------------- in a browser


def test_report_renders_in_headless_chromium(
    full_report: tuple[Path, str, dict[str, Any]], tmp_path: Path
) -> None:
    browser = next(
        (b for b in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(b).exists()), None
    )
    if browser is None or shutil.which(browser) is None:
        pytest.skip("no chromium at /usr/bin/chromium; the HTML checks above still ran")
    path, _, _ = full_report
    screenshot = tmp_path / "report.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1280,4000",
            f"--screenshot={screenshot}",
            path.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert screenshot.stat().st_size > 20_000


# --------------------------------------------------------------------------- long runs


def random_walk(count: int, seed: int = 11) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    return np.asarray(100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, count))))


def test_reduction_keeps_both_ends_and_the_global_extremes_exactly() -> None:
    values = random_walk(250_003)  # not a multiple of the bucket count
    keep = chart_series.min_max_indices(values, 4_000)

    assert len(keep) <= 4_000
    assert np.all(np.diff(keep) > 0)  # time order, no repeats
    for position in (0, values.size - 1, int(values.argmin()), int(values.argmax())):
        assert position in keep
    assert values[keep].min() == values.min()
    assert values[keep].max() == values.max()


def test_reduction_keeps_every_buckets_first_lowest_highest_and_last_point() -> None:
    values = random_walk(10_000)
    keep = set(chart_series.min_max_indices(values, 400).tolist())  # 100 buckets of 100

    for start in range(0, 10_000, 100):
        bucket = values[start : start + 100]
        lowest, highest = start + int(bucket.argmin()), start + int(bucket.argmax())
        assert {start, start + 99, lowest, highest} <= keep


def test_reduction_keeps_a_gap_and_ignores_missing_values_for_the_extremes() -> None:
    values = random_walk(100_000)
    values[40_000:41_000] = np.nan
    keep = chart_series.min_max_indices(values, 1_000)

    assert len(keep) <= 1_000
    assert np.isnan(values[keep]).any()  # the line still breaks there
    assert np.nanmin(values[keep]) == np.nanmin(values)
    assert np.nanmax(values[keep]) == np.nanmax(values)


@pytest.mark.parametrize("count", [0, 1, 7, 4_000])
def test_a_series_within_the_limit_is_drawn_untouched(count: int) -> None:
    values = random_walk(count)
    assert chart_series.min_max_indices(values, 4_000).tolist() == list(range(count))


def test_plot_times_are_utc_wall_times_to_the_second() -> None:
    stamps = pd.DatetimeIndex(
        [
            pd.Timestamp("2024-03-10 01:59:59.999", tz="America/New_York"),
            pd.Timestamp("2024-03-10 03:00:00", tz="America/New_York"),
            pd.Timestamp("1999-12-31 18:59:59", tz="America/New_York"),
        ]
    )
    assert chart_series.plot_times(stamps) == [plot_time(s) for s in stamps]
    naive = stamps.tz_convert("UTC").tz_localize(None)
    assert chart_series.plot_times(naive) == [plot_time(s) for s in stamps]


def test_reduced_charts_keep_extremes_and_every_number_comes_from_the_full_run(
    tmp_path: Path,
) -> None:
    inputs = make_inputs()  # 300 bars, drawn as at most 40 points per line
    page = render_report(**inputs, path=tmp_path / "r.html", max_points=40).read_text(
        encoding="utf-8"
    )
    full = render_report(**make_inputs(), path=tmp_path / "full.html").read_text(encoding="utf-8")
    equity = inputs["equity"]

    traces, _ = plot_data(page, "equity-chart")
    strategy = trace(traces, "Strategy")
    assert len(strategy["y"]) <= 40
    assert strategy["y"][0] == equity.iloc[0] and strategy["y"][-1] == equity.iloc[-1]
    assert min(strategy["y"]) == equity.min() and max(strategy["y"]) == equity.max()
    assert strategy["x"][0] == plot_time(equity.index[0])
    assert strategy["x"][-1] == plot_time(equity.index[-1])
    assert len(trace(traces, "Benchmark")["y"]) <= 40

    traces, _ = plot_data(page, "drawdown-chart")
    drawdown = trace(traces, "Drawdown")
    deepest = (equity / equity.cummax() - 1.0) * 100.0
    assert len(drawdown["y"]) <= 40
    assert min(drawdown["y"]) == pytest.approx(deepest.min(), rel=1e-15)
    assert drawdown["x"][drawdown["y"].index(min(drawdown["y"]))] == plot_time(deepest.idxmin())

    traces, _ = plot_data(page, "price-chart-0")
    assert len(trace(traces, "Close")["y"]) <= 40
    assert "drawn as at most 40 points per line" in page
    assert "points per line" not in full  # a short run has no such note
    # Metrics and monthly returns are the full run's, whatever is drawn.
    metric_rows = re.findall(r'<tr data-metric="[^"]+">.*?</tr>', page)
    assert metric_rows == re.findall(r'<tr data-metric="[^"]+">.*?</tr>', full)
    assert plot_data(page, "monthly-returns-chart") == plot_data(full, "monthly-returns-chart")


def test_many_trades_are_marked_in_part_and_the_caption_says_how_many(
    tmp_path: Path, read_page: Callable[[str], Any]
) -> None:
    inputs = make_inputs()
    stamps = inputs["equity"].index
    count = 50
    pnl = [float(i % 7) for i in range(count)]
    pnl[17], pnl[33] = -500.0, 400.0  # the two largest by absolute P&L
    inputs["trades"] = pd.DataFrame(
        {
            "symbol": ["AAA"] * count,
            "side": ["long"] * count,
            "qty": 1.0,
            "entry_ts": [stamps[5 * i] for i in range(count)],
            "entry_price": 100.0,
            "exit_ts": [stamps[5 * i + 2] for i in range(count - 1)] + [pd.NaT],
            "exit_price": [101.0] * (count - 1) + [np.nan],
            "pnl": [*pnl[:-1], np.nan],
            "fees": 0.0,
        }
    )
    page = render_report(**inputs, path=tmp_path / "r.html", max_trade_markers=10).read_text(
        encoding="utf-8"
    )

    assert "50 trades; markers for 10 of 50 trades" in page
    traces, _ = plot_data(page, "price-chart-0")
    entries = trace(traces, "Long entry")["x"]
    assert len(entries) == 10
    assert entries == sorted(entries)
    for row in (count - 1, 17, 33, 0):  # open, largest |P&L| (twice), evenly spaced from the first
        assert plot_time(stamps[5 * row]) in entries
    assert len(trace(traces, "Exit")["x"]) == 9  # the open one has no exit
    assert len(trade_rows(page, read_page)) == count  # the table is not affected


@pytest.mark.parametrize(
    ("limits", "message"),
    [({"max_points": 4}, "max_points"), ({"max_trade_markers": -1}, "max_trade_markers")],
)
def test_limits_out_of_range_are_rejected(
    tmp_path: Path, limits: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        render_report(**make_inputs(), path=tmp_path / "r.html", **limits)
    assert not (tmp_path / "r.html").exists()


def test_a_million_bar_report_stays_a_few_megabytes(tmp_path: Path) -> None:
    count = 1_000_000
    rng = np.random.default_rng(5)
    stamps = pd.date_range("2020-01-01 00:01", periods=count, freq="min", tz="UTC")
    close = random_walk(count, seed=5)
    equity = pd.Series(10_000.0 * close / close[0], index=stamps)
    entries = np.sort(rng.choice(count - 20, size=30_000, replace=False))
    exits = entries + rng.integers(1, 20, entries.size)
    trades = pd.DataFrame(
        {
            "symbol": "RW",
            "side": "buy",
            "qty": 10.0,
            "entry_ts": stamps[entries],
            "entry_price": close[entries],
            "exit_ts": stamps[exits],
            "exit_price": close[exits],
            "pnl": (close[exits] - close[entries]) * 10.0,
            "fees": 0.0,
        }
    )
    path = render_report(
        equity=equity,
        benchmark=pd.Series(close, index=stamps),
        trades=trades,
        prices=pd.DataFrame({"RW": close}, index=stamps),
        metrics={"max_drawdown": -0.25},
        title="a million bars",
        path=tmp_path / "report.html",
    )

    page = path.read_text(encoding="utf-8")
    bundle, rest = split_bundle(page)
    # Plotly's bundle alone is about 4.6 MiB; everything else, all five
    # lines of 4,000 points and 2,000 trades' markers included, is under 1 MiB
    # (it was about 130 MiB when every bar was drawn).
    assert path.stat().st_size < 6 * 2**20
    assert len(rest.encode("utf-8")) < 2**20
    assert "30,000 trades; markers for 2,000 of 30,000 trades" in page
    assert "1,000,000 bars, drawn as at most 4,000 points per line" in page
    traces, _ = plot_data(page, "equity-chart")
    assert all(len(t["y"]) <= report_module.MAX_PLOT_POINTS for t in traces)
    assert min(trace(traces, "Strategy")["y"]) == equity.min()
    assert max(trace(traces, "Strategy")["y"]) == equity.max()
    assert "<td>-25.00%</td>" in page  # the caller's metric, not one of the drawn points
    assert len(bundle) > 1_000_000


# --------------------------------------------------------------------------- through Plotly


def test_charts_are_checked_and_styled_by_plotly(
    full_report: tuple[Path, str, dict[str, Any]],
) -> None:
    """Plotly validated each figure as it wrote it: the named template and colour scale
    arrive expanded into the values Plotly itself registers under those names."""
    import plotly.colors
    import plotly.io as pio

    _, page, _ = full_report
    white = pio.templates["plotly_white"].layout.plot_bgcolor
    for div_id in ("equity-chart", "drawdown-chart", "monthly-returns-chart", "price-chart-0"):
        _, layout = plot_data(page, div_id)
        assert layout["template"]["layout"]["plot_bgcolor"] == white
    traces, _ = plot_data(page, "monthly-returns-chart")
    stops = [colour for _, colour in traces[0]["colorscale"]]
    assert stops == plotly.colors.diverging.RdYlGn


def test_a_misspelt_chart_property_fails_loudly() -> None:
    from alphagate.html_report.charts import chart_html

    with pytest.raises(ValueError, match="colour"):
        chart_html({"data": [{"type": "scatter", "colour": "red"}]}, "chart", 300)


# --------------------------------------------------------------------------- trade inputs


def engine_trades(count: int = 40) -> pd.DataFrame:
    """Trades typed as the engine types them: text columns, UTC times, float64 numbers."""
    rng = np.random.default_rng(9)
    stamps = pd.date_range("2021-06-01 09:30:17", periods=2 * count, freq="53min", tz="UTC")
    exits = pd.Series(stamps[1::2]).where(np.arange(count) % 9 != 4)  # a few still open
    return pd.DataFrame(
        {
            "symbol": pd.array(["AAA", "B<B"] * (count // 2), dtype="str"),
            "side": pd.array(["buy", " SELL", "long", "short"] * (count // 4), dtype="str"),
            "qty": np.round(rng.uniform(1.0, 3_000.0, count), 3),
            "entry_ts": stamps[::2],
            "entry_price": rng.uniform(0.01, 5_000.0, count),
            "exit_ts": exits,
            "exit_price": np.where(exits.isna(), np.nan, rng.uniform(0.01, 5_000.0, count)),
            "pnl": rng.normal(0.0, 2_000.0, count),
            "fees": np.round(rng.uniform(0.0, 5.0, count), 2),
        }
    )


def test_text_sides_give_the_same_trades_as_sides_of_any_other_kind() -> None:
    typed = engine_trades()
    loose = typed.astype({"symbol": object, "side": object}).assign(
        side=[Side.BUY if s.strip().lower() in ("buy", "long") else "sell" for s in typed["side"]],
        exit_ts=list(typed["exit_ts"].astype(object).where(typed["exit_ts"].notna(), None)),
    )
    ours = chart_series.checked_trades(typed)
    assert ours["long"].tolist() == [True, False, True, False] * 10
    pd.testing.assert_frame_equal(ours, chart_series.checked_trades(loose))


@pytest.mark.parametrize("dtype", ["str", object])
def test_an_unknown_side_names_the_first_trade_that_has_one(dtype: str | type) -> None:
    sides = pd.Series(["buy", "SELL ", "sell", "hold?", "hold", "buy"], dtype=dtype)
    with pytest.raises(ValueError, match=r"trade side must be one of .*, got 'hold\?'$"):
        chart_series.is_long(sides)


def test_trades_table_cells_are_each_trades_values_formatted(
    read_page: Callable[[str], Any],
) -> None:
    from alphagate.backtest import report_tables as tables

    trades = chart_series.checked_trades(engine_trades())
    trades.loc[2, "entry_price"] = np.nan
    rows = trade_rows(tables.trades_table(trades), read_page)
    assert len(rows) == len(trades)
    for number, (row, trade) in enumerate(
        zip(rows, trades.itertuples(index=False), strict=True), start=1
    ):
        record: Any = trade
        is_open = pd.isna(record.exit_ts)
        assert row.texts == [
            str(number),
            record.symbol,
            "long" if record.long else "short",
            tables.format_quantity(record.qty),
            tables.format_ts(record.entry_ts),
            tables.format_price(record.entry_price),
            "open" if is_open else tables.format_ts(record.exit_ts),
            tables.format_price(record.exit_price),
            tables.format_amount(record.pnl),
            tables.format_amount(record.fees),
            tables.format_amount(record.pnl - record.fees),
        ]


def test_a_benchmark_that_starts_late_is_anchored_at_its_first_positive_value() -> None:
    equity = make_inputs()["equity"]
    benchmark = pd.Series(np.linspace(50.0, 80.0, len(equity)), index=equity.index)
    benchmark.iloc[:3] = [np.nan, 0.0, -1.0]
    rescaled = chart_series.rescaled_benchmark(benchmark, equity)
    assert np.isnan(rescaled[0])
    assert rescaled[3] == pytest.approx(equity.iloc[3])
    assert rescaled[-1] == pytest.approx(80.0 * equity.iloc[3] / benchmark.iloc[3])
