"""Where each broker or exchange adapter connects, and how fast it may ask.

Every URL is a setting, so that a user can point an adapter at the venue's
sandbox, a proxy, or (in our tests) a local server that speaks the same
protocol, with exactly the commands they would run against the real one.
Credentials are never settings: they come from the environment only
(``app/live.py`` names the variables).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from alphagate.config.base import Section


class AlpacaConfig(Section):
    """Alpaca (alpaca-py): paper by default; live needs ``paper: false`` and live keys."""

    paper: bool = Field(
        True, description="Trade the paper account (paper-api.alpaca.markets); false: live."
    )
    base_url: str | None = Field(
        None,
        description="Trading REST base URL (null: Alpaca's own for paper or live); the client "
        "adds /v2/... itself.",
    )
    data_url: str | None = Field(
        None, description="Market-data REST base URL (null: data.alpaca.markets)."
    )
    trade_stream_url: str | None = Field(
        None, description="Full websocket URL of the trade-updates stream (null: Alpaca's)."
    )
    data_stream_url: str | None = Field(
        None, description="Full websocket URL of the market-data stream (null: Alpaca's)."
    )
    feed: str = Field("iex", description="Market-data feed: iex (free) or sip.")
    live_feed: Literal["poll", "stream"] = Field(
        "poll",
        description="How `alphagate live` learns of closed bars: poll the REST API every few "
        "seconds, or stream (the market-data websocket wakes a REST catch-up as each bar closes).",
    )
    requests_per_minute: int = Field(
        200, ge=1, description="Request budget per minute (Alpaca's documented limit)."
    )


class CcxtConfig(Section):
    """An exchange through ccxt's unified API (async); Binance spot first."""

    exchange: str = Field("binance", description="The ccxt exchange id (binance, okx, ...).")
    sandbox: bool = Field(
        True, description="Use the exchange's testnet where ccxt knows one; false: live."
    )
    urls: dict[str, str] = Field(
        default_factory=dict,
        description="Base URLs replacing the exchange's own per API name, e.g. "
        "{'public': 'http://127.0.0.1:8000', 'private': ...}; a single key 'all' replaces "
        "the scheme and host of every API URL.",
    )
    requests_per_minute: int = Field(
        1200, ge=1, description="Request budget per minute (Binance: 1200 weight a minute)."
    )


class VenuesConfig(Section):
    """The broker and exchange adapters."""

    alpaca: AlpacaConfig = Field(default_factory=AlpacaConfig, description="Alpaca.")
    ccxt: CcxtConfig = Field(default_factory=CcxtConfig, description="Exchanges through ccxt.")
