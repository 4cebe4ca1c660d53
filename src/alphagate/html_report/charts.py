"""Plotly figures on a page, written by ``plotly.io.to_html``; the bundle read by Plotly too.

A figure is the plain dict Plotly documents (``data`` and ``layout``), and
Plotly validates it as it writes it (``validate=True``): a misspelt property
fails here, not silently in the reader's browser. Plotly's JavaScript is not
written beside each chart but once per page by :class:`~alphagate.html_report.Page`,
from :func:`plotly.offline.get_plotlyjs`, so the page works offline and a page
of eight charts carries one 4.8 MB bundle, not eight.

Plotly is imported when the first chart is drawn, not with this module: the
command line imports the reports' modules on every start, and most commands
draw no chart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

TEMPLATE: Final = "plotly_white"
"""The look of every chart whose layout names no template of its own."""

CONFIG: Final[Mapping[str, object]] = {"displaylogo": False, "responsive": True}
"""Plotly.js options of every chart: no Plotly logo in the toolbar; resize with the window."""

_WINDOW_CONFIG: Final = "window.PlotlyConfig = {MathJaxConfig: 'local'};"
"""What ``plotly.io.to_html`` runs before its inlined bundle: Plotly leaves MathJax alone."""


def chart_html(figure: Mapping[str, Any], div_id: str, height: int) -> str:
    """One figure as an HTML fragment, ``height`` pixels tall, for a page that loads Plotly.

    ``div_id`` is fixed by the caller rather than Plotly's random UUID, so the
    same figure always gives the same bytes and two reports can be compared
    with ``diff``.

    Raises
    ------
    ValueError
        When Plotly finds the figure invalid (its message names the property).
    """
    import plotly.io as pio

    layout = {"template": TEMPLATE, **figure.get("layout", {}), "height": height}
    text: str = pio.to_html(
        {**figure, "layout": layout},
        config=dict(CONFIG),
        include_plotlyjs=False,
        full_html=False,
        div_id=div_id,
        validate=True,
    )
    return text


def plotly_bundle() -> str:
    """The ``<script>`` elements that load Plotly from the page itself, as ``to_html`` does."""
    from plotly.offline import get_plotlyjs

    return f"<script>{_WINDOW_CONFIG}</script>\n<script>{get_plotlyjs()}</script>"
