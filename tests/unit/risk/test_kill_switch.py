"""The kill switch: latched, persisted across restarts, reset only by a person with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from alphagate.risk.events import Severity
from alphagate.risk.kill_switch import KillSwitch, KillSwitchError

T1 = pd.Timestamp("2024-01-02 15:00", tz="UTC")
T2 = pd.Timestamp("2024-01-02 15:05", tz="UTC")
T3 = pd.Timestamp("2024-01-02 16:00", tz="UTC")


def test_a_new_switch_is_not_tripped_and_writes_nothing(tmp_path: Path) -> None:
    switch = KillSwitch(tmp_path / "kill.json")
    assert not switch.is_tripped()
    assert switch.history() == ()
    assert not (tmp_path / "kill.json").exists()


def test_a_trip_survives_a_restart_on_the_same_file(tmp_path: Path) -> None:
    state = tmp_path / "kill.json"
    event = KillSwitch(state).trip("daily loss 3.5% >= max 3.0%", "daily_loss", T1)
    assert event.severity is Severity.CRITICAL
    assert event.reason == "tripped by daily_loss: daily loss 3.5% >= max 3.0%"
    restarted = KillSwitch(state)  # as after kill -9: nothing but the file is left
    assert restarted.is_tripped()
    assert restarted.reason == "daily loss 3.5% >= max 3.0%"
    assert restarted.history() == (event,)


def test_tripping_twice_keeps_the_first_reason_and_records_both(tmp_path: Path) -> None:
    switch = KillSwitch(tmp_path / "kill.json")
    first = switch.trip("drawdown HALT", "drawdown", T1)
    second = switch.trip("feed lost", "engine", T2)
    assert switch.reason == "drawdown HALT"
    assert switch.history() == (first, second)
    assert first.data["already_tripped"] is False
    assert second.data["already_tripped"] is True
    assert KillSwitch(tmp_path / "kill.json").reason == "drawdown HALT"


def test_a_reset_needs_a_reason_and_then_clears_the_halt_for_good(tmp_path: Path) -> None:
    state = tmp_path / "kill.json"
    switch = KillSwitch(state)
    switch.trip("too many rejects", "engine", T1)
    for reason in ("", "   "):
        with pytest.raises(KillSwitchError, match="non-empty reason"):
            switch.reset(reason, "alice", T2)
    assert switch.is_tripped()
    reset = switch.reset("venue confirmed healthy", "alice", T3)
    assert reset.reason == "reset by alice: venue confirmed healthy"
    assert reset.data["was_tripped_for"] == "too many rejects"
    assert not switch.is_tripped()
    assert not KillSwitch(state).is_tripped()


def test_the_trigger_file_trips_the_switch_and_blocks_a_reset(tmp_path: Path) -> None:
    trigger = tmp_path / "STOP"
    switch = KillSwitch(tmp_path / "kill.json", trigger_file=trigger)
    assert not switch.is_tripped()
    trigger.touch()
    assert switch.is_tripped()
    with pytest.raises(KillSwitchError, match="remove the trigger file"):
        switch.reset("false alarm", "alice", T1)


def test_polling_latches_the_trigger_so_deleting_the_file_does_not_resume(
    tmp_path: Path,
) -> None:
    trigger = tmp_path / "STOP"
    switch = KillSwitch(tmp_path / "kill.json", trigger_file=trigger)
    assert switch.poll(T1) is None
    trigger.touch()
    event = switch.poll(T2)
    assert event is not None
    assert event.data["actor"] == "operator-file"
    assert switch.poll(T3) is None  # already latched: one event, not one per cycle
    trigger.unlink()
    assert switch.is_tripped()
    switch.reset("drill over", "alice", T3)
    assert not switch.is_tripped()


def test_a_trip_without_a_reason_still_halts(tmp_path: Path) -> None:
    switch = KillSwitch(tmp_path / "kill.json")
    event = switch.trip("  ", "", T1)
    assert switch.is_tripped()
    assert event.reason == "tripped by (unknown): (no reason given)"


def test_history_keeps_every_trip_and_reset_in_order_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "kill.json"
    KillSwitch(state).trip("drawdown HALT", "drawdown", T1)
    KillSwitch(state).trip("feed lost", "engine", T2)
    KillSwitch(state).reset("reviewed", "alice", T3)
    history = KillSwitch(state).history()
    assert [e.data["action"] for e in history] == ["trip", "trip", "reset"]
    assert [e.ts for e in history] == [T1, T2, T3]
    assert [e.reason for e in history] == [
        "tripped by drawdown: drawdown HALT",
        "tripped by engine: feed lost",
        "reset by alice: reviewed",
    ]


def test_the_state_file_is_replaced_whole_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    state = tmp_path / "kill.json"
    switch = KillSwitch(state)
    switch.trip("drill", "alice", T1)
    switch.reset("drill over", "alice", T2)
    assert [p.name for p in tmp_path.iterdir()] == ["kill.json"]
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert saved["tripped"] is False
    assert len(saved["history"]) == 2


def test_an_unreadable_state_file_refuses_to_start_rather_than_start_unhalted(
    tmp_path: Path,
) -> None:
    state = tmp_path / "kill.json"
    state.write_text('{"reason": "drawdown', encoding="utf-8")  # torn by hand
    with pytest.raises(KillSwitchError, match="refusing to start un-halted"):
        KillSwitch(state)
