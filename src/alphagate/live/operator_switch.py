"""The operator's kill switch as a journaled input: what the engine's guard obeys, replayably.

The risk guard inside the kernel trips and obeys a kill switch. If that
were the operator's file (``alphagate kill-switch trip``), a replay after a
crash would read today's file while deciding yesterday's bars, decide
differently, and send what the original run refused (RELIABILITY CR-13).
So the guard obeys an **engine switch** that changes only through journaled
records (and its own trips, which replay reproduces), and once per cycle
this module reads the operator's file: every trip or reset in its history
that the engine has not taken yet is journaled as one ``switch`` record,
then applied to the engine switch. Replay applies the same records at the
same places.

The operator's history is append-only, so "what the engine has not taken
yet" is a count, kept in each record. A reset there also clears a halt the
guard tripped itself (a drawdown halt): the operator's reset is the one way
to resume, as for any halt.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from alphagate.risk.kill_switch import KillSwitch

ACTOR = "operator"


class OperatorSwitch:
    """Feeds the operator's kill switch history into ``engine``; see the module docstring.

    Parameters
    ----------
    engine
        The switch the guard obeys (its own state file, rebuilt by replay).
    state_file, trigger_file
        The operator's switch (``risk.kill_switch_state``, ``risk.kill_switch_file``).
    """

    def __init__(self, engine: KillSwitch, state_file: Path, trigger_file: Path | None) -> None:
        self.engine = engine
        self._state_file, self._trigger_file = state_file, trigger_file
        self._taken = 0

    def poll(self, ts: int) -> dict[str, Any] | None:
        """The operator's events the engine has not taken, as a record; ``None`` when none.

        A present trigger file is latched into the operator's state first,
        so deleting the file alone never resumes trading.
        """
        operator = KillSwitch(self._state_file, self._trigger_file)
        operator.poll(pd.Timestamp(ts, tz="UTC"))
        history = operator.history()
        fresh = history[self._taken :]
        if not fresh:
            return None
        return {
            "taken": len(history),
            "events": [
                {"action": str(event.data.get("action", "trip")), "reason": event.reason}
                for event in fresh
            ],
        }

    def apply(self, ts: int, record: Mapping[str, Any]) -> None:
        """Take a journaled ``switch`` record: trip or reset the engine switch as it says."""
        stamp = pd.Timestamp(ts, tz="UTC")
        for event in record["events"]:
            if event["action"] == "reset":
                if self.engine.is_tripped():
                    self.engine.reset(event["reason"], ACTOR, stamp)
            else:
                self.engine.trip(event["reason"], ACTOR, stamp)
        self._taken = int(record["taken"])
