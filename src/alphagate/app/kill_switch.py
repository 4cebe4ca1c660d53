"""Use cases of the kill switch an operator drives from the command line: status, trip, reset.

The switch itself (:class:`~alphagate.risk.kill_switch.KillSwitch`) keeps its
latched state and history in ``risk.kill_switch_state``; a running paper or
live engine reads that file every cycle (its health check), so a trip made
here halts it within one cycle. These functions only locate the files from
the settings, stamp the wall clock, which is the edge's job, and shape
the answer for printing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from alphagate.config import Settings
from alphagate.risk.events import RiskEvent
from alphagate.risk.kill_switch import KillSwitch, KillSwitchError

HISTORY_TAIL = 10
"""Events ``status`` shows: enough to see the last few trips and resets."""


@dataclass(frozen=True, slots=True)
class KillSwitchStatus:
    """What ``kill-switch status`` reports.

    ``tripped`` is true when the state is latched *or* the trigger file
    exists (what the engine obeys); ``since`` is when the current latch
    began, ``None`` when not latched.
    """

    state_file: str
    trigger_file: str | None
    trigger_present: bool
    tripped: bool
    reason: str | None
    since: pd.Timestamp | None
    history: tuple[RiskEvent, ...]

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form, times in ISO 8601."""
        return {
            "tripped": self.tripped,
            "reason": self.reason,
            "since": None if self.since is None else self.since.isoformat(),
            "state_file": self.state_file,
            "trigger_file": self.trigger_file,
            "trigger_present": self.trigger_present,
            "history": [
                {
                    "ts": e.ts.isoformat(),
                    "severity": e.severity.value,
                    "reason": e.reason,
                    "data": dict(e.data),
                }
                for e in self.history
            ],
        }


def open_kill_switch(settings: Settings) -> KillSwitch:
    """The configured switch; an unreadable state file raises (the engine would not start)."""
    return KillSwitch(settings.risk.kill_switch_state, settings.risk.kill_switch_file)


def kill_switch_status(settings: Settings) -> KillSwitchStatus:
    """The switch as it stands, with the tail of its history."""
    switch = open_kill_switch(settings)
    history = switch.history()
    trigger = switch.trigger_file
    trigger_present = trigger is not None and trigger.exists()
    reason = switch.reason
    if reason is None and trigger_present:
        reason = f"trigger file {trigger} present (not yet latched)"
    return KillSwitchStatus(
        state_file=str(switch.state_file),
        trigger_file=None if trigger is None else str(trigger),
        trigger_present=trigger_present,
        tripped=switch.is_tripped(),
        reason=reason,
        since=_latched_since(history) if switch.reason is not None else None,
        history=history[-HISTORY_TAIL:],
    )


def trip_kill_switch(
    settings: Settings, reason: str, actor: str, now: pd.Timestamp | None = None
) -> RiskEvent:
    """Latch the halt and record who and why; tripping a tripped switch is recorded too."""
    switch = _writable(settings)
    return switch.trip(reason, actor, _now(now))


def reset_kill_switch(
    settings: Settings, reason: str | None, actor: str | None, now: pd.Timestamp | None = None
) -> RiskEvent:
    """Clear the halt; refused without a reason and a name, both recorded in the history.

    Raises
    ------
    KillSwitchError
        Naming what is missing, or the trigger file still to remove.
    """
    missing = [
        flag
        for flag, value in (("--reason TEXT", reason), ("--by NAME", actor))
        if not (value or "").strip()
    ]
    if missing:
        raise KillSwitchError(
            f"resetting the kill switch needs {' and '.join(missing)}: who resets it and why "
            "are recorded in its history, e.g. alphagate kill-switch reset --reason "
            '"feed restored" --by alice'
        )
    switch = _writable(settings)
    return switch.reset(reason or "", actor or "", _now(now))


def _writable(settings: Settings) -> KillSwitch:
    """The switch, with its state directory created so the first trip can be written."""
    settings.risk.kill_switch_state.parent.mkdir(parents=True, exist_ok=True)
    return open_kill_switch(settings)


def _latched_since(history: tuple[RiskEvent, ...]) -> pd.Timestamp | None:
    """Time of the first trip after the last reset: when the current halt began."""
    since: pd.Timestamp | None = None
    for event in history:
        action = event.data.get("action")
        if action == "reset":
            since = None
        elif action == "trip" and since is None:
            since = event.ts
    return since


def _now(now: pd.Timestamp | None) -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC") if now is None else now
