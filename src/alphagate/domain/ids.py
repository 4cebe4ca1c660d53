"""Deterministic client order ids: one decision, one id, however often it is replayed.

The id is derived from what the order *is* (the strategy that decided, the
symbol, the decision time and the leg: entry, stop, take-profit, ...), never
from a counter, a clock or a random number. A decision replayed after a crash
therefore names the same order, and the venue, which refuses a second order
with a client id it already holds, turns a would-be duplicate into a harmless
"already exists" (RELIABILITY: the client id is derived once per intent,
never per attempt; invariant I1).

Format: ``ag`` followed by the first 30 hexadecimal digits (``0-9a-f``) of
the SHA-256 of the inputs, 32 characters in all. That fits the strictest
limit among the venues we target: OKX takes 1-32 alphanumeric characters,
Binance 36 characters of ``[.A-Z:/a-z0-9_-]``, Alpaca at least 48. The id is
alphanumeric, so it also satisfies the looser ``[A-Za-z0-9-_]`` rule every
adapter may assume. 30 hex digits keep 120 bits of the hash: the chance
that any two of a billion orders collide is below 1e-18.

The hashed text is the scheme name and the four inputs, each written as a
netstring (``<length in characters>:<text>,``, the instant as its decimal
ns), one after the other, encoded as UTF-8. The length prefixes keep the
fields apart: ``("ab", "c")`` and ``("a", "bc")`` are different texts.

The scheme is ``v2``. ``v1`` hashed a JSON array and kept 150 bits as
base32; it was replaced before any journal existed to hold its ids (the
live driver journals ids; a later scheme change must keep deriving the ids
already journaled). Every order derives one, and the standard library's
base32 is a Python loop where its hex is not.

The id is opaque on purpose: symbols such as ``BTC/USDT`` or long strategy
names would need escaping and truncation to be readable, and the journal
already maps every id back to its intent.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

import pandas as pd

from alphagate.domain.instants import check_ns

CLIENT_ORDER_ID_PREFIX: Final = "ag"
CLIENT_ORDER_ID_LENGTH: Final = 32
"""Characters in an id, prefix included; see the module docstring for the venues' limits."""

CLIENT_ORDER_ID_PATTERN: Final = re.compile(r"^ag[0-9a-f]{30}$")
"""What every id this module makes looks like."""

_SCHEME: Final = "alphagate/client-order-id/v2"
# Hashed first, as a netstring like the inputs, so that changing how ids are
# derived is a new scheme name and can never silently reproduce an old id for
# a different intent.
_SCHEME_FIELD: Final = f"{len(_SCHEME)}:{_SCHEME},"


def client_order_id(strategy: str, symbol: str, decision_ts: int | pd.Timestamp, leg: str) -> str:
    """Return the client order id of one leg of one decision.

    Parameters
    ----------
    strategy
        The deciding strategy's stable name (not its run id: a restarted run
        must produce the same ids).
    symbol
        The traded symbol, as the engine spells it.
    decision_ts
        When the decision was made: int64 ns since the epoch (UTC), as the
        kernel and ``OrderRequest.ts_init`` hold it, or a tz-aware Timestamp.
        Only the instant counts: the same moment as an int, or written in
        another time zone or another resolution, gives the same id.
    leg
        Which order of the decision this is (``entry``, ``stop``, ``take_profit``),
        so a bracket's orders get distinct ids.

    Raises
    ------
    ValueError
        When a text input is empty, or ``decision_ts`` is neither an integer
        nor a tz-aware Timestamp (a naive time is ambiguous by hours, and
        guessing it would make ids differ between machines).
    """
    if not (strategy and symbol and leg):
        name = "strategy" if not strategy else "symbol" if not symbol else "leg"
        raise ValueError(f"client_order_id: {name} must not be empty")
    if type(decision_ts) is int:  # the kernel's case, once per order
        instant = decision_ts
    elif isinstance(decision_ts, pd.Timestamp):
        if decision_ts.tzinfo is None:
            raise ValueError(
                "client_order_id: decision_ts must be int64 ns since the epoch (UTC) or a "
                f"tz-aware Timestamp, got the naive {decision_ts!r}"
            )
        # ``value`` is nanoseconds since the epoch in UTC, whatever the zone and unit.
        instant = decision_ts.value
    else:
        instant = check_ns(decision_ts, "client_order_id: decision_ts")
    # The instant enters the payload as its decimal ns, however it was given, so
    # an id made from ns and one made from the same moment's Timestamp are one id.
    ns = str(instant)
    payload = (
        f"{_SCHEME_FIELD}{len(strategy)}:{strategy},{len(symbol)}:{symbol},"
        f"{len(ns)}:{ns},{len(leg)}:{leg},"
    )
    digest = hashlib.sha256(payload.encode()).hexdigest()
    return CLIENT_ORDER_ID_PREFIX + digest[: CLIENT_ORDER_ID_LENGTH - len(CLIENT_ORDER_ID_PREFIX)]
