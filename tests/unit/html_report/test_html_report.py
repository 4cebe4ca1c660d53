"""Tests for the HTML kit every report is built with, read back with ``html.parser``."""

from __future__ import annotations

import base64
import math
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphagate.html_report import (
    DASH,
    Cell,
    Column,
    Page,
    Row,
    format_number,
    frame_table,
    image,
    note,
    table,
)

HOSTILE = '<script>alert("x")</script> & co'


def wrapped(fragment: str) -> str:
    return f"<!DOCTYPE html><html><head><title>t</title></head><body>{fragment}</body></html>"


def small_figure(values: list[float]) -> dict[str, Any]:
    return {"data": [{"type": "scatter", "y": values}], "layout": {}}


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("value", "spec", "shown"),
    [
        (1234.5678, "{:,.2f}", "1,234.57"),
        (np.int64(1_000_000), "{:,d}", "1,000,000"),
        (np.float32(0.25), "{:.2f}", "0.25"),
        (None, "{:.2f}", DASH),
        (math.nan, "{:.2f}", DASH),
        (True, "{:.2f}", DASH),  # JSON's true is not a number
        ("12", "{:.2f}", DASH),
        (math.inf, "{:.2f}", "\u221e"),
        (-math.inf, "{:.2f}", "\u2212\u221e"),
    ],
)
def test_a_number_is_formatted_and_anything_undefined_is_the_dash(
    value: object, spec: str, shown: str
) -> None:
    assert format_number(value, spec) == shown


# --------------------------------------------------------------------------- tables


def test_a_table_escapes_text_and_keeps_the_callers_markup(
    read_page: Callable[[str], Any],
) -> None:
    columns = (Column("name <i>", text=True, row_header=True), Column("value"))
    rows = [
        Row([HOSTILE, "1.50"], css_class="first", data={"key": 'a"b'}),
        [Cell("x", data={"value": "0.1"}), Cell(markup="<code>y</code>")],
    ]
    text = table(columns, rows, css_class="kv")
    read = read_page(wrapped(text))

    found = read.table("kv")
    assert found.texts == [["name <i>", "value"], [HOSTILE, "1.50"], ["x", "y"]]
    assert read.tags["script"] == 0 and read.tags["i"] == 0 and read.tags["code"] == 1
    assert found.rows[1].attrs == {"class": "first", "data-key": 'a"b'}
    assert [cell.tag for cell in found.rows[1].cells] == ["th", "td"]
    assert found.rows[1].cells[0].attrs == {"class": "text"}  # text is left-aligned
    assert found.rows[2].cells[0].attrs == {"class": "text", "data-value": "0.1"}
    assert found.rows[2].cells[1].attrs == {}  # numbers keep the right alignment


def test_a_row_with_a_missing_cell_is_refused() -> None:
    with pytest.raises(ValueError, match="row 1 has 1 cells for 2 columns"):
        table((Column("a"), Column("b")), [["1", "2"], ["3"]])


def test_a_frame_table_formats_each_column_by_its_own_rule(
    read_page: Callable[[str], Any],
) -> None:
    frame = pd.DataFrame(
        {"symbol": ["A<B", "C"], "price": [1234.5, np.nan], "qty": [np.int64(3), np.int64(40)]}
    )
    columns = (
        Column("Symbol", text=True, key="symbol"),
        Column("Price", key="price", format=lambda v: format_number(v, "{:,.2f}")),
        Column("Qty", key="qty", format=lambda v: format_number(v, "{:d}")),
    )
    text = frame_table(frame, columns, row_classes=["open", "closed"], scroll=True)
    read = read_page(wrapped(text))

    assert read.tables[0].texts == [
        ["Symbol", "Price", "Qty"],
        ["A<B", "1,234.50", "3"],
        ["C", DASH, "40"],
    ]
    assert [row.attrs.get("class") for row in read.tables[0].rows] == [None, "open", "closed"]
    assert text.startswith('<div class="table-scroll">')


# --------------------------------------------------------------------------- page


def test_a_page_without_charts_is_self_contained_and_runs_no_script(
    read_page: Callable[[str], Any],
) -> None:
    page = Page(HOSTILE, subtitle="a < b", css="td.x { color: red; }")
    page.add_section("one", "First & only", note("1 < 2"), image(b"\x89PNG data", alt="a<b"))

    read = read_page(page.html())
    read.assert_self_contained()
    assert read.title == HOSTILE
    assert read.headings == [("h1", HOSTILE), ("h2", "First & only")]
    assert read.sections == ["one"]
    assert read.scripts == []
    assert read.tags["style"] == 1
    assert read.images[0]["alt"] == "a<b"
    assert base64.b64decode(read.images[0]["src"].split(",", 1)[1]) == b"\x89PNG data"


def test_a_page_with_charts_inlines_plotly_once_before_the_first_chart(
    read_page: Callable[[str], Any],
) -> None:
    page = Page("charts")
    page.add_section("a", "A", page.chart(small_figure([1.0, 2.0]), "chart-a", 300))
    page.add_section("b", "B", page.chart(small_figure([3.0, 1.0]), "chart-b", 200))
    text = page.html()

    read = read_page(text)
    read.assert_self_contained()
    # Plotly's own minified bundle, read from its package data rather than through the kit.
    shipped = pkgutil.get_data("plotly", "package_data/plotly.min.js")
    assert shipped is not None
    bundles = [body for _, body in read.scripts if body == shipped.decode("utf-8")]
    assert len(bundles) == 1
    assert text.index(bundles[0]) < text.index('id="chart-a"') < text.index('id="chart-b"')
    assert text.count("Plotly.newPlot(") == 2
    assert 'style="height:300px; width:100%;"' in text  # each chart at its own height
    assert 'style="height:200px; width:100%;"' in text


def test_the_same_page_gives_the_same_bytes_and_is_written_whole(tmp_path: Path) -> None:
    def build() -> Page:
        page = Page("same")
        page.add_section("a", "A", page.chart(small_figure([1.0, 2.0]), "chart-a", 300))
        return page

    path = build().write(tmp_path / "deep" / "report.html")
    assert path.read_text(encoding="utf-8") == build().html()
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]
