"""Peak resident memory per stage, on one process that runs every stage.

``ru_maxrss`` only ever grows, so after a stage that peaked at 2 GiB every
later stage would report 2 GiB. On Linux writing ``5`` to
``/proc/self/clear_refs`` resets the high-water mark (``VmHWM``) to the current
resident size, so each stage can report its own peak. Where that is not
possible (another OS, a locked-down ``/proc``), the figure is the process's
peak so far, which still bounds the stage's from above.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def reset_peak() -> bool:
    """Reset the process's peak-memory mark; ``False`` when the OS does not allow it."""
    try:
        _CLEAR_REFS.write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def peak_mib() -> float:
    """The process's peak resident memory since the last reset (or since start), in MiB."""
    try:
        for line in _STATUS.read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # the kernel reports kB
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10
