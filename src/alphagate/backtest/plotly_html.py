"""Plotly charts on an HTML page, without Plotly's figure classes.

The backtest report's charts are written as the plain dicts Plotly makes of
its figures (``Figure.to_dict()``) and put on the page the way
``plotly.io.to_html`` puts them; the tests hold both to Plotly's own output.
Building the figure objects checked every value, imported a class for every
kind of property and copied the whole template into each chart: most of the
report's time, for charts whose every value is fixed by the report. Only
Plotly's package data (its JavaScript bundle and templates) is read.
"""

from __future__ import annotations

import base64
import json
import pkgutil
from collections.abc import Mapping
from typing import Any

import numpy as np

Figure = dict[str, Any]
"""A chart as the plain dict Plotly makes of a figure: ``data`` and ``layout``."""


def plotly_file(name: str) -> str:
    """A file of Plotly's package data, read as Plotly reads it, without importing its modules."""
    data = pkgutil.get_data("plotly", f"package_data/{name}")
    if data is None:
        raise FileNotFoundError(f"plotly's package data has no {name}")
    return data.decode("utf-8")


def plotly_template(name: str) -> dict[str, Any]:
    """A registered Plotly template, as ``plotly.io.templates[name]`` gives it: data, layout.

    Read from Plotly's own file: building the template object would import
    Plotly's figure machinery (a tenth of a second) only to hand the file's
    values back. A figure object would also reorder the keys as it checks
    them; the values are the same, and so is the drawing.
    """
    stored = json.loads(plotly_file(f"templates/{name}.json"))
    return {"data": stored["data"], "layout": stored["layout"]}


def plotly_json(value: object) -> str:
    """JSON as Plotly writes a figure into a page (``plotly.io.to_json_plotly``, ``json`` engine).

    Compact, with NaN and infinities as ``null`` (strict JSON), and ``<``, ``>``
    and ``/`` escaped so that no text can close the page's script element.
    Plotly reads back and rewrites any text that merely contains "NaN" or
    "Infinity", as base64 data often does, to the same text; only a number
    that is NaN or infinite is rewritten here.
    """
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        loose = json.dumps(value, separators=(",", ":"))
        strict = json.loads(loose, parse_constant=lambda _: None)
        text = json.dumps(strict, separators=(",", ":"))
    for unsafe, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("/", "\\u002f")):
        text = text.replace(unsafe, escaped)
    return text


def chart_html(
    fig: Figure, div_id: str, height: str, bundle: str | None, config: Mapping[str, object]
) -> str:
    """One chart's HTML, as ``plotly.io.to_html(fig, full_html=False, ...)`` writes it.

    ``bundle`` is Plotly's JavaScript, inlined before the chart, or None when
    an earlier chart of the page carried it. The charts are plain dicts
    already, so the page is assembled here: Plotly's ``to_html`` would import
    its figure machinery only to check that they are dicts.
    """
    load = (
        "        <script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>\n"
        f"        <script>{bundle}</script>    "
        if bundle is not None
        else ""
    )
    script = (
        f'                if (document.getElementById("{div_id}")) {{'
        "                    Plotly.newPlot("
        f'                        "{div_id}",'
        f"                        {plotly_json(fig['data'])},"
        f"                        {plotly_json(fig['layout'])},"
        f"                        {json.dumps(config)}"
        "                    )"
        "                }"
    )
    return (
        f'<div style="height:{height}; width:100%;">'
        "        "  # where plotly.io puts MathJax, which no chart here uses
        f"        {load}"
        f'            <div id="{div_id}" class="plotly-graph-div" '
        'style="height:100%; width:100%;"></div>'
        "            <script>"
        "                window.PLOTLYENV=window.PLOTLYENV || {};"
        f"                {script};"
        "            </script>"
        "        </div>"
    ).strip()


def typed_array(values: np.ndarray[Any, Any]) -> object:
    """Floats as Plotly writes an array into a page: base64 of the bytes, as a typed array.

    Plotly's ``to_typed_array_spec``: ``dtype`` ``f8``, ``bdata``, and for more
    than one dimension a ``shape`` like ``"2, 12"``; an empty array stays a list.
    """
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.size == 0:
        return []
    spec = {"dtype": "f8", "bdata": base64.b64encode(array.tobytes()).decode("ascii")}
    if array.ndim > 1:
        spec["shape"] = str(array.shape)[1:-1]
    return spec


def colorscale(colours: list[str]) -> list[list[object]]:
    """A named colour sequence as the stops Plotly's colorscale validator turns it into."""
    last = len(colours) - 1
    return [[(1.0 * i) / (1.0 * last), colour] for i, colour in enumerate(colours)]
