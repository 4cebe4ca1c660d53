"""How a report writes a number it may not have: one dash, one infinity, one format call.

Every report reads numbers from JSON and frames where "undefined" arrives as
``None``, ``NaN`` or a missing key; all of them are shown as the same dash so
a reader learns one sign. An infinite value (a profit factor with no losing
trade) is real and shown as infinity, not hidden behind the dash.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Final

DASH: Final = "\u2014"
"""Shown for a value that is missing or undefined."""


def format_number(value: object, spec: str = "{:,.4g}") -> str:
    """``value`` through the format ``spec``; the dash when missing, ``∞`` when infinite.

    ``bool`` is not a number here (JSON's ``true`` is not ``1``), and a value
    of another type (text, say) gets the dash too, so a malformed file shows a
    gap instead of breaking the page. NumPy's numbers are numbers.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        return DASH
    number = float(value)
    if math.isnan(number):
        return DASH
    if math.isinf(number):
        return "\u221e" if number > 0 else "\u2212\u221e"
    return spec.format(value)
