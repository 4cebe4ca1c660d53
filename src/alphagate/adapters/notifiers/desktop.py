"""The desktop sink: ``notify-send`` where it is installed, nothing where it is not."""

from __future__ import annotations

import logging
import shutil
import subprocess

log = logging.getLogger("alphagate.notify")

URGENCY = {"info": "low", "warning": "normal", "error": "critical"}


class DesktopNotifier:
    """Show each notice as a desktop notification through ``notify-send``.

    A headless server has no ``notify-send``: the sink then does nothing, and
    says so once, rather than failing every notice.
    """

    def __init__(self, program: str = "notify-send", timeout: float = 5.0) -> None:
        self._path = shutil.which(program)
        self._timeout = timeout
        if self._path is None:
            log.info("desktop notices are off: %s is not installed", program)

    @property
    def available(self) -> bool:
        """Whether ``notify-send`` was found."""
        return self._path is not None

    def send(self, subject: str, body: str, severity: str) -> None:
        """Show one notice (urgency from the severity); a failure is logged, never raised."""
        if self._path is None:
            return
        command = [self._path, "--urgency", URGENCY.get(severity, "normal"), "--app-name",
                   "alphagate", subject, body]  # fmt: skip
        try:
            subprocess.run(command, check=True, timeout=self._timeout, capture_output=True)
        except (OSError, subprocess.SubprocessError) as error:
            log.warning("desktop notice not shown: %s", type(error).__name__)
