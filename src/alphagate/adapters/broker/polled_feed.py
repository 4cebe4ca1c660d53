"""Closed bars by polling a venue's REST API: the live runner's feed, whatever the venue.

Why polling and not a venue's bar stream: the runner needs each *closed*
bar exactly once, in time order, and resumable after a given close (a
restart asks for what followed the last close its journal holds). A stream
pushes only what closes while it is connected, so a restart, a drop or a
silent socket would each need a REST catch-up anyway, and a REST query
"bars after the last close" *is* that catch-up. One code path serves
start-up, steady state and recovery. The cost is latency: a bar is seen up
to ``poll_s`` after it closes, noise for the hourly and daily bars the
models trade.

What differs per venue is only how to ask for bars (Alpaca's
``AlpacaBarSource``, ccxt's ``fetch_ohlcv``): that is the ``fetch`` function
this feed is given. The rules are the feed's:

* **Closed only.** A bar counts once its close is not after ``clock()``
  (venues list the bar still forming).
* **Once, in order.** Each step is every symbol's bar closing at one time,
  yielded when every symbol has a bar at or after that time, or one bar
  interval after it (a halted symbol must not hold the others back). Steps
  at or before ``after`` or before the last step yielded are never yielded.
* **Silence (RELIABILITY BF-11).** No new bar for ``silence_multiple`` bar
  intervals of wall time (polls failing count as no bar) makes the feed
  *silent*: :meth:`PolledBarFeed.check`, registered in the health registry,
  then reports ``reduce_only`` (entries paused, exits still go out) with
  why, and ``on_silence`` is told once per silent spell (an alert). A new
  bar ends it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pandas as pd

from alphagate.domain.bar import Bar
from alphagate.domain.timeframe import Timeframe
from alphagate.engine.health import CheckStatus, DegradationLevel, HealthCheck
from alphagate.errors import DataError
from alphagate.live.feeds import steps_of

log = logging.getLogger(__name__)

FetchBars = Callable[[pd.Timestamp, pd.Timestamp | None], pd.DataFrame]
"""``fetch(begin, since)``: the venue's bars from ``begin`` as a canonical bars frame.

``since`` is the close already held (``None`` at a first warm-up); bars
still forming may be included, the feed drops them. A failure the next poll
may clear is raised as a :class:`~alphagate.errors.DataError`.
"""


class PolledBarFeed:
    """Polls a venue for closed bars: a ``SteppingFeed`` for the live runner.

    Parameters
    ----------
    fetch
        How this venue is asked for bars; see :data:`FetchBars`.
    symbols, timeframe
        What is traded, and the bar size (its interval sets the silence limit).
    venue
        The venue's name, for messages.
    poll_s
        Seconds between polls.
    silence_multiple
        Bar intervals without a new bar before the feed is silent (3 by BF-11).
    clock, monotonic, sleep
        Wall time in ns, monotonic seconds, and the async sleep (replaceable in tests).
    on_silence
        Told the reason when the feed falls silent.
    start_after
        The close to stream after when the runner has none (a session's first
        start: the last bar the model was warmed up on).
    """

    def __init__(
        self,
        fetch: FetchBars,
        symbols: Sequence[str],
        *,
        timeframe: Timeframe,
        venue: str,
        poll_s: float = 5.0,
        silence_multiple: float = 3.0,
        clock: Callable[[], int] = time.time_ns,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_silence: Callable[[str], None] | None = None,
        start_after: int | None = None,
    ) -> None:
        self._fetch, self._symbols, self._venue = fetch, tuple(symbols), venue
        self._timeframe = timeframe
        self._poll_s, self._silence_multiple = poll_s, silence_multiple
        self._clock, self._monotonic, self._sleep = clock, monotonic, sleep
        self._on_silence, self._start_after = on_silence, start_after
        self.interval_ns = int(timeframe.delta.value)
        self._last_news = monotonic()
        self.silent: str | None = None
        """Why the feed is silent, or ``None`` while bars arrive."""
        self.polls = 0

    # -- one poll ------------------------------------------------------------------------------

    def closed(self, after: int | None, start: pd.Timestamp | None = None) -> pd.DataFrame:
        """Every closed bar after ``after`` (ns; or from ``start``), as a canonical bars frame."""
        now = self._clock()
        since = None if after is None else pd.Timestamp(after, tz="UTC")
        begin = since if since is not None else start
        if begin is None:
            raise ValueError("closed() needs after or start")
        bars = self._fetch(begin, since)
        self.polls += 1
        if bars.empty:
            return bars
        stamps = pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8
        keep = stamps <= now
        if since is not None:
            keep &= stamps > since.value
        return bars.loc[keep]

    # -- the SteppingFeed ----------------------------------------------------------------------

    async def stream(self, after: int | None = None) -> AsyncIterator[tuple[int, Sequence[Bar]]]:
        """Each closed step after ``after``, once, in time order; polls until cancelled."""
        last = after if after is not None else self._start_after
        if last is None:
            raise ValueError("a live feed starts after a close: warm up first, then stream")
        while True:
            steps = self._poll(last)
            self._note(bool(steps))
            for ts, bars in steps:
                last = ts
                yield ts, bars
            await self._sleep(self._poll_s)

    def _poll(self, last: int) -> list[tuple[int, list[Bar]]]:
        try:
            bars = self.closed(last)
        except DataError as error:
            log.warning(
                "%s bars poll failed: %s; asking again in %.0f s", self._venue, error, self._poll_s
            )
            return []
        if bars.empty:
            return []
        now = self._clock()
        stamps = pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8
        owners = bars.index.get_level_values("symbol")
        latest = pd.Series(stamps, index=owners).groupby(level=0).max().to_dict()
        ready = []
        for ts, step in steps_of(bars):
            if ts <= last:
                continue
            complete = all(latest.get(s, 0) >= ts for s in self._symbols)
            if not complete and now - ts < self.interval_ns:
                break  # wait for the others' bar of this close (or one interval)
            ready.append((ts, step))
        return ready

    def _note(self, news: bool) -> None:
        """Track silence: a new bar ends it; too long without one starts it (once)."""
        if news:
            if self.silent is not None:
                log.info("%s bars resumed", self._venue)
            self._last_news, self.silent = self._monotonic(), None
            return
        quiet = self._monotonic() - self._last_news
        limit = self._silence_multiple * self.interval_ns / 1e9
        if self.silent is None and quiet > limit:
            self.silent = (
                f"no new {self._timeframe.name} bar from {self._venue} for {quiet:.0f} s "
                f"(over {self._silence_multiple:g} bar intervals)"
            )
            log.warning("market data silent: %s", self.silent)
            if self._on_silence is not None:
                self._on_silence(self.silent)

    # -- health --------------------------------------------------------------------------------

    def check(self, now_ns: int) -> HealthCheck:
        """The health registry's view: silent -> ``reduce_only`` (no entries), else OK."""
        if self.silent is None:
            return HealthCheck(CheckStatus.OK)
        return HealthCheck(CheckStatus.DEGRADED, DegradationLevel.REDUCE_ONLY, self.silent)
