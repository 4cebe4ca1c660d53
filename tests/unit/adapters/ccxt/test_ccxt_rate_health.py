"""BF-04 end to end: ten minutes of 429s from the local Binance server degrade trading.

The server's rate-limit windows and the adapter's pacing share one fake
clock, so ten minutes of refusals take a second. The server stamps every
request on that clock, which is how "no two requests closer than the
Retry-After" and "the 418 ban is never reached" are measured at the venue,
not taken from the client's word. The level comes from the live engine's
own health registry, with the venue's check registered as ``app/live.py``
registers it.
"""

from __future__ import annotations

from itertools import pairwise

from ccxt_helpers import FakeClock, paced_by, state_for

from alphagate.adapters.broker.errors import RateLimitedError
from alphagate.engine.health import DegradationLevel, HealthRegistry
from servers.binance_server import Fault

RETRY_AFTER = 1


def test_bf04_ten_minutes_of_429s_escalate_the_level_with_one_alert_and_no_ban(connect) -> None:
    clock = FakeClock()
    stamps: list[float] = []

    def server_clock() -> float:  # the server reads its clock once per request
        stamps.append(clock.now)
        return clock.now

    state = state_for("normal", clock=server_clock, ban_after=2)
    _, opened = connect(state, pacing=paced_by(clock))
    venue = opened.venue
    alerts: list[str] = []
    venue.rate_limits.alert_to(alerts.append)
    registry = HealthRegistry()
    registry.register("venue_rate_limits", venue.rate_limits.check)
    registry.evaluate(0)
    assert registry.level is DegradationLevel.NORMAL

    start = clock.now
    state.faults.append(Fault("*", "429", until=start + 600.0, retry_after=RETRY_AFTER))
    first_request = len(stamps)
    levels: list[DegradationLevel] = []
    while clock.now - start < 700.0:
        try:
            venue.account()
            break
        except RateLimitedError:
            registry.evaluate(0)
            levels.append(registry.level)
            clock.sleep(1.0)  # the engine's next cycle
    registry.evaluate(0)

    # the venue's view: no request inside a wait, so never a violation, never the 418 ban
    assert not state.banned and state.violations == 0
    during = stamps[first_request:]
    refused = [t for t in during if t < start + 600.0]  # the fault answered these with 429
    gaps = [b - a for a, b in pairwise(during[: len(refused) + 1])]  # each 429 to the next ask
    assert min(gaps) >= RETRY_AFTER, "two requests closer than the Retry-After"
    assert len(during) < 40, "a tight loop: more than one request per 15 s of 429s"
    assert len(set(gaps)) > len(gaps) // 2, "waits are jittered, not a fixed period"
    assert clock.now - start >= 600.0  # it got through once the venue let it

    # the engine's view: the level escalated through the spell, and one alert was given
    assert levels == sorted(levels), "the level only rises within one spell"
    assert DegradationLevel.REDUCE_ONLY in levels
    assert levels[-1] >= DegradationLevel.CLOSE_ONLY
    assert len(alerts) == 1 and "429" in alerts[0]
    assert registry.level is DegradationLevel.NORMAL  # the success ended the spell
