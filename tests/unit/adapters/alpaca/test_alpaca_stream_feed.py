"""The stream-woken Alpaca feed against the local server's msgpack market-data stream.

The oracle is the server's own seeded bar walk (``_daily_bars``), not the
feed: the closes expected are the sessions the server released, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pandas as pd
import pytest
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.live import StockDataStream

from alphagate.adapters.alpaca.live import open_live
from alphagate.adapters.alpaca.open import KEY_ID_ENV, SECRET_KEY_ENV
from alphagate.adapters.alpaca.stream_feed import AlpacaStreamFeed, Quote
from alphagate.config import Settings
from alphagate.domain.timeframe import Timeframe
from alphagate.engine.health import CheckStatus
from servers.alpaca_server import KEY_ID, SECRET_KEY, AlpacaServer, Scenario, _daily_bars

SYMBOLS = ("AAPL", "MSFT")
FALLBACK_POLL_S = 120.0  # longer than any test: only the stream can wake the feed


def expected_closes(first: int, last: int) -> list[pd.Timestamp]:
    """Session closes (16:00 New York) of the server's sessions ``first..last`` (1-based)."""
    days = [
        pd.Timestamp(b["t"]).tz_convert("America/New_York") for b in _daily_bars("AAPL", last, 0)
    ]
    return [
        (d.normalize() + pd.Timedelta(hours=16)).tz_convert("UTC") for d in days[first - 1 : last]
    ]


def feed_on(server: AlpacaServer) -> AlpacaStreamFeed:
    """The feed at ``server``, its clock at the latest released session's close.

    The server's sessions are from 2024: on the wall clock every bar would be
    over an interval old, and the feed would not wait for a symbol whose bar
    a REST page taken mid-release lacks.
    """
    closes = [c.value for c in expected_closes(1, 120)]
    client = StockHistoricalDataClient(KEY_ID, SECRET_KEY, url_override=server.url)
    stream = StockDataStream(KEY_ID, SECRET_KEY, raw_data=True, url_override=server.data_stream_url)
    return AlpacaStreamFeed(
        client, stream, SYMBOLS, timeframe=Timeframe.parse("1d"), calendar="XNYS",
        poll_s=FALLBACK_POLL_S, clock=lambda: closes[(server.bars_released or 1) - 1],
    )  # fmt: skip


def collect(
    feed: AlpacaStreamFeed, after: int, until: pd.Timestamp
) -> list[tuple[pd.Timestamp, list[str]]]:
    """Steps from the feed until the close ``until`` is yielded (20 s at most)."""

    async def run() -> list[tuple[pd.Timestamp, list[str]]]:
        got = []
        async for ts, bars in feed.stream(after=after):
            got.append((pd.Timestamp(ts, tz="UTC"), [b.symbol for b in bars]))
            if got[-1][0] >= until:
                break
        return got

    return asyncio.run(asyncio.wait_for(run(), 20))


@pytest.fixture
def live() -> Iterator[AlpacaServer]:
    with AlpacaServer(Scenario(name="live", bars_released=20, release_every_s=0.3)) as running:
        yield running


@pytest.fixture
def still() -> Iterator[AlpacaServer]:
    """A market that closes no bar while the test runs: whatever arrives is quotes."""
    with AlpacaServer(Scenario(name="still", bars_released=20)) as running:
        yield running


@pytest.fixture
def dropping() -> Iterator[AlpacaServer]:
    with AlpacaServer("stream_drop") as running:
        yield running


def test_pushed_bars_reach_the_runner_once_and_in_order(live: AlpacaServer) -> None:
    feed = feed_on(live)
    got = collect(feed, expected_closes(20, 20)[0].value, until=expected_closes(26, 26)[0])
    assert [ts for ts, _ in got] == expected_closes(21, 26)
    assert all(symbols == list(SYMBOLS) for _, symbols in got)
    assert feed.pushed >= 6 * len(SYMBOLS)  # the stream, not the 120 s poll, woke it
    assert live.data_connections == 1


def test_a_socket_dropped_mid_stream_loses_no_bar_and_repeats_none(dropping: AlpacaServer) -> None:
    feed = feed_on(dropping)
    # released: 40 at start; the drop comes after 3 pushes, and alpaca-py waits >= 1 s to
    # reconnect, so sessions released meanwhile (0.3 s apart) are never pushed.
    got = collect(feed, expected_closes(40, 40)[0].value, until=expected_closes(52, 52)[0])
    closes = [ts for ts, _ in got]
    assert closes == expected_closes(41, 52)
    assert dropping.data_connections >= 2
    never_pushed = set(range(41, 53)) - set(dropping.sessions_pushed)
    assert never_pushed  # released during the reconnect: these came from the REST catch-up only
    assert all(symbols == list(SYMBOLS) for _, symbols in got)


