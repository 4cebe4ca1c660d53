"""Images carried inside the page as ``data:`` URIs, so the report needs no file beside it."""

from __future__ import annotations

import base64
import html


def image(data: bytes, alt: str, *, mime: str = "image/png", css_class: str = "") -> str:
    """An ``<img>`` whose source is ``data`` itself; ``alt`` is escaped text."""
    encoded = base64.b64encode(data).decode("ascii")
    attribute = f' class="{html.escape(css_class)}"' if css_class else ""
    return f'<img{attribute} alt="{html.escape(alt)}" src="data:{mime};base64,{encoded}">'
