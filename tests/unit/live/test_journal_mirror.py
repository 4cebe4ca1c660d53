"""CR-12: the journal's Redis mirror goes down mid-run; the engine keeps every record and degrades.

The paper engine's journal is SQLite, mirrored to a real redis-server. With
the server killed, every record still reaches SQLite, the health registry
reports the mirror down (``health.mirror_down_level``: reduce-only by
default), so new entries are rejected with the reason, journaled; with the
server back, the mirror catches up to the same records, and the engine
trades again.
"""

from __future__ import annotations

from pathlib import Path

from alphagate.adapters.journal.redis import RedisJournal
from alphagate.app.paper_engine import PaperParts, paper_engine
from alphagate.config import Settings
from alphagate.domain.order_state import OrderStatus
from alphagate.execution.commission import NoCommission
from alphagate.execution.fill_models import NextOpenFill
from alphagate.live.feeds import steps_of
from alphagate.live.recovery import recover, resume
from alphagate.risk.events import RiskEvent
from alphagate.strategies.builtin import SmaCross
from alphagate.testing import random_walk_bars
from alphagate.testing.servers import RedisServer

BARS = random_walk_bars({"AAA": 0, "BBB": 0}, 160, seed=9)


def test_a_mirror_outage_loses_nothing_blocks_entries_and_catches_up(
    tmp_path: Path, redis_server: RedisServer, stream_key: str
) -> None:
    defaults = Settings()
    mirror = f"{redis_server.url}?stream={stream_key}"
    settings = defaults.model_copy(
        update={
            "storage": defaults.storage.model_copy(update={"journal_mirror_url": mirror}),
            "risk": defaults.risk.model_copy(
                update={"kill_switch_state": tmp_path / "ks.json", "kill_switch_file": None}
            ),
        }
    )
    events: list[RiskEvent] = []
    parts = PaperParts(cash=10_000.0, fill_model=NextOpenFill(), commission=NoCommission())
    steps = list(steps_of(BARS))
    with paper_engine(
        settings,
        SmaCross(3, 8),
        ["AAA", "BBB"],
        parts,
        session=tmp_path / "s",
        events=events.append,
    ) as (driver, go_live):
        found = recover(driver)
        go_live(driver)
        resume(driver, found)
        for ts, bars in steps[:60]:
            driver.cycle(ts, bars)
        redis_server.stop()
        before = {cid for cid, s in driver.kernel.orders.items()}
        for ts, bars in steps[60:120]:
            driver.cycle(ts, bars)
        during = {cid: s for cid, s in driver.kernel.orders.items() if cid not in before}
        rejected = [s for s in during.values() if s.status is OrderStatus.REJECTED]
        assert rejected, "an entry decided while the mirror was down must be rejected"
        assert all("journal mirror down" in (s.reason or "") for s in rejected)
        assert any(e.component == "health" and "journal_mirror" in e.reason for e in events)
        assert driver.journal.degraded  # type: ignore[attr-defined]
        redis_server.start()
        assert driver.journal.catch_up()  # type: ignore[attr-defined]
        for ts, bars in steps[120:]:
            driver.cycle(ts, bars)
        primary = list(driver.journal.replay())
        copy = RedisJournal(redis_server.url, stream_key)
        try:
            assert list(copy.replay()) == primary
        finally:
            copy.close()
        after = [
            s for cid, s in driver.kernel.orders.items() if cid not in before and cid not in during
        ]
        assert any(s.status is OrderStatus.FILLED for s in after), "trading resumes"
