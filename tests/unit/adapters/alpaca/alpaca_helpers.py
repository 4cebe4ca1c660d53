"""What the Alpaca adapter tests share: a venue on the local server, and folding its reports."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alphagate.adapters.alpaca.client import AlpacaClient
from alphagate.adapters.broker.venue import BrokerVenue
from alphagate.domain.order_state import OrderState, OrderUpdate
from alphagate.domain.orders import OrderRequest
from servers.alpaca_server import AlpacaServer


@dataclass
class Connected:
    """A server, the client and venue on it, and every report the engine was told."""

    server: AlpacaServer
    client: AlpacaClient
    venue: BrokerVenue
    told: list[OrderUpdate]

    def submit(self, request: OrderRequest) -> list[OrderUpdate]:
        answer = self.venue.submit(request, request.ts_init)
        self.told += answer
        return answer

    def cycle_until(self, done: Callable[[], bool], timeout: float = 8.0) -> None:
        """Run the engine's cycles (``on_bars``) until ``done`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            self.told += self.venue.on_bars(0, [])
            if done():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not done within {timeout} s; told {self.told}")
            time.sleep(0.05)

    def state(self, request: OrderRequest) -> OrderState:
        """The engine's state of one order: its reports folded in the order they were told."""
        state = OrderState.sent(request)
        for update in self.told:
            if update.client_order_id == request.client_order_id:
                state = state.apply(update.event)
        return state


def fold(request: OrderRequest, updates: Sequence[OrderUpdate]) -> OrderState:
    state = OrderState.sent(request)
    for update in updates:
        state = state.apply(update.event)
    return state
