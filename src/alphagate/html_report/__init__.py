"""The small kit every HTML report is built with: page, tables, numbers, images, charts.

Reports are read long after a run, on other machines, offline, attached to a
review. So every page is one self-contained file: one inline stylesheet,
images as ``data:`` URIs, Plotly's JavaScript inlined once when the page has
charts, and nothing fetched from the network. Every string a caller hands in
as text is escaped here, so a symbol such as ``<b>X&Y`` is shown as written
and never read as markup. Pages are written atomically, so a reader sees the
old report or the new one, never half of one.
"""

from __future__ import annotations

from alphagate.html_report.images import image
from alphagate.html_report.numbers import DASH, format_number
from alphagate.html_report.page import Page, note
from alphagate.html_report.tables import Cell, Column, Row, frame_table, table

__all__ = [
    "DASH",
    "Cell",
    "Column",
    "Page",
    "Row",
    "format_number",
    "frame_table",
    "image",
    "note",
    "table",
]
