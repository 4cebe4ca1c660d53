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

The same connection carries quotes. They never wake the feed or make a bar
(the engine is bar-driven); the latest one per symbol is kept, under a lock
because the stream's thread writes while the engine's reads, for whoever
wants the book's top (:meth:`AlpacaStreamFeed.latest_quote`) and for the
health view's spreads. A quote older than ``quote_stale_s`` is reported as
missing rather than as a price: after a drop the last quote would otherwise
look current forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.live import StockDataStream

from alphagate.adapters.alpaca.feed import AlpacaBarFeed
from alphagate.domain.bar import Bar
from alphagate.domain.timeframe import Timeframe
from alphagate.engine.health import CheckStatus, HealthCheck

log = logging.getLogger(__name__)

_STOP_WAIT_S = 10.0
"""How long closing waits for the stream's thread (alpaca-py checks for a stop every 5 s)."""


@dataclass(frozen=True, slots=True)
class Quote:
    """The top of a symbol's book as the stream last quoted it; ``time`` in ns UTC."""

    symbol: str
    bid: float
    bid_size: float
    ask: float
    ask_size: float
    time: int

    @property
    def spread_bps(self) -> float | None:
        """Ask minus bid over the mid, in basis points; ``None`` without a positive mid."""
        mid = (self.bid + self.ask) / 2
        return None if mid <= 0 else (self.ask - self.bid) / mid * 10_000


def _time_ns(value: Any) -> int:
    """A quote's ``t``: a msgpack Timestamp (raw data) or a datetime (parsed models)."""
    if hasattr(value, "to_unix_nano"):  # msgpack.Timestamp, duck-typed: msgpack has no types
        return int(value.to_unix_nano())
    if isinstance(value, datetime):
        return int(pd.Timestamp(value).value)
    raise TypeError(f"a quote time must be a msgpack Timestamp or a datetime, got {value!r}")


def _quote(message: Any) -> Quote:
    """A stream quote (alpaca-py raw dict ``T: q`` or its ``Quote`` model) as a :class:`Quote`."""
    if isinstance(message, dict):
        return Quote(
            str(message["S"]), float(message["bp"]), float(message["bs"]),
            float(message["ap"]), float(message["as"]), _time_ns(message["t"]),
        )  # fmt: skip
    return Quote(
        str(message.symbol), float(message.bid_price), float(message.bid_size),
        float(message.ask_price), float(message.ask_size), _time_ns(message.timestamp),
    )  # fmt: skip


class AlpacaStreamFeed:
    """An :class:`AlpacaBarFeed` that the market-data stream wakes when a bar is pushed.

    Parameters
    ----------
    client
        alpaca-py's data client (``venues.alpaca.data_url``): where bars are read.
    stream
        alpaca-py's ``StockDataStream`` (``venues.alpaca.data_stream_url``),
        not yet running: the feed subscribes to bars and quotes and runs it
        while streaming.
    symbols, timeframe, calendar, feed, silence_multiple, clock, monotonic, on_silence, start_after
        As :class:`AlpacaBarFeed`.
    poll_s
        The fallback poll when no bar is pushed (a silent or dropped stream).
    quote_stale_s
        How old (by ``clock``, against the quote's own time) a quote may be
        before :meth:`latest_quote` treats it as missing.
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
        quote_stale_s: float = 60.0,
    ) -> None:
        if not quote_stale_s > 0:
            raise ValueError(f"quote_stale_s must be positive seconds, got {quote_stale_s}")
        self._stream, self._symbols = stream, tuple(symbols)
        self._clock, self._quote_stale_ns = clock, int(quote_stale_s * 1e9)
        self._quotes: dict[str, Quote] = {}
        self._quotes_lock = threading.Lock()
        self.quoted = 0
        """Quote messages the stream delivered (none of them a wake)."""
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

    def latest_quote(self, symbol: str, now_ns: int | None = None) -> Quote | None:
        """The last quote of ``symbol``, or ``None`` if none came or it is stale at ``now_ns``.

        ``now_ns`` defaults to the feed's clock. Safe from any thread.
        """
        with self._quotes_lock:
            quote = self._quotes.get(symbol)
        now = self._clock() if now_ns is None else now_ns
        if quote is None or now - quote.time > self._quote_stale_ns:
            return None
        return quote

    def check(self, now_ns: int) -> HealthCheck:
        """The health registry's view, the polled feed's: silent -> ``reduce_only``.

        While healthy, the detail lists each fresh quote's spread in bps, so
        the health view shows the book without changing what the level is.
        """
        polled = self.polled.check(now_ns)
        spreads = [
            f"{symbol} {quote.spread_bps:.1f} bps"
            for symbol in self._symbols
            if (quote := self.latest_quote(symbol, now_ns)) is not None
            and quote.spread_bps is not None
        ]
        if polled.status is not CheckStatus.OK or not spreads:
            return polled
        return HealthCheck(polled.status, polled.level, "spread " + ", ".join(spreads))

    async def stream(self, after: int | None = None) -> AsyncIterator[tuple[int, Sequence[Bar]]]:
        """Each closed step after ``after``, once, in order; runs the stream until cancelled."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        self._stream.subscribe_bars(self._on_bar, *self._symbols)
        self._stream.subscribe_quotes(self._on_quote, *self._symbols)
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

    async def _on_quote(self, message: Any) -> None:
        """On the stream's thread: keep the latest quote of its symbol; never a wake.

        An older quote arriving late (a reconnect's replay) does not replace a newer one.
        """
        quote = _quote(message)
        with self._quotes_lock:
            self.quoted += 1
            held = self._quotes.get(quote.symbol)
            if held is None or quote.time >= held.time:
                self._quotes[quote.symbol] = quote

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
