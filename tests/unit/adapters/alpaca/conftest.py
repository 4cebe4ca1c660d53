"""The Alpaca test server, and the adapter pointed at it exactly as a user points it at Alpaca."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from alpaca_helpers import Connected

from alphagate.adapters.alpaca.client import AlpacaClient
from alphagate.adapters.broker.pacing import Pacing
from alphagate.adapters.broker.retry import RetryPolicy
from alphagate.adapters.broker.venue import BrokerVenue
from servers.alpaca_server import KEY_ID, SCENARIOS, SECRET_KEY, AlpacaServer, Scenario


@pytest.fixture
def connect() -> Iterator[Callable[..., Connected]]:
    """``connect(scenario, **scenario_fields)``: a running server and the venue on it."""
    opened: list[Connected] = []

    def make(
        scenario: str | Scenario = "normal",
        *,
        key_id: str = KEY_ID,
        secret: str = SECRET_KEY,
        timeout_s: float = 0.5,
        grace_s: float = 0.3,
        **fields: object,
    ) -> Connected:
        base = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
        if fields:
            base = replace(base, **fields)  # type: ignore[arg-type]
        server = AlpacaServer(base)
        server.start()
        client = AlpacaClient(key_id, secret, base_url=server.url, timeout_s=timeout_s)
        venue = BrokerVenue(
            client, pacing=Pacing(), retry=RetryPolicy(attempts=3, base_s=0.05), grace_s=grace_s
        )
        connected = Connected(server, client, venue, [])
        opened.append(connected)
        return connected

    yield make
    for connected in opened:
        connected.client.close()
        connected.server.stop()
