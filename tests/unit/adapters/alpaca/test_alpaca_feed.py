"""The Alpaca bar feed: closed bars once, in order, resumable, and silence caught (BF-11).

The server lists a seeded walk of NYSE sessions and releases one more
session when told; the test's sleep stands for the poll interval and moves a
fake monotonic clock by a day, so days of silence take milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pandas as pd
import pytest
from alpaca.data.historical import StockHistoricalDataClient

from alphagate.adapters.alpaca.feed import AlpacaBarFeed
from alphagate.domain.timeframe import Timeframe
from alphagate.engine.health import DegradationLevel, HealthRegistry, OrderKind
from servers.alpaca_server import KEY_ID, SECRET_KEY, AlpacaServer, Scenario, _daily_bars

DAY_S = 86_400.0
SYMBOLS = ("AAPL", "MSFT")


@pytest.fixture
def server() -> Iterator[AlpacaServer]:
    with AlpacaServer(Scenario(name="silent_bars", bars_released=20, bars_page=7)) as running:
        yield running


class FakeTime:
    """Monotonic seconds that each poll's sleep moves by a day; releases sessions on cue."""

    def __init__(
        self,
        server: AlpacaServer,
        release_at: dict[int, int],
        before_sleep: Callable[[int], None] | None = None,
    ) -> None:
        self.now, self.sleeps, self.server, self.release_at = 0.0, 0, server, release_at
        self.before_sleep = before_sleep

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if self.before_sleep is not None:
            self.before_sleep(self.sleeps)
        self.sleeps += 1
        self.now += DAY_S
        self.server.release(self.release_at.get(self.sleeps, 0))


def feed_on(server: AlpacaServer, fake: FakeTime, **kwargs: object) -> AlpacaBarFeed:
    client = StockHistoricalDataClient(KEY_ID, SECRET_KEY, url_override=server.url)
    return AlpacaBarFeed(
        client, SYMBOLS, timeframe=Timeframe.parse("1d"), calendar="XNYS",
        monotonic=fake.monotonic, sleep=fake.sleep, **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def expected_closes(first: int, last: int) -> list[pd.Timestamp]:
    """Session closes (16:00 New York) of the server's sessions ``first..last`` (1-based)."""
    days = [
        pd.Timestamp(b["t"]).tz_convert("America/New_York") for b in _daily_bars("AAPL", last, 0)
    ]
    return [
        (d.normalize() + pd.Timedelta(hours=16)).tz_convert("UTC") for d in days[first - 1 : last]
    ]


def collect(feed: AlpacaBarFeed, after: int, steps: int) -> list[tuple[int, list[str]]]:
    async def run() -> list[tuple[int, list[str]]]:
        got = []
        async for ts, bars in feed.stream(after=after):
            got.append((ts, [b.symbol for b in bars]))
            if len(got) == steps:
                break
        return got

    return asyncio.run(run())


def test_closed_bars_come_once_in_time_order_after_a_given_close(server: AlpacaServer) -> None:
    fake = FakeTime(server, release_at={1: 2, 3: 1})
    feed = feed_on(server, fake)
    after = expected_closes(10, 10)[0].value
    got = collect(feed, after, steps=13)  # sessions 11..20 at once, 21..22 then 23 released later
    closes = [pd.Timestamp(ts, tz="UTC") for ts, _ in got]
    assert closes == expected_closes(11, 23)
    assert all(symbols == list(SYMBOLS) for _, symbols in got)


def test_a_feed_without_new_bars_falls_silent_within_three_intervals_and_pauses_entries(
    server: AlpacaServer,
) -> None:
    told: list[str] = []
    registry = HealthRegistry()
    polls_when_silent: list[int] = []

    def look(sleeps: int) -> None:
        if feed.silent is not None and not polls_when_silent:
            polls_when_silent.append(sleeps)
            assert registry.evaluate(0).level is DegradationLevel.REDUCE_ONLY
            assert not registry.allows("AAPL", OrderKind.ENTRY)
            assert registry.allows("AAPL", OrderKind.CLOSE)  # exits still go out

    fake = FakeTime(server, release_at={6: 1}, before_sleep=look)
    feed = feed_on(server, fake, on_silence=told.append)
    registry.register("market_data", feed.check)
    got = collect(feed, expected_closes(20, 20)[0].value, steps=1)  # the bar released at sleep 6
    assert [pd.Timestamp(ts, tz="UTC") for ts, _ in got] == expected_closes(21, 21)
    # silent once more than 3 intervals passed without news: after the 4th day, not before
    assert polls_when_silent == [4]
    assert len(told) == 1 and "over 3 bar intervals" in told[0]
    assert feed.silent is None  # the released bar ended it
    assert registry.evaluate(0).level is DegradationLevel.NORMAL
