"""Settings and environment -> an Alpaca venue, its stream, and its market-data client.

Keys come from the environment only (``APCA_API_KEY_ID``,
``APCA_API_SECRET_KEY``, the names Alpaca's own tools read); URLs from
``venues.alpaca``. Alpaca's paper keys start ``PK`` and live keys ``AK``: a
key of one kind on the other kind of account is refused before any request
(RELIABILITY SE-05).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from alpaca.data.historical import StockHistoricalDataClient

from alphagate.adapters.alpaca.client import AlpacaClient
from alphagate.adapters.alpaca.stream import TradeUpdates
from alphagate.adapters.broker.pacing import Pacing
from alphagate.adapters.broker.venue import BrokerVenue
from alphagate.config import Settings
from alphagate.errors import ConfigError

KEY_ID_ENV: Final = "APCA_API_KEY_ID"
SECRET_KEY_ENV: Final = "APCA_API_SECRET_KEY"


@dataclass(frozen=True)
class AlpacaVenue:
    """An opened Alpaca account: the venue the engine uses, its client, and its stream."""

    venue: BrokerVenue
    client: AlpacaClient
    stream: TradeUpdates

    def start(self) -> None:
        """Connect the trade-updates stream (and its catch-up)."""
        self.stream.start()

    def close(self) -> None:
        """Stop the stream and the client's workers."""
        self.stream.stop()
        self.client.close()


def credentials(environ: Mapping[str, str], *, paper: bool) -> tuple[str, str]:
    """The key id and secret from the environment, checked against the account kind.

    Raises
    ------
    ConfigError
        When a variable is missing, or a live key is used on paper or the reverse;
        the message names the variables, never their values.
    """
    missing = [name for name in (KEY_ID_ENV, SECRET_KEY_ENV) if not environ.get(name)]
    if missing:
        raise ConfigError(
            f"alpaca credentials are missing: set {', '.join(missing)} in the environment "
            "(keys are never read from files or flags)"
        )
    key_id, secret = environ[KEY_ID_ENV], environ[SECRET_KEY_ENV]
    if paper and key_id.startswith("AK"):
        raise ConfigError(
            f"{KEY_ID_ENV} holds a live key but venues.alpaca.paper is true: use the paper "
            "account's key (it starts PK), or set venues.alpaca.paper=false to trade live"
        )
    if not paper and key_id.startswith("PK"):
        raise ConfigError(
            f"{KEY_ID_ENV} holds a paper key but venues.alpaca.paper is false: use the live "
            "account's key (it starts AK), or trade paper"
        )
    return key_id, secret


def open_venue(settings: Settings, environ: Mapping[str, str]) -> AlpacaVenue:
    """The Alpaca venue ``venues.alpaca`` describes, not yet streaming (call ``start``)."""
    options = settings.venues.alpaca
    key_id, secret = credentials(environ, paper=options.paper)
    client = AlpacaClient(key_id, secret, paper=options.paper, base_url=options.base_url)
    pacing = Pacing(per_minute=options.requests_per_minute)
    venue = BrokerVenue(client, pacing=pacing)
    stream = TradeUpdates(
        venue, client, key_id, secret, paper=options.paper, url=options.trade_stream_url,
        pacing=pacing,
    )  # fmt: skip
    return AlpacaVenue(venue, client, stream)


def open_data_client(settings: Settings, environ: Mapping[str, str]) -> StockHistoricalDataClient:
    """alpaca-py's historical stock-data client at ``venues.alpaca.data_url``."""
    options = settings.venues.alpaca
    key_id, secret = credentials(environ, paper=options.paper)
    return StockHistoricalDataClient(key_id, secret, url_override=options.data_url)
