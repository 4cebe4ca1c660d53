"""The kill switch: one persisted bit that stops all new trading until a person resets it.

Rules (RELIABILITY SE-09, CR-13)
--------------------------------
- **Persisted before it counts.** :meth:`KillSwitch.trip` writes the state
  file (temp file, fsync, ``os.replace``) before returning, so a ``kill -9``
  right after a trip restarts halted; a crash mid-write leaves the old file
  or the new one, never half of one.
- **Idempotent.** Tripping a tripped switch keeps the first reason (the cause
  an operator needs) and still records the second event in the history.
- **A trip is never refused**: a blank reason or actor is recorded as
  ``(no reason given)`` / ``(unknown)`` rather than raising mid-emergency.
- **Only a person resets it**, with a non-empty reason and actor; a reset is
  refused while the operator's trigger file exists.
- **The trigger file** is the emergency stop that needs no running process to
  talk to: while it exists :meth:`KillSwitch.is_tripped` is true.
  :meth:`KillSwitch.poll` latches it into the state file, so deleting the
  file alone does not resume trading.
- **An unreadable state file fails closed**: loading raises
  :class:`KillSwitchError`, so the engine does not start rather than start
  un-halted.
- **Automatic triggers are the caller's job**: the engine calls :meth:`trip`
  on a daily-loss breach, a drawdown HALT, a burst of rejects or a lost
  feed, and on a trip cancels open orders and blocks new entries (and
  flattens when configured) within one cycle.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from alphagate.errors import AlphagateError
from alphagate.risk.events import RiskEvent, Severity

COMPONENT = "kill_switch"
_VERSION = 1


class KillSwitchError(AlphagateError):
    """The kill switch state cannot be read, or a reset was refused."""


def _to_json(event: RiskEvent) -> dict[str, object]:
    return {
        "ts": event.ts.isoformat(),
        "component": event.component,
        "severity": event.severity.value,
        "reason": event.reason,
        "data": dict(event.data),
    }


def _from_json(raw: dict[str, object]) -> RiskEvent:
    data = raw["data"]
    if not isinstance(data, dict):
        raise TypeError("event data is not an object")
    return RiskEvent(
        ts=pd.Timestamp(str(raw["ts"])),
        component=str(raw["component"]),
        severity=Severity(str(raw["severity"])),
        reason=str(raw["reason"]),
        data=data,
    )


class KillSwitch:
    """A latched halt kept in ``state_file``; see the module docstring for the rules.

    Parameters
    ----------
    state_file
        Where the state lives (JSON); its directory must exist.
    trigger_file
        The operator's emergency-stop file; its existence trips the switch.
    """

    def __init__(self, state_file: Path, trigger_file: Path | None = None) -> None:
        self.state_file = state_file
        self.trigger_file = trigger_file
        self._reason: str | None = None
        self._history: list[RiskEvent] = []
        self._load()

    def is_tripped(self) -> bool:
        """Whether new trading must stop: latched in the state, or the trigger file exists."""
        return self._reason is not None or self._trigger_present()

    @property
    def reason(self) -> str | None:
        """Why it was first tripped, ``None`` when it is not latched."""
        return self._reason

    def history(self) -> tuple[RiskEvent, ...]:
        """Every trip and reset, oldest first, across restarts."""
        return tuple(self._history)

    def trip(self, reason: str, actor: str, ts: pd.Timestamp) -> RiskEvent:
        """Latch the halt (or note a repeated trip) and persist it before returning."""
        # Never refuse a halt over paperwork: a blank reason or actor is recorded as such.
        reason = reason.strip() or "(no reason given)"
        actor = actor.strip() or "(unknown)"
        repeated = self._reason is not None
        event = RiskEvent(
            ts=ts,
            component=COMPONENT,
            severity=Severity.CRITICAL,
            reason=f"tripped by {actor}: {reason}",
            data={"action": "trip", "actor": actor, "already_tripped": repeated},
        )
        if not repeated:
            self._reason = reason
        self._history.append(event)
        self._save()
        return event

    def poll(self, ts: pd.Timestamp) -> RiskEvent | None:
        """Latch a present trigger file into the state; call once per engine cycle."""
        if self._reason is not None or not self._trigger_present():
            return None
        return self.trip(f"trigger file {self.trigger_file} present", "operator-file", ts)

    def reset(self, reason: str, actor: str, ts: pd.Timestamp) -> RiskEvent:
        """Clear the halt; only a person with a stated reason may, and not while triggered."""
        if not reason.strip() or not actor.strip():
            raise KillSwitchError("resetting the kill switch needs a non-empty reason and actor")
        if self._trigger_present():
            raise KillSwitchError(
                f"remove the trigger file {self.trigger_file} before resetting the kill switch"
            )
        event = RiskEvent(
            ts=ts,
            component=COMPONENT,
            severity=Severity.WARNING,
            reason=f"reset by {actor}: {reason}",
            data={"action": "reset", "actor": actor, "was_tripped_for": self._reason},
        )
        self._reason = None
        self._history.append(event)
        self._save()
        return event

    def _trigger_present(self) -> bool:
        return self.trigger_file is not None and self.trigger_file.exists()

    def _load(self) -> None:
        if not self.state_file.exists():
            return
        try:
            raw = json.loads(self.state_file.read_text(encoding="utf-8"))
            reason = raw["reason"]
            history = [_from_json(item) for item in raw["history"]]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise KillSwitchError(
                f"kill switch state {self.state_file} is unreadable ({error}); refusing to "
                "start un-halted: inspect it, then fix or remove it"
            ) from error
        self._reason = None if reason is None else str(reason)
        self._history = history

    def _save(self) -> None:
        payload = {
            "version": _VERSION,
            "tripped": self._reason is not None,
            "reason": self._reason,
            "history": [_to_json(e) for e in self._history],
        }
        directory = self.state_file.parent
        fd, temporary = tempfile.mkstemp(prefix=f".{self.state_file.name}.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=1)
                handle.flush()
                os.fsync(handle.fileno())
            Path(temporary).replace(self.state_file)  # os.replace: atomic
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; not every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
