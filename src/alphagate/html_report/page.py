"""The page shell: title, one inline stylesheet, sections, Plotly once, an atomic write.

A :class:`Page` is assembled section by section and knows whether any chart
was drawn on it, so Plotly's bundle is put in the page's head exactly once
when there is one and not at all when there is none (a page of tables and
images carries no script). The shared stylesheet uses the system's fonts and
nothing from the network; a report adds its own few rules after it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from alphagate.atomic import write_text_atomically
from alphagate.html_report.charts import chart_html, plotly_bundle

BASE_CSS: Final = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       margin: 0 auto; max-width: 1200px; padding: 1.5rem; color: #1f2933; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #d9dee3; padding-bottom: 0.3rem;
     margin-top: 2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 0.4rem; }
.subtitle, .note { color: #616e7c; font-size: 0.9rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.6rem 0; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #eef0f2; text-align: right;
         white-space: nowrap; font-variant-numeric: tabular-nums; }
th { background: #f5f7fa; }
td.text, th.text { text-align: left; white-space: normal; }
.table-scroll { overflow-x: auto; }
img { max-width: 100%; }
"""


def note(text: str) -> str:
    """A short explanatory paragraph (escaped text) under a heading or above a table."""
    return f'<p class="note">{html.escape(text)}</p>'


class Page:
    """One self-contained HTML document, assembled in reading order.

    Parameters
    ----------
    title
        The document's title and its ``<h1>`` (escaped).
    subtitle
        A line under the heading (escaped); none when empty.
    css
        The report's own rules, appended to :data:`BASE_CSS` in the one
        ``<style>`` element.
    """

    def __init__(self, title: str, *, subtitle: str = "", css: str = "") -> None:
        self._title = title
        self._subtitle = subtitle
        self._css = css
        self._sections: list[str] = []
        self._charts = 0

    def add_section(self, anchor: str, heading: str, *parts: str) -> None:
        """Append a ``<section id=anchor>`` headed ``heading`` (escaped) holding HTML ``parts``."""
        body = "\n".join(part for part in parts if part)
        self._sections.append(
            f'<section id="{html.escape(anchor)}">\n<h2>{html.escape(heading)}</h2>\n'
            f"{body}\n</section>"
        )

    def chart(self, figure: Mapping[str, Any], div_id: str, height: int) -> str:
        """A Plotly figure as HTML for a section of this page (see :func:`chart_html`).

        The page then loads Plotly once, in its head, before any chart runs.
        """
        self._charts += 1
        return chart_html(figure, div_id, height)

    def html(self) -> str:
        """The whole document."""
        title = html.escape(self._title)
        head = [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title}</title>",
            f"<style>{BASE_CSS}{self._css}</style>",
        ]
        if self._charts:
            head.append(plotly_bundle())
        body = ["</head>", "<body>", f"<h1>{title}</h1>"]
        if self._subtitle:
            body.append(f'<p class="subtitle">{html.escape(self._subtitle)}</p>')
        return "\n".join([*head, *body, *self._sections, "</body>", "</html>", ""])

    def write(self, path: Path) -> Path:
        """Write the document to ``path`` atomically (parents created); return ``path``."""
        return write_text_atomically(path, self.html())
