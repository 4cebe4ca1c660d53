"""``/health`` follows the engine: 503 naming the feed when its bars stop, 200 once they resume.

A paper engine (buy-and-hold on the bundled ^GSPC bars, the real kernel,
journal, paper venue and health gate) runs in a thread on a feed the test
holds: each step is handed over explicitly, so "the feed stops" is simply
not handing one. The service reads the engine monitor as in ``paper --serve``.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from alphagate.app.paper_engine import PaperParts, paper_engine
from alphagate.config import Settings
from alphagate.domain.bar import Bar
from alphagate.execution.commission import NoCommission
from alphagate.execution.fill_models import NextOpenFill
from alphagate.live.feeds import steps_of
from alphagate.live.runner import run_live
from alphagate.monitor.api import create_app
from alphagate.monitor.books import LiveBooks
from alphagate.monitor.engine_monitor import EngineMonitor
from alphagate.strategies.builtin import make_strategy

TIMEOUT = 0.6
"""Seconds without a bar after which the feed counts as failed."""


class HeldFeed:
    """Steps handed over one at a time by the test; ``None`` ends the feed."""

    def __init__(self) -> None:
        self.steps: queue.Queue[tuple[int, list[Bar]] | None] = queue.Queue()

    async def stream(self, after: int | None = None) -> AsyncIterator[tuple[int, Sequence[Bar]]]:
        while True:
            step = await asyncio.to_thread(self.steps.get)
            if step is None:
                return
            yield step


class Notes:
    """The cycles seen so far, for the test to wait on."""

    def __init__(self) -> None:
        self.cycles = 0
        self.seen = threading.Condition()

    def wait_for(self, cycles: int) -> None:
        with self.seen:
            assert self.seen.wait_for(lambda: self.cycles >= cycles, timeout=30)


@pytest.fixture
def engine(
    gspc_bars: pd.DataFrame, settings: Settings, tmp_path: Path
) -> Iterator[tuple[TestClient, HeldFeed, Notes, list[tuple[int, list[Bar]]]]]:
    bars = gspc_bars.loc[(slice(None), slice("2015-01-01", "2015-03-31")), :]
    steps = list(steps_of(bars))
    monitor = EngineMonitor(10_000.0)
    notes = Notes()

    def on_cycle(driver: object) -> None:
        monitor(driver)  # type: ignore[arg-type]
        with notes.seen:
            notes.cycles += 1
            notes.seen.notify_all()

    feed = HeldFeed()
    parts = PaperParts(cash=10_000.0, fill_model=NextOpenFill(), commission=NoCommission())
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with paper_engine(
                settings,
                make_strategy("buy_and_hold"),
                ["^GSPC"],
                parts,
                session=tmp_path / "session",
                events=monitor.on_event,
            ) as (driver, go_live):
                summary = asyncio.run(
                    run_live(
                        driver,
                        monitor.timed(feed),
                        on_cycle=on_cycle,
                        after_recovery=go_live,
                        handle_signals=False,
                    )
                )
                monitor.finish(driver, summary.stopped_by)
        except BaseException as error:  # reported by the test below
            failure.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    books = LiveBooks(monitor, list, feed_timeout=TIMEOUT)
    app = create_app(books, monitor.metrics.exposition, _NoControls(), token=None)
    with TestClient(app) as client:
        yield client, feed, notes, steps
    feed.steps.put(None)
    thread.join(timeout=30)
    assert not failure, failure


class _NoControls:
    def act(self, action: str, reason: str, actor: str) -> dict[str, object]:
        raise AssertionError("no control is called here")

    def journal(self, action: str, actor: str, outcome: str, detail: dict[str, object]) -> None:
        pass


def test_health_turns_503_naming_the_feed_when_it_stops_and_recovers(
    engine: tuple[TestClient, HeldFeed, Notes, list[tuple[int, list[Bar]]]],
) -> None:
    client, feed, notes, steps = engine
    for step in steps[:5]:
        feed.steps.put(step)
    notes.wait_for(5)
    first = client.get("/health")
    assert first.status_code == 200, first.json()
    assert first.json()["status"] == "ok" and first.json()["degradation"] == "normal"

    time.sleep(TIMEOUT * 2)  # the feed stops: no step is handed over
    stopped = client.get("/health")
    assert stopped.status_code == 503
    body = stopped.json()
    assert body["status"] == "halted" and body["failing"] == ["feed"]
    assert "no bar for" in body["components"]["feed"]["detail"]
    metrics = client.get("/metrics").text
    assert "alphagate_cycles 5.0" in metrics

    for step in steps[5:8]:
        feed.steps.put(step)
    notes.wait_for(8)
    again = client.get("/health")
    assert again.status_code == 200 and again.json()["failing"] == []
    status = client.get("/api/status").json()
    assert status["cycles"] == 8 and status["running"] is True
    assert client.get("/api/positions").json()[0]["symbol"] == "^GSPC"
    # Buy-and-hold decides at the first close and fills at the next open: the slippage
    # and latency follow from the bars alone.
    first, second = steps[0][1][0], steps[1][1][0]
    execution = client.get("/api/execution").json()
    assert execution["fills"] == 1
    assert execution["slippage_bps"] == [
        pytest.approx((second.open - first.close) / first.close * 1e4)
    ]
    assert execution["decision_to_fill_seconds_mean"] == pytest.approx((second.ts - first.ts) / 1e9)

    feed.steps.put(None)  # the feed ends: the engine stops and says so
    deadline = time.monotonic() + 30
    while client.get("/api/status").json()["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    ended = client.get("/health")
    assert (
        ended.status_code == 503 and "end of feed" in ended.json()["components"]["feed"]["detail"]
    )
