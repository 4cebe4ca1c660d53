"""The gates daemon: a pass per interval, the emergency stop, and failures retried with backoff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from alphagate.app import gates
from alphagate.app.trading_db import open_trading_store
from alphagate.config import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {
            "storage": {"trading_database_url": f"sqlite:///{tmp_path / 'trading.db'}"},
            "gates": {"stop_file": tmp_path / "gates.stop", "retry_seconds": 10.0},
        }
    )


def no_bars() -> pd.DataFrame:
    raise AssertionError("no gate should need bars here")


def test_failed_passes_are_recorded_and_retried_with_doubling_waits_up_to_the_interval(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes: list[Any] = [OSError("database is locked")] * 4 + [[], []]

    def flaky(*_: Any, **__: Any) -> list[gates.Step]:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return list(outcome)

    monkeypatch.setattr(gates, "run_once", flaky)
    waits: list[float] = []
    passes = gates.daemon(settings, tmp_path, no_bars, interval=60.0, passes=6, sleep=waits.append)
    assert passes == 6
    assert waits == [10.0, 20.0, 40.0, 60.0, 60.0]  # doubling, capped; a success resets
    store = open_trading_store(settings)
    try:
        failures = store.system_events(kind="gates_failure")
    finally:
        store.close()
    assert len(failures) == 4
    assert all(
        "database is locked" in str(e.detail) and "Traceback" in str(e.detail) for e in failures
    )


def test_the_stop_file_halts_every_pass_until_resumed(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[int] = []
    monkeypatch.setattr(gates, "run_once", lambda *_a, **_k: ran.append(1) or [])
    gates.stop(settings, "bad data feed", "ops")
    gates.daemon(settings, tmp_path, no_bars, interval=1.0, passes=3, sleep=lambda _s: None)
    assert ran == []
    with pytest.raises(gates.GatesStopped, match="bad data feed"):
        gates.check_not_stopped(settings)
    assert gates.resume(settings, "feed fixed", "ops") is True
    gates.daemon(settings, tmp_path, no_bars, interval=1.0, passes=2, sleep=lambda _s: None)
    assert ran == [1, 1]
    assert gates.resume(settings, "again", "ops") is False
    store = open_trading_store(settings)
    try:
        kinds = [e.kind for e in store.system_events() if e.kind.startswith("gates_")]
    finally:
        store.close()
    assert sorted(kinds) == ["gates_resumed", "gates_stopped"]
