"""Routing notices to sinks, with a rate limit per sink and de-duplication.

A bot in trouble repeats itself: the same reconciliation difference every
cycle, a burst of rejects, a flapping feed. Without limits a chat channel
floods and people mute it, which is worse than no alerts. So each sink
delivers at most ``per_minute`` notices in any 60 s window, and a notice
identical to one the sink delivered less than ``dedup_seconds`` ago is
dropped. Nothing is dropped silently: the next notice the sink does deliver
says how many were held back. A sink that raises is logged and skipped; a
notice never stops trading.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from alphagate.ports import Notifier

log = logging.getLogger("alphagate.notify")

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class Route:
    """Notices matching one of ``subjects``, of ``min_severity`` or worse, go to ``sinks``."""

    subjects: tuple[str, ...]
    min_severity: str
    sinks: tuple[str, ...]

    def matches(self, subject: str, severity: str) -> bool:
        """Whether a notice takes this route."""
        rank = SEVERITY_RANK.get(severity, SEVERITY_RANK["warning"])
        return rank >= SEVERITY_RANK[self.min_severity] and any(
            fnmatch.fnmatchcase(subject, pattern) for pattern in self.subjects
        )


@dataclass
class _SinkLedger:
    """What one sink delivered lately and what it held back since its last delivery."""

    sent: deque[float] = field(default_factory=deque)
    last: dict[tuple[str, str, str], float] = field(default_factory=dict)
    held_back: int = 0


class RoutedNotifier:
    """A :class:`~alphagate.ports.Notifier` that routes, rate-limits and de-duplicates.

    Parameters
    ----------
    routes
        Every route a notice matches delivers it; a sink named by several
        matching routes delivers it once.
    sinks
        The sinks by name.
    per_minute, dedup_seconds
        The rate limit per sink and the de-duplication window.
    clock
        Monotonic seconds (replaceable in tests).
    """

    def __init__(
        self,
        routes: Sequence[Route],
        sinks: Mapping[str, Notifier],
        *,
        per_minute: int = 20,
        dedup_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        unknown = sorted({name for route in routes for name in route.sinks} - set(sinks))
        if unknown:
            raise ValueError(f"routes name sinks that are not configured: {', '.join(unknown)}")
        self._routes, self._sinks = tuple(routes), dict(sinks)
        self._per_minute, self._dedup, self._clock = per_minute, dedup_seconds, clock
        self._ledgers = {name: _SinkLedger() for name in sinks}

    def send(self, subject: str, body: str, severity: str) -> None:
        """Deliver to every sink a matching route names, within each sink's limits."""
        names = dict.fromkeys(
            name
            for route in self._routes
            if route.matches(subject, severity)
            for name in route.sinks
        )
        for name in names:
            self._deliver(name, subject, body, severity)

    def _deliver(self, name: str, subject: str, body: str, severity: str) -> None:
        ledger, now, key = self._ledgers[name], self._clock(), (subject, body, severity)
        last = ledger.last.get(key)
        if last is not None and now - last < self._dedup:
            ledger.held_back += 1
            return
        while ledger.sent and ledger.sent[0] <= now - 60.0:
            ledger.sent.popleft()
        if len(ledger.sent) >= self._per_minute:
            ledger.held_back += 1
            return
        text = body
        if ledger.held_back:
            text = f"{body}\n({ledger.held_back} earlier notices held back by the rate limit "
            text += "or as repeats)"
        try:
            self._sinks[name].send(subject, text, severity)
        except Exception as error:
            log.warning("%s sink failed: %s", name, type(error).__name__)
            return
        ledger.sent.append(now)
        ledger.last = {k: t for k, t in ledger.last.items() if now - t < self._dedup}
        ledger.last[key] = now
        ledger.held_back = 0
