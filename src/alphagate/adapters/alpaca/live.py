"""Alpaca opened for ``alphagate live``: the venue with its trade stream, and the bar feed.

What :data:`alphagate.app.live.VENUES` calls after every start check passed;
nothing here makes a request before that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from alpaca.data.enums import DataFeed
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.live import StockDataStream

from alphagate.adapters.alpaca.feed import AlpacaBarFeed
from alphagate.adapters.alpaca.open import AlpacaVenue, credentials, open_data_client, open_venue
from alphagate.adapters.alpaca.stream_feed import AlpacaStreamFeed
from alphagate.adapters.broker.venue import BrokerVenue
from alphagate.config import Settings
from alphagate.domain.timeframe import Timeframe


@dataclass(frozen=True)
class AlpacaLive:
    """The account (venue, client, trade stream) and the market-data client, for one session."""

    account: AlpacaVenue
    data: StockHistoricalDataClient
    settings: Settings
    poll_s: float = 5.0
    environ: Mapping[str, str] | None = None

    @property
    def venue(self) -> BrokerVenue:
        """The venue the engine trades through."""
        return self.account.venue

    def feed(
        self, symbols: Sequence[str], *, after: int, on_silence: Callable[[str], None]
    ) -> AlpacaBarFeed | AlpacaStreamFeed:
        """Closed bars of ``symbols`` after ``after`` (ns), by ``venues.alpaca.live_feed``.

        ``poll``: polled every ``poll_s``. ``stream``: the market-data stream
        wakes the same REST catch-up as each bar closes (polling once a minute
        as a fallback).
        """
        data, options = self.settings.data, self.settings.venues.alpaca
        if options.live_feed == "stream":
            key_id, secret = credentials(self.environ or {}, paper=options.paper)
            stream = StockDataStream(
                key_id, secret, raw_data=True, feed=DataFeed(options.feed),
                url_override=options.data_stream_url,
            )  # fmt: skip
            return AlpacaStreamFeed(
                self.data, stream, symbols, timeframe=Timeframe.parse(data.timeframe),
                calendar=data.calendar, feed=options.feed, on_silence=on_silence,
                start_after=after,
            )  # fmt: skip
        return AlpacaBarFeed(
            self.data, symbols, timeframe=Timeframe.parse(data.timeframe),
            calendar=data.calendar, feed=self.settings.venues.alpaca.feed, poll_s=self.poll_s,
            on_silence=on_silence, start_after=after,
        )  # fmt: skip

    def start(self) -> None:
        """Connect the trade-updates stream (and its catch-up)."""
        self.account.start()

    def close(self) -> None:
        """Stop the stream and the clients' workers."""
        self.account.close()


def open_live(settings: Settings, environ: Mapping[str, str], poll_s: float = 5.0) -> AlpacaLive:
    """Alpaca at ``venues.alpaca``'s URLs with the environment's keys (checked, SE-05)."""
    return AlpacaLive(
        open_venue(settings, environ),
        open_data_client(settings, environ),
        settings,
        poll_s,
        environ,
    )
