"""The log sink: every notice a log record at its severity."""

from __future__ import annotations

import logging

log = logging.getLogger("alphagate.notify")

LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class LogNotifier:
    """Log each notice; the sink that is always there, and the default route's."""

    def send(self, subject: str, body: str, severity: str) -> None:
        """Log ``subject: body`` at the severity's level (unknown severities as warnings)."""
        log.log(LEVELS.get(severity, logging.WARNING), "%s: %s", subject, body)
