"""Named points around every persist and send, where the crash harness may ``kill -9`` the engine.

RELIABILITY asks for crash tests at each boundary between writing the
journal and talking to the venue. The driver calls :func:`checkpoint` at
each; normally it does nothing. With ``ALPHAGATE_CRASH_AT`` set in the
environment to ``NAME:N`` the process kills itself with ``SIGKILL`` (no
``finally``, no flush, exactly a ``kill -9``) the N-th time it passes the
checkpoint ``NAME``, or the N-th checkpoint of any name with ``any:N``.
"""

from __future__ import annotations

import os
import signal
from typing import Final

CRASH_ENV: Final = "ALPHAGATE_CRASH_AT"
CHECKPOINTS: Final = (
    "bars-journaled",
    "command-journaled",
    "command-sent",
    "update-journaled",
    "venue-answered",
    "close-journaled",
    "snapshot-written",
)
"""Every checkpoint the driver passes, so a harness can aim at each one."""


class _Crasher:
    def __init__(self, spec: str | None) -> None:
        self.name: str | None = None
        self.left = 0
        if spec:
            name, _, count = spec.rpartition(":")
            if (name != "any" and name not in CHECKPOINTS) or not count.isdigit() or int(count) < 1:
                raise ValueError(
                    f"{CRASH_ENV}={spec!r}: expected NAME:N with N >= 1 and NAME one of "
                    f"{', '.join(CHECKPOINTS)} or 'any'"
                )
            self.name, self.left = name, int(count)

    def passing(self, name: str) -> None:
        if self.name is None or (self.name not in ("any", name)):
            return
        self.left -= 1
        if self.left == 0:
            os.kill(os.getpid(), signal.SIGKILL)


_crasher = _Crasher(os.environ.get(CRASH_ENV))


def checkpoint(name: str) -> None:
    """Pass the checkpoint ``name``: nothing happens unless a crash was asked for here."""
    _crasher.passing(name)
