"""Sustained rate limits as a health input: the venue's 429s cut trading back (RELIABILITY BF-04).

Pacing and backoff keep one connection from hammering a venue that said
"too many requests" (:mod:`~alphagate.adapters.broker.pacing`,
:mod:`~alphagate.adapters.broker.retry`). They do not answer what the
engine should *trade* meanwhile: an order that cannot go out for minutes
must not be sized as if it could, and an exit must still get its turn.
:class:`RateLimitHealth` counts a spell of refusals (consecutive 429s until
a request succeeds) and how long it has lasted, and its :meth:`check`,
registered in the live engine's health registry beside the feed's silence
check, turns that into a degradation level:

* ``reduce_only`` once ``reduce_after`` refusals in a row, or the spell
  passed ``reduce_after_s``: no new risk while requests are scarce;
* ``close_only`` once the spell passed ``close_after_s``;
* ``halted`` once it passed ``halt_after_s``: the venue is as good as gone.

The alert is given once per spell, when it first degrades trading (a
notifier told every escalation of one outage pages people for one thing).
A success ends the spell and the level returns to normal.

Durations run on the monotonic clock the connection's pacing uses, so a
test compresses minutes of 429s on one fake clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from alphagate.adapters.broker.errors import RateLimitedError
from alphagate.engine.health import CheckStatus, DegradationLevel, HealthCheck

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimitThresholds:
    """When a spell of 429s cuts trading back; see the module docstring."""

    reduce_after: int = 3
    reduce_after_s: float = 60.0
    close_after_s: float = 300.0
    halt_after_s: float = 900.0


class RateLimitHealth:
    """One connection's spell of rate limits, and the level it implies.

    Parameters
    ----------
    thresholds
        When the level escalates.
    clock
        Monotonic seconds (the connection's pacing clock).
    venue
        The venue's name, for messages.
    """

    def __init__(
        self,
        thresholds: RateLimitThresholds | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        venue: str = "venue",
    ) -> None:
        self.thresholds = thresholds if thresholds is not None else RateLimitThresholds()
        self._clock, self._venue = clock, venue
        self._lock = threading.Lock()
        self._alert: Callable[[str], None] | None = None
        self.refusals = 0
        """429s in a row since the last success."""
        self.since: float | None = None
        """When the spell's first 429 came (monotonic s), or ``None`` outside a spell."""
        self.alerted = False
        self.alerts = 0

    def alert_to(self, alert: Callable[[str], None]) -> None:
        """Tell ``alert`` the reason once per spell, when it first degrades trading."""
        self._alert = alert

    def watch(self, call: Callable[[], T]) -> Callable[[], T]:
        """``call``, with its 429s and successes counted here (wrap each request with it)."""

        def watched() -> T:
            try:
                answer = call()
            except RateLimitedError as error:
                self.limited(error.retry_after)
                raise
            self.succeeded()
            return answer

        return watched

    def limited(self, retry_after: float | None = None) -> None:
        """A request was refused with 429 (and asked for ``retry_after`` s)."""
        with self._lock:
            self.refusals += 1
            if self.since is None:
                self.since = self._clock()
            level, reason = self._level_locked()
            alert = level > DegradationLevel.NORMAL and not self.alerted
            self.alerted = self.alerted or alert
        if alert:
            self.alerts += 1
            log.warning("rate limited: %s", reason)
            if self._alert is not None:
                self._alert(reason)

    def succeeded(self) -> None:
        """A request went through: the spell, if any, is over."""
        with self._lock:
            if self.since is not None:
                log.info(
                    "%s answers again after %d rate-limit refusals", self._venue, self.refusals
                )
            self.refusals, self.since, self.alerted = 0, None, False

    @property
    def level(self) -> DegradationLevel:
        """The level the current spell implies (``NORMAL`` outside one)."""
        with self._lock:
            return self._level_locked()[0]

    def check(self, now_ns: int) -> HealthCheck:
        """The health registry's view; durations use the monotonic clock, not ``now_ns``."""
        with self._lock:
            level, reason = self._level_locked()
        if level is DegradationLevel.NORMAL:
            return HealthCheck(CheckStatus.OK)
        status = CheckStatus.FAILED if level is DegradationLevel.HALTED else CheckStatus.DEGRADED
        return HealthCheck(status, level, reason)

    def _level_locked(self) -> tuple[DegradationLevel, str]:
        if self.since is None:
            return DegradationLevel.NORMAL, ""
        held = self._clock() - self.since
        limits = self.thresholds
        reason = (
            f"{self._venue} refused {self.refusals} requests in a row with 429 "
            f"over {held:.0f} s (Retry-After honoured)"
        )
        if held >= limits.halt_after_s:
            return DegradationLevel.HALTED, reason
        if held >= limits.close_after_s:
            return DegradationLevel.CLOSE_ONLY, reason
        if self.refusals >= limits.reduce_after or held >= limits.reduce_after_s:
            return DegradationLevel.REDUCE_ONLY, reason
        return DegradationLevel.NORMAL, reason
