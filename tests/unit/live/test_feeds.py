"""The paper feeds: a replay walks the backtest's steps; the synthetic market is seeded and sane."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from alphagate.engine.market import MarketData
from alphagate.live.feeds import ReplayFeed, SyntheticFeed
from alphagate.testing import random_walk_bars

BARS = random_walk_bars({"AAA": 0, "BBB": 4}, 40, seed=2)


def collect(
    feed: ReplayFeed | SyntheticFeed, after: int | None = None
) -> list[tuple[int, list[str]]]:
    async def run() -> list[tuple[int, list[str]]]:
        return [(ts, [b.symbol for b in bars]) async for ts, bars in feed.stream(after=after)]

    return asyncio.run(run())


def test_a_replay_walks_the_timeline_the_backtest_walks_with_symbols_in_run_order() -> None:
    steps = collect(ReplayFeed(BARS))
    stamps = np.unique(MarketData.of_frame(BARS).column("AAA", "ts"))
    assert [ts for ts, _ in steps] == stamps.tolist()
    assert all(symbols in (["AAA", "BBB"], ["AAA"]) for _, symbols in steps)
    assert sum(len(s) for _, s in steps) == len(BARS)


def test_a_resumed_replay_starts_after_the_last_close_it_finished() -> None:
    steps = collect(ReplayFeed(BARS))
    assert collect(ReplayFeed(BARS), after=steps[9][0]) == steps[10:]


def test_the_synthetic_market_is_seeded_resumable_and_its_bars_are_consistent() -> None:
    def feed(seed: int) -> SyntheticFeed:
        return SyntheticFeed(
            ["X", "Y"], interval_ns=60 * 10**9, start_ns=0, bars=50, seed=seed, speed=None
        )

    first = list(feed(1).steps())
    assert first == list(feed(1).steps())
    assert first != list(feed(2).steps())
    for _, bars in first:
        for bar in bars:
            assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
    assert [ts for ts, _ in collect(feed(1), after=first[19][0])] == [ts for ts, _ in first[20:]]
    with pytest.raises(ValueError, match="speed"):
        SyntheticFeed(["X"], interval_ns=1, start_ns=0, bars=1, speed=0)
