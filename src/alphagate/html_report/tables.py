"""Tables from rows or frames, every caller string escaped, numbers formatted by column.

A table is declared by its columns: a heading, whether the column holds text
(left-aligned) or numbers (right-aligned, the default, so digits line up),
and for a frame, which column it reads and how a value becomes text. Cells
are text unless the caller hands in markup it built itself (a ``<code>`` or a
status badge), so escaping is the default and markup is the exception that
is spelled out. Rows and cells may carry ``data-*`` attributes holding the
exact value behind a formatted cell, so a script or a test can read the page
back without parsing its display format.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its heading (text), alignment, and for frames its source and format.

    ``row_header`` makes the column's cells ``<th>``: the label column of a
    key/value table. ``key`` names the frame column :func:`frame_table` reads
    (the heading when empty) and ``format`` turns each of its values into
    text.
    """

    heading: str
    text: bool = False
    row_header: bool = False
    key: str = ""
    format: Callable[[Any], str] = str


@dataclass(frozen=True, slots=True)
class Cell:
    """A cell's content: ``text`` (escaped), or ``markup`` the caller built, and attributes."""

    text: str = ""
    markup: str | None = None
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Row:
    """A row of cells (plain strings are text cells), with a class and ``data-*`` attributes."""

    cells: Sequence[str | Cell]
    css_class: str = ""
    data: Mapping[str, str] = field(default_factory=dict)


def table(
    columns: Sequence[Column],
    rows: Iterable[Row | Sequence[str | Cell]],
    *,
    css_class: str = "",
    header: bool = True,
    scroll: bool = False,
) -> str:
    """An HTML table of ``rows`` under ``columns``; ``header=False`` leaves out the heading row.

    ``scroll`` wraps a wide table in a box that scrolls sideways instead of
    widening the page.

    Raises
    ------
    ValueError
        When a row has another number of cells than there are columns.
    """
    lines = [f"<table{_attributes(css_class, {})}>"]
    if header:
        lines.append(
            "<tr>"
            + "".join(f"<th{_align(c)}>{html.escape(c.heading)}</th>" for c in columns)
            + "</tr>"
        )
    for number, row in enumerate(rows):
        line = row if isinstance(row, Row) else Row(row)
        if len(line.cells) != len(columns):
            raise ValueError(f"row {number} has {len(line.cells)} cells for {len(columns)} columns")
        cells = "".join(_cell(c, column) for c, column in zip(line.cells, columns, strict=True))
        lines.append(f"<tr{_attributes(line.css_class, line.data)}>{cells}</tr>")
    lines.append("</table>")
    body = "\n".join(lines)
    return f'<div class="table-scroll">{body}</div>' if scroll else body


def frame_table(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    *,
    row_classes: Sequence[str] | None = None,
    css_class: str = "",
    scroll: bool = False,
) -> str:
    """:func:`table` of a frame's rows: each column's ``key`` read and its ``format`` applied.

    Raises
    ------
    KeyError
        When ``frame`` lacks a column's ``key``.
    """
    texts = [[column.format(v) for v in frame[column.key or column.heading]] for column in columns]
    classes = row_classes if row_classes is not None else [""] * len(frame)
    rows = (
        Row(list(cells), row_class)
        for cells, row_class in zip(zip(*texts, strict=True), classes, strict=True)
    )
    return table(columns, rows, css_class=css_class, scroll=scroll)


def _cell(cell: str | Cell, column: Column) -> str:
    tag = "th" if column.row_header else "td"
    if isinstance(cell, str):
        return f"<{tag}{_align(column)}>{html.escape(cell)}</{tag}>"
    content = cell.markup if cell.markup is not None else html.escape(cell.text)
    return f"<{tag}{_attributes('text' if column.text else '', cell.data)}>{content}</{tag}>"


def _align(column: Column) -> str:
    return ' class="text"' if column.text else ""


def _attributes(css_class: str, data: Mapping[str, str]) -> str:
    parts = [f' class="{html.escape(css_class)}"'] if css_class else []
    parts += [f' data-{html.escape(k)}="{html.escape(v)}"' for k, v in data.items()]
    return "".join(parts)
