"""Closed bars from Alpaca, woken by its msgpack market-data stream (``live_feed: stream``).

Why the stream only *wakes* the polled feed instead of being the feed: the
runner needs each closed bar once, in order, resumable after a given close,
and a stream delivers only what closes while it is connected. A drop, a
reconnect or a restart would each need a REST catch-up anyway, and
:class:`~alphagate.adapters.alpaca.feed.AlpacaBarFeed` already *is* that
catch-up ("closed bars after the last close"). So the bars yielded always
come from the REST query: a bar pushed by the stream makes the feed ask now
instead of at its next poll, and bars missed while the socket was down are
in that same answer. Stream and polling can never disagree, because only
one of them is read. Without stream messages the feed still polls every
``poll_s`` (a slow fallback) and keeps the silence check (BF-11).

alpaca-py's ``StockDataStream.run()`` runs its own event loop, so it runs in
a daemon thread; its bar handler hands the wake to the feed's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pandas as pd
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.live import StockDataStream

from alphagate.adapters.alpaca.feed import AlpacaBarFeed
from alphagate.domain.bar import Bar
from alphagate.domain.timeframe import Timeframe
from alphagate.engine.health import HealthCheck

log = logging.getLogger(__name__)

_STOP_WAIT_S = 10.0
"""How long closing waits for the stream's thread (alpaca-py checks for a stop every 5 s)."""


class AlpacaStreamFeed:
    """An :class:`AlpacaBarFeed` that the market-data stream wakes when a bar is pushed.

    Parameters
    ----------
    client
        alpaca-py's data client (``venues.alpaca.data_url``): where bars are read.
    stream
        alpaca-py's ``StockDataStream`` (``venues.alpaca.data_stream_url``),
        not yet running: the feed subscribes to bars and runs it while streaming.
    symbols, timeframe, calendar, feed, silence_multiple, clock, monotonic, on_silence, start_after
        As :class:`AlpacaBarFeed`.
    poll_s
        The fallback poll when no bar is pushed (a silent or dropped stream).
    """

    def __init__(
        self,
        client: StockHistoricalDataClient,
        stream: StockDataStream,
        symbols: Sequence[str],
        *,
        timeframe: Timeframe,
        calendar: str | None,
        feed: str = "iex",
        poll_s: float = 60.0,
        silence_multiple: float = 3.0,
        clock: Callable[[], int] = time.time_ns,
        monotonic: Callable[[], float] = time.monotonic,
        on_silence: Callable[[str], None] | None = None,
        start_after: int | None = None,
    ) -> None:
        self._stream, self._symbols = stream, tuple(symbols)
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.pushed = 0
        """Bar messages the stream delivered (each one a wake)."""
        self.polled = AlpacaBarFeed(
            client, self._symbols, timeframe=timeframe, calendar=calendar, feed=feed,
            poll_s=poll_s, silence_multiple=silence_multiple, clock=clock, monotonic=monotonic,
            sleep=self._until_woken, on_silence=on_silence, start_after=start_after,
        )  # fmt: skip

    @property
    def interval_ns(self) -> int:
        """The bar interval in ns."""
        return self.polled.interval_ns

    @property
    def silent(self) -> str | None:
        """Why the feed is silent, or ``None`` while bars arrive."""
        return self.polled.silent

    def closed(self, after: int | None, start: pd.Timestamp | None = None) -> pd.DataFrame:
        """Every closed bar after ``after`` (ns; or from ``start``): the REST catch-up."""
        return self.polled.closed(after, start)

    def check(self, now_ns: int) -> HealthCheck:
        """The health registry's view, the polled feed's: silent -> ``reduce_only``."""
        return self.polled.check(now_ns)

    async def stream(self, after: int | None = None) -> AsyncIterator[tuple[int, Sequence[Bar]]]:
        """Each closed step after ``after``, once, in order; runs the stream until cancelled."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        self._stream.subscribe_bars(self._on_bar, *self._symbols)
        thread = threading.Thread(target=self._stream.run, name="alpaca-bars", daemon=True)
        thread.start()
        try:
            async for step in self.polled.stream(after):
                yield step
        finally:
            await asyncio.to_thread(self._halt, thread)

    async def _on_bar(self, bar: Any) -> None:
        """On the stream's thread: a bar closed, so ask the REST API now."""
        self.pushed += 1
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            loop.call_soon_threadsafe(wake.set)

    async def _until_woken(self, seconds: float) -> None:
        """The polled feed's sleep: until a bar is pushed, or ``seconds`` at most."""
        assert self._wake is not None, "woken only while streaming"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    def _halt(self, thread: threading.Thread) -> None:
        """Stop the stream and wait for its thread.

        ``stop()`` needs the stream's loop, which exists only once ``run()``
        has started it on the thread; until then it raises, so it is retried.
        """
        deadline = time.monotonic() + _STOP_WAIT_S
        while thread.is_alive() and time.monotonic() < deadline:
            try:
                self._stream.stop()
                break
            except AttributeError:
                time.sleep(0.05)
        thread.join(max(deadline - time.monotonic(), 0.1))
        if thread.is_alive():
            log.warning("the Alpaca market-data stream did not stop within %.0f s", _STOP_WAIT_S)
