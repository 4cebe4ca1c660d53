"""An exchange through ccxt opened for ``alphagate live``: the venue, its order poller, the feed.

What :data:`alphagate.app.live.VENUES` calls after every start check
passed; nothing here makes a request before that. Crypto trades around the
clock, so the feed needs no calendar: a bar closes every interval.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from alphagate.adapters.broker.venue import BrokerVenue
from alphagate.adapters.ccxt.feed import CcxtBarFeed
from alphagate.adapters.ccxt.venue import CcxtVenue, open_venue
from alphagate.config import Settings
from alphagate.domain.timeframe import Timeframe
from alphagate.errors import ConfigError


@dataclass(frozen=True)
class CcxtLive:
    """The account (venue, client, order poller) for one session, and its settings."""

    account: CcxtVenue
    settings: Settings
    poll_s: float = 5.0

    @property
    def venue(self) -> BrokerVenue:
        """The venue the engine trades through."""
        return self.account.venue

    def feed(
        self, symbols: Sequence[str], *, after: int, on_silence: Callable[[str], None]
    ) -> CcxtBarFeed:
        """Closed candles of ``symbols`` after ``after`` (ns), polled every ``poll_s``.

        The symbols become the account's markets too: where its orders are
        looked for and the positions it reports.
        """
        self.account.client.trade(symbols)
        return CcxtBarFeed(
            self.account.client, self.account.pacing, symbols,
            timeframe=Timeframe.parse(self.settings.data.timeframe),
            rate_limits=self.venue.rate_limits, poll_s=self.poll_s, on_silence=on_silence,
            start_after=after,
        )  # fmt: skip

    def start(self) -> None:
        """Start polling the account's orders (the exchange pushes nothing over REST)."""
        self.account.poller.start()

    def close(self) -> None:
        """Stop polling and close the connection."""
        self.account.close()


def open_live(
    settings: Settings, environ: Mapping[str, str], poll_s: float = 5.0, *, exchange: str
) -> CcxtLive:
    """``venues.ccxt``'s exchange with the environment's keys (checked, SE-05, SE-08).

    Raises
    ------
    ConfigError
        When ``venues.ccxt.exchange`` is not the ``--venue`` asked for: the
        keys checked were that venue's, so another exchange must not open.
    """
    configured = settings.venues.ccxt.exchange
    if configured != exchange:
        raise ConfigError(
            f"--venue {exchange} but venues.ccxt.exchange is {configured!r}: "
            f"set venues.ccxt.exchange={exchange} (or pick --venue {configured})"
        )
    return CcxtLive(open_venue(settings, environ), settings, poll_s)
