"""Gate 3 in ``gates.paper_mode: live``: wait below the day count, grade the stored record at it.

The stored record is written straight into the trading database under the
live paper session's books (what ``paper --feed`` writes, as
``tests/integration/test_paper_live_feed.py`` checks), so each test knows its
record's days and shape without running a feed.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphagate.adapters.trading_db.records import EquityPoint
from alphagate.adapters.trading_db.store import TradingStore
from alphagate.app.gate_checks import GateContext, Verdict, Waiting, open_paper, paper_gate
from alphagate.app.paper_live import book_id
from alphagate.config import Settings
from alphagate.config.loading import load_config
from alphagate.gates.candidates import GateState, Transition


def _settings(tmp_path: Path) -> Settings:
    return load_config(
        overrides=[
            "gates.paper_mode=live",
            f"storage.trading_database_url=sqlite:///{tmp_path / 'trading.db'}",
        ]
    )


def _history() -> list[Transition]:
    return [
        Transition(
            candidate_id="r1", seq=0, run_id="r1", source=None,
            target=GateState.REGISTERED, ts=1, actor="submit", evidence={"symbols": ["AAA"]},
        )
    ]  # fmt: skip


def _record(settings: Settings, days: int, daily_return: float) -> pd.DatetimeIndex:
    """Seven hourly bars a NYSE day (14:30..20:30 UTC, inside the session) for ``days`` days."""
    dates = pd.bdate_range("2026-03-02", periods=days, tz="UTC")
    stamps = pd.DatetimeIndex(
        [d + pd.Timedelta(hours=14, minutes=30 + 60 * h) for d in dates for h in range(7)]
    )
    rng = np.random.default_rng(0)
    steps = daily_return / 7 + rng.normal(0, abs(daily_return) / 20, len(stamps))
    equity = 100_000 * np.cumprod(1 + steps)
    store = TradingStore.open(settings.storage.trading_database_url or "")
    try:
        for ts, value in zip(stamps, equity, strict=True):
            store.add_equity_point(book_id("r1", "alpaca"), EquityPoint(ts.value, value, value))
    finally:
        store.close()
    return stamps


def _bars(stamps: pd.DatetimeIndex) -> pd.DataFrame:
    """A flat benchmark: buy and hold earns nothing, so alpha is the record's own return."""
    index = pd.MultiIndex.from_product([stamps, ["AAA"]], names=["ts", "symbol"])
    return pd.DataFrame({"close": 50.0}, index=index)


def test_live_mode_opens_paper_with_the_command_to_run(tmp_path: Path) -> None:
    ctx = GateContext(_settings(tmp_path), tmp_path / "runs", pd.DataFrame)
    verdict = open_paper(ctx, _history())
    assert verdict.target is GateState.PAPER
    assert verdict.evidence["mode"] == "live"
    assert verdict.evidence["command"].startswith("alphagate paper --run r1 --feed alpaca")
    assert verdict.evidence["sessions"]["alpaca"].endswith("r1/paper-live-alpaca")


@pytest.mark.parametrize("days", [0, 6])
def test_live_mode_waits_below_the_day_count(tmp_path: Path, days: int) -> None:
    settings = _settings(tmp_path)
    stamps = _record(settings, days, 0.01) if days else pd.DatetimeIndex([], tz="UTC")
    ctx = GateContext(settings, tmp_path / "runs", lambda: _bars(stamps))
    verdict = paper_gate(ctx, _history())
    assert isinstance(verdict, Waiting)
    assert f"waiting: {days} of 7 trading days" in verdict.reason


def test_live_mode_grades_once_the_record_spans_the_days(tmp_path: Path) -> None:
    rising, falling = tmp_path / "up", tmp_path / "down"
    verdicts: list[Verdict] = []
    for folder, daily in ((rising, 0.004), (falling, -0.004)):
        folder.mkdir()
        settings = _settings(folder)
        stamps = _record(settings, 7, daily)
        verdict = paper_gate(
            GateContext(settings, folder / "runs", functools.partial(_bars, stamps)), _history()
        )
        assert isinstance(verdict, Verdict)
        assert verdict.evidence["days"] == 7 and verdict.evidence["bars"] == 49
        assert verdict.evidence["grade"]["grade"] in "ABCDF"
        verdicts.append(verdict)
    up, down = verdicts
    assert down.target is GateState.REJECTED_AT_PAPER  # a losing week never passes
    assert up.evidence["grade"]["score"] > down.evidence["grade"]["score"]
    assert up.evidence["record"]["alpha"] > 0 > down.evidence["record"]["alpha"]
