"""Closed bars from Alpaca's market-data REST API as the live runner's feed (REST polling).

The polling, ordering and silence rules are every venue's
(:mod:`alphagate.adapters.broker.polled_feed`); what is Alpaca's is how bars
are asked for: :class:`AlpacaBarSource`, the code path ``data ingest
--source alpaca`` already uses, with its paging and its stamping at bar
close, so start-up, steady state and recovery read bars one way. Alpaca
lists the day's bar while the session still trades; the feed drops it
until it closes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

import pandas as pd
from alpaca.data.historical import StockHistoricalDataClient

from alphagate.adapters.alpaca.bars import AlpacaBarSource
from alphagate.adapters.broker.polled_feed import PolledBarFeed
from alphagate.domain.bars import bars_from_flat, empty_bars
from alphagate.domain.quality_report import QualityReport
from alphagate.domain.timeframe import Timeframe


class AlpacaBarFeed(PolledBarFeed):
    """Polls Alpaca for closed bars; a :class:`PolledBarFeed` over :class:`AlpacaBarSource`.

    Parameters
    ----------
    client
        alpaca-py's data client (``venues.alpaca.data_url``).
    symbols, timeframe, calendar, feed
        What to ask for, and the calendar daily bars close on.
    poll_s, silence_multiple, clock, monotonic, sleep, on_silence, start_after
        As :class:`PolledBarFeed`.
    """

    def __init__(
        self,
        client: StockHistoricalDataClient,
        symbols: Sequence[str],
        *,
        timeframe: Timeframe,
        calendar: str | None,
        feed: str = "iex",
        poll_s: float = 5.0,
        silence_multiple: float = 3.0,
        clock: Callable[[], int] = time.time_ns,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_silence: Callable[[str], None] | None = None,
        start_after: int | None = None,
    ) -> None:
        names = tuple(symbols)

        def fetch(begin: pd.Timestamp, since: pd.Timestamp | None) -> pd.DataFrame:
            source = AlpacaBarSource(
                client, names, timeframe=timeframe, calendar=calendar,
                start=begin.to_pydatetime(), feed=feed,
                since=None if since is None else dict.fromkeys(names, since),
            )  # fmt: skip
            chunks = list(source.chunks(QualityReport(source.name)))
            if not chunks:
                return empty_bars()
            return bars_from_flat(pd.concat(chunks, ignore_index=True))

        super().__init__(
            fetch, names, timeframe=timeframe, venue="alpaca", poll_s=poll_s,
            silence_multiple=silence_multiple, clock=clock, monotonic=monotonic, sleep=sleep,
            on_silence=on_silence, start_after=start_after,
        )  # fmt: skip
