"""Epoch nanoseconds boxed as UTC ``pd.Timestamp`` objects, at a cost the order path can bear.

The event loop keeps time as int64 nanoseconds and boxes a ``Timestamp``
only for what leaves it (an order's decision time, a bar shown to the venue):
a few per order, tens of thousands in a long backtest. The public
constructor, ``pd.Timestamp(ns, tz=UTC)``, parses its arguments generically
and takes about 2.3 µs; pandas' own boxing of a known nanosecond value, the
one its arrays use, takes about 1 µs. That one is private, so it is used only
when it is there and boxes a probe exactly as the constructor does, checked
once at import; otherwise the constructor serves (tested both ways).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Final, cast

import pandas as pd

NANOSECONDS: Final = 10
"""NumPy's code for nanosecond resolution (``NPY_FR_ns``), the box's second argument."""

UTC: Final = dt.UTC

Boxer = Callable[[int, int, dt.tzinfo], pd.Timestamp]
_PROBE: Final = 1_700_000_000_123_456_789  # 2023-11-14 22:13:20.123456789 UTC


def box_with_constructor(value: int, resolution: int, tz: dt.tzinfo) -> pd.Timestamp:
    """``pd.Timestamp(value, tz=tz)``, for nanoseconds (the only ``resolution`` the loop uses)."""
    if resolution != NANOSECONDS:
        raise ValueError(f"only nanosecond values are boxed here, got resolution {resolution}")
    return pd.Timestamp(value, tz=tz)


def exact_or_constructor(candidate: object) -> Boxer:
    """``candidate`` when it boxes the probe exactly as the constructor does, else the constructor.

    ``candidate`` is pandas' internal ``Timestamp._from_value_and_reso`` when it
    exists (or ``None``); a changed signature or result falls back, never fails.
    """
    if not callable(candidate):
        return box_with_constructor
    expected = box_with_constructor(_PROBE, NANOSECONDS, UTC)
    try:
        boxed = candidate(_PROBE, NANOSECONDS, UTC)
    except Exception:
        return box_with_constructor
    same = (
        type(boxed) is pd.Timestamp
        and boxed.value == expected.value
        and boxed.unit == expected.unit
        and boxed.tzinfo is expected.tzinfo
    )
    return cast("Boxer", candidate) if same else box_with_constructor


box_utc_ns: Final[Boxer] = exact_or_constructor(getattr(pd.Timestamp, "_from_value_and_reso", None))
"""Call as ``box_utc_ns(ns, NANOSECONDS, UTC)``: no wrapper between the caller and the box."""


def utc_timestamp(ns: int) -> pd.Timestamp:
    """The UTC ``Timestamp`` of ``ns`` nanoseconds since the epoch."""
    return box_utc_ns(ns, NANOSECONDS, UTC)