def test_the_stream_feed_keeps_the_silence_check(live: AlpacaServer) -> None:
    feed = feed_on(live)
    assert feed.silent is None
    assert feed.check(0) == feed.polled.check(0)


def test_live_feed_stream_setting_makes_open_live_stream_bars(live: AlpacaServer) -> None:
    defaults = Settings()
    alpaca = defaults.venues.alpaca.model_copy(
        update={"data_url": live.url, "base_url": live.url, "live_feed": "stream",
                "data_stream_url": live.data_stream_url}
    )  # fmt: skip
    settings = defaults.model_copy(
        update={
            "venues": defaults.venues.model_copy(update={"alpaca": alpaca}),
            "data": defaults.data.model_copy(update={"timeframe": "1d", "calendar": "XNYS"}),
        }
    )
    environ = {KEY_ID_ENV: KEY_ID, SECRET_KEY_ENV: SECRET_KEY}
    opened = open_live(settings, environ)
    try:
        feed = opened.feed(SYMBOLS, after=expected_closes(20, 20)[0].value, on_silence=print)
        assert isinstance(feed, AlpacaStreamFeed)
        got = collect(feed, expected_closes(20, 20)[0].value, until=expected_closes(22, 22)[0])
        assert [ts for ts, _ in got] == expected_closes(21, 22)
        assert feed.pushed > 0
    finally:
        opened.close()


def run_until_quoted(feed: AlpacaStreamFeed, after: int, quotes: int) -> list[int]:
    """Stream the feed until ``quotes`` quote messages arrived (20 s at most); the closes seen."""

    async def run() -> list[int]:
        got: list[int] = []

        async def consume() -> None:
            async for ts, _ in feed.stream(after=after):
                got.append(ts)

        task = asyncio.get_running_loop().create_task(consume())
        while feed.quoted < quotes and not task.done():
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # room for any cycle a quote would (wrongly) cause
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return got

    return asyncio.run(asyncio.wait_for(run(), 20))


def test_the_latest_quote_per_symbol_is_the_last_the_server_sent(still: AlpacaServer) -> None:
    feed = feed_on(still)
    assert all(feed.latest_quote(symbol) is None for symbol in SYMBOLS)
    closes = run_until_quoted(
        feed, expected_closes(20, 20)[0].value, still.quotes_per_symbol * len(SYMBOLS)
    )
    sent = still.quotes_sent
    assert len(sent) == still.quotes_per_symbol * len(SYMBOLS)
    for symbol in SYMBOLS:
        last = [m for m in sent if m["S"] == symbol][-1]
        now = last["t"].to_unix_nano()
        assert feed.latest_quote(symbol, now) == Quote(
            symbol, last["bp"], last["bs"], last["ap"], last["as"], now
        )
    # quotes are never bars: no wake, no step, no cycle
    assert closes == []
    assert feed.pushed == 0
    assert still.sessions_pushed == []
    assert len(still.bar_queries) <= 2, "a quote woke the REST catch-up"  # the first page only


def test_a_stale_quote_counts_as_missing(still: AlpacaServer) -> None:
    feed = feed_on(still)
    run_until_quoted(feed, expected_closes(20, 20)[0].value, still.quotes_per_symbol)
    quote = feed.latest_quote("AAPL", still.quotes_sent[-1]["t"].to_unix_nano())
    assert quote is not None
    assert feed.latest_quote("AAPL", quote.time + 60 * 10**9) == quote  # at the threshold
    assert feed.latest_quote("AAPL", quote.time + 61 * 10**9) is None


def test_the_health_view_shows_fresh_spreads(still: AlpacaServer) -> None:
    feed = feed_on(still)
    run_until_quoted(feed, expected_closes(20, 20)[0].value, still.quotes_per_symbol * len(SYMBOLS))
    now = still.quotes_sent[-1]["t"].to_unix_nano()
    check = feed.check(now)
    assert check.status is CheckStatus.OK
    for symbol in SYMBOLS:
        last = [m for m in still.quotes_sent if m["S"] == symbol][-1]
        mid = (last["ap"] + last["bp"]) / 2
        assert f"{symbol} {(last['ap'] - last['bp']) / mid * 1e4:.1f} bps" in check.detail
    assert feed.check(now + 61 * 10**9) == feed.polled.check(now + 61 * 10**9)


def test_a_quote_spread_is_ask_minus_bid_over_the_mid() -> None:
    assert Quote("X", 99.0, 1, 101.0, 1, 0).spread_bps == pytest.approx(200.0)
    assert Quote("X", 0.0, 1, 0.0, 1, 0).spread_bps is None
