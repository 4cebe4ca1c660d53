"""``RateLimitHealth``: the thresholds of BF-04's degradation, one spell at a time."""

from __future__ import annotations

import pytest

from alphagate.adapters.broker.errors import RateLimitedError
from alphagate.adapters.broker.rate_health import RateLimitHealth, RateLimitThresholds
from alphagate.engine.health import CheckStatus, DegradationLevel


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def refused() -> None:
    raise RateLimitedError("429", venue="test", retry_after=1.0)


def test_levels_follow_the_thresholds_and_a_success_ends_the_spell() -> None:
    clock = Clock()
    limits = RateLimitThresholds(reduce_after=3, reduce_after_s=60, close_after_s=300,
                                 halt_after_s=900)  # fmt: skip
    health = RateLimitHealth(limits, clock=clock, venue="test")
    alerts: list[str] = []
    health.alert_to(alerts.append)
    watched = health.watch(refused)
    seen = []
    for at in (0.0, 1.0, 2.0, 299.0, 300.0, 899.0, 900.0):
        clock.now = at
        with pytest.raises(RateLimitedError):
            watched()
        seen.append(health.check(0).level)
    level = DegradationLevel
    normal, reduce, close, halt = level.NORMAL, level.REDUCE_ONLY, level.CLOSE_ONLY, level.HALTED
    assert seen == [normal, normal, reduce, reduce, close, close, halt]
    assert health.check(0).status is CheckStatus.FAILED
    assert len(alerts) == 1

    assert health.watch(lambda: 7)() == 7
    assert health.check(0).status is CheckStatus.OK and health.refusals == 0

    clock.now = 2000.0  # a new spell: alerted again, once
    for _ in range(4):
        with pytest.raises(RateLimitedError):
            watched()
    assert len(alerts) == 2


def test_a_long_wait_degrades_even_with_few_refusals() -> None:
    clock = Clock()
    health = RateLimitHealth(clock=clock)
    health.limited(1.0)
    clock.now = 61.0  # one backed-off retry a minute later, refused again
    health.limited(120.0)
    assert health.level is DegradationLevel.REDUCE_ONLY
