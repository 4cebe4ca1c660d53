"""An asyncio event loop on its own thread, so synchronous callers can await a library's coroutines.

ccxt's async client binds its aiohttp session to one loop; every call of
one client must run on that loop. The live driver is synchronous, so the
adapter owns a loop thread and hands it each coroutine, waiting for the
answer: calls are serialised, which also makes ccxt's ``last_response_*``
attributes belong to the call that just returned.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """Runs coroutines on a private event loop thread, one call at a time."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()
        self._call = threading.Lock()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the loop and return its result (or raise its exception)."""
        with self._call:
            future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
            return future.result(timeout)

    def close(self) -> None:
        """Stop the loop and its thread; pending work is dropped."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
