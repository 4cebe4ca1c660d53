"""Instants on the order path: int64 nanoseconds since the epoch, UTC.

Bars, order requests, fills and trades carry their times as plain ints
(``ts_init``, ``ts_event``, ...), the representation the kernel and its
market data already use. A boxed ``pandas.Timestamp`` per order and per
fill cost more to build and compare than the rest of the order's values;
times are boxed once per column where a person or a file reads them
(result frames, reports, risk events).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from alphagate.domain.bars import NAT_NS

NS_PER_DAY: Final = 86_400 * 10**9
"""Nanoseconds in a UTC day: ``ts // NS_PER_DAY`` is the day number since the epoch."""
_INT64_MAX: Final = 2**63 - 1


def check_ns(value: object, what: str) -> int:
    """Return ``value`` as a Python int of nanoseconds, or raise naming ``what``.

    A NumPy integer (a value read from an int64 column) is accepted and
    turned into a Python int; a ``bool`` is refused although Python counts it
    as an int, since ``True`` as a time is always a mistake. A ``Timestamp``
    or ``datetime`` is refused rather than converted: the message says how
    to convert it, so the caller does it once, where the time enters.

    Raises
    ------
    ValueError
        When ``value`` is not an integer number of nanoseconds, or one outside
        int64 (or int64's minimum, which pandas reads as ``NaT``).
    """
    if type(value) is int:  # the common case, checked first: every bar and order passes here
        number = value
    elif isinstance(value, int | np.integer) and not isinstance(value, bool):  # np.bool_ is neither
        number = int(value)
    else:
        number = None
    if number is not None:
        # The int64 range less its minimum, which pandas reads as NaT: a time that
        # would overflow or vanish when its column is boxed is refused here.
        if NAT_NS < number <= _INT64_MAX:
            return number
        raise ValueError(f"{what} is outside the int64 ns range (NaT excluded), got {value!r}")
    hint = " (a Timestamp's .value is that)" if hasattr(value, "value") else ""
    raise ValueError(f"{what} must be int64 ns since the epoch (UTC){hint}, got {value!r}")
