"""Fixtures of the CCXT adapter tests: the local Binance server and a venue wired to it.

``connect`` opens the adapter exactly as ``open_venue`` does for a user,
with only ``venues.ccxt.urls`` and the keys in the environment pointing
at the server; every test then asserts the server's truth (its orders,
balances and request counts) beside what the engine was told.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ccxt_helpers import SYMBOL, environ_for, settings_for

from alphagate.adapters.ccxt.venue import CcxtVenue, open_venue
from servers.binance_server import BinanceServer, BinanceState

Connect = Callable[..., tuple[BinanceServer, CcxtVenue]]


@pytest.fixture
def connect() -> Iterator[Connect]:
    """``connect(state, **open_venue_kwargs)`` -> (server, CcxtVenue); all closed after the test."""
    opened: list[tuple[BinanceServer, CcxtVenue]] = []
    servers: dict[int, BinanceServer] = {}

    def open_one(state: BinanceState, **kwargs: Any) -> tuple[BinanceServer, CcxtVenue]:
        server = servers.get(id(state))
        if server is None:
            server = servers[id(state)] = BinanceServer(state).__enter__()
        kwargs.setdefault("symbols", (SYMBOL,))
        kwargs.setdefault("timeout_ms", 1_000)
        kwargs.setdefault("grace_s", 0.0)
        venue = open_venue(settings_for(server.url), environ_for(state), **kwargs)
        opened.append((server, venue))
        return server, venue

    yield open_one
    for _, venue in reversed(opened):
        venue.close()
    for server in servers.values():
        server.__exit__(None, None, None)
