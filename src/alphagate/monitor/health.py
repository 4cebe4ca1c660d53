"""``/health``: is the engine trading, and if not, which component stops it.

The answer is read-only and holds no secret and no position (RELIABILITY
SE-06): each component's status and a sentence, the degradation level, the
correlation breaker's level. It is ``halted`` (HTTP 503) when the degradation
level is ``halted`` or any component has failed, and names the failing ones,
so a load balancer or ``make health`` sees at once that the engine is down
and an operator sees why.

The feed is judged by the wall clock at the moment of the request, not at
the last cycle: a feed that stops sends no cycle that could report it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OK, DEGRADED, FAILED = "ok", "degraded", "failed"


@dataclass(frozen=True)
class HealthAnswer:
    """What ``/health`` returns; :attr:`http_status` is 503 when halted."""

    status: str
    degradation: str
    breaker: str
    components: Mapping[str, Mapping[str, str]]

    @property
    def failing(self) -> list[str]:
        """The components that failed, by name."""
        return sorted(n for n, c in self.components.items() if c["status"] == FAILED)

    @property
    def http_status(self) -> int:
        """200 while the engine may trade, 503 when halted."""
        return 503 if self.status == "halted" else 200

    def to_json(self) -> dict[str, Any]:
        """The response body."""
        return {
            "status": self.status,
            "degradation": self.degradation,
            "breaker": self.breaker,
            "failing": self.failing,
            "components": {n: dict(c) for n, c in sorted(self.components.items())},
        }


def feed_component(
    last_cycle_wall: float | None, stopped_by: str | None, now: float, timeout: float
) -> dict[str, str]:
    """The feed as a component: failed when it ended, never delivered, or is ``timeout`` late."""
    if stopped_by is not None:
        return {"status": FAILED, "detail": f"the engine stopped ({stopped_by})"}
    if last_cycle_wall is None:
        return {"status": FAILED, "detail": "no bar received yet"}
    age = now - last_cycle_wall
    if age > timeout:
        return {"status": FAILED, "detail": f"no bar for {age:.0f}s (timeout {timeout:g}s)"}
    return {"status": OK, "detail": f"last bar {age:.1f}s ago"}


def answer(
    components: Mapping[str, Mapping[str, str]], degradation: str, breaker: str
) -> HealthAnswer:
    """Fold the components and the level into one answer."""
    statuses = {c["status"] for c in components.values()}
    if degradation in ("halted", "starting") or FAILED in statuses:
        status = "halted"
    elif degradation != "normal" or DEGRADED in statuses:
        status = "degraded"
    else:
        status = "ok"
    return HealthAnswer(status, degradation, breaker, components)
