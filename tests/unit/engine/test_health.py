"""The health registry: degradation levels, per-symbol staleness (BD-09) and their inputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from alphagate.engine.health import (
    CheckStatus,
    DegradationLevel,
    HealthCheck,
    HealthRegistry,
    OrderKind,
    breaker_check,
    drawdown_check,
    kill_switch_check,
    order_kind,
)
from alphagate.risk.breaker import BreakerAction, BreakerLevel, CorrelationBreaker
from alphagate.risk.events import Severity
from alphagate.risk.kill_switch import KillSwitch
from alphagate.risk.monitors import DrawdownMonitor

SECOND = 10**9
MINUTE = 60 * SECOND
T0 = pd.Timestamp("2024-03-01 14:30", tz="UTC").value

N, R, C, H = (
    DegradationLevel.NORMAL,
    DegradationLevel.REDUCE_ONLY,
    DegradationLevel.CLOSE_ONLY,
    DegradationLevel.HALTED,
)


def fixed(status: CheckStatus, level: DegradationLevel, detail: str = "") -> HealthCheck:
    return HealthCheck(status, level, detail)


# ----------------------------------------------------------------- levels and kinds

# The table of the issue written out by hand: what each level still lets through.
ALLOWED = {
    N: {"entry", "increase", "reduce", "close"},
    R: {"reduce", "close"},
    C: {"close"},
    H: set(),
}


@pytest.mark.parametrize("level", list(DegradationLevel))
@pytest.mark.parametrize("kind", list(OrderKind))
def test_each_level_allows_exactly_the_order_kinds_of_its_definition(
    level: DegradationLevel, kind: OrderKind
) -> None:
    assert level.allows(kind) is (kind.value in ALLOWED[level])


def test_levels_are_ordered_normal_reduce_only_close_only_halted() -> None:
    assert N < R < C < H
    assert max(R, H, N) is H
    assert [level.label for level in DegradationLevel] == [
        "normal",
        "reduce_only",
        "close_only",
        "halted",
    ]


@pytest.mark.parametrize(
    ("position", "delta", "kind"),
    [
        (0.0, 5.0, OrderKind.ENTRY),
        (0.0, -5.0, OrderKind.ENTRY),
        (10.0, 5.0, OrderKind.INCREASE),
        (-10.0, -5.0, OrderKind.INCREASE),
        (10.0, -4.0, OrderKind.REDUCE),
        (-10.0, 4.0, OrderKind.REDUCE),
        (10.0, -10.0, OrderKind.CLOSE),
        (-10.0, 10.0, OrderKind.CLOSE),
        (10.0, -15.0, OrderKind.ENTRY),  # a flip opens a new short of 5
    ],
)
def test_an_order_is_classified_by_what_it_does_to_the_position(
    position: float, delta: float, kind: OrderKind
) -> None:
    assert order_kind(position, delta) is kind


def test_an_ok_check_cannot_imply_a_degraded_level() -> None:
    with pytest.raises(ValueError, match="ok check"):
        HealthCheck(CheckStatus.OK, R)


# ----------------------------------------------------------------- the registry


def test_nothing_is_allowed_before_the_first_evaluation() -> None:
    registry = HealthRegistry()

    assert registry.level is H
    assert registry.last_report is None
    assert not DegradationLevel.HALTED.allows(OrderKind.CLOSE)
    assert not registry.allows("AAA", OrderKind.CLOSE)


def test_the_level_is_the_worst_any_component_implies_with_every_reason() -> None:
    registry = HealthRegistry()
    registry.register("feed", lambda now: fixed(CheckStatus.OK, N))
    registry.register("venue", lambda now: fixed(CheckStatus.DEGRADED, R, "slow acks"))
    registry.register("journal", lambda now: fixed(CheckStatus.FAILED, C, "disk full"))

    report = registry.evaluate(T0)

    assert report.level is C
    assert [f.component for f in report.findings] == ["venue", "journal"]  # ok ones left out
    assert report.reasons == ("journal: close_only: disk full", "venue: reduce_only: slow acks")
    assert registry.level is C


def test_a_check_that_raises_fails_at_its_components_declared_level() -> None:
    def broken(now: int) -> HealthCheck:
        raise ConnectionError("socket closed")

    registry = HealthRegistry()
    registry.register("feed", broken, failure_level=R)
    registry.register("other", broken)  # default: halted

    report = registry.evaluate(T0)

    assert [(f.component, f.status, f.level) for f in report.findings] == [
        ("feed", CheckStatus.FAILED, R),
        ("other", CheckStatus.FAILED, H),
    ]
    assert "ConnectionError: socket closed" in report.findings[0].detail
    assert report.level is H


def test_a_name_registers_once() -> None:
    registry = HealthRegistry()
    registry.register("feed", lambda now: fixed(CheckStatus.OK, N))
    with pytest.raises(ValueError, match="already registered"):
        registry.register("feed", lambda now: fixed(CheckStatus.OK, N))


def test_every_level_change_is_one_risk_event_and_an_unchanged_level_none() -> None:
    implied = {"level": N}

    def check(now: int) -> HealthCheck:
        level = implied["level"]
        status = CheckStatus.OK if level is N else CheckStatus.FAILED
        return fixed(status, level, "venue down" if level is not N else "")

    registry = HealthRegistry()
    registry.register("venue", check)

    assert registry.evaluate(T0).events == ()  # starting normal is no change
    implied["level"] = C
    changed = registry.evaluate(T0 + SECOND).events
    assert registry.evaluate(T0 + 2 * SECOND).events == ()
    implied["level"] = N
    back = registry.evaluate(T0 + 3 * SECOND).events

    assert len(changed) == 1
    event = changed[0]
    assert event.component == "health"
    assert event.severity is Severity.CRITICAL
    assert event.ts == pd.Timestamp(T0 + SECOND, tz="UTC")
    assert (event.data["from"], event.data["to"]) == ("normal", "close_only")
    assert "venue: close_only: venue down" in event.reason
    assert [(e.data["from"], e.data["to"], e.severity) for e in back] == [
        ("close_only", "normal", Severity.INFO)
    ]


def test_a_first_evaluation_that_is_not_normal_says_so_from_start() -> None:
    registry = HealthRegistry()
    registry.register("venue", lambda now: fixed(CheckStatus.DEGRADED, R, "slow"))

    (event,) = registry.evaluate(T0).events

    assert (event.data["from"], event.data["to"]) == ("start", "reduce_only")


def test_equal_inputs_give_equal_reports_and_events() -> None:
    def run() -> list[object]:
        registry = HealthRegistry()
        registry.register("venue", lambda now: fixed(CheckStatus.DEGRADED, R, f"at {now}"))
        registry.track("AAA", MINUTE, T0)
        return [registry.evaluate(T0 + k * MINUTE) for k in range(4)]

    assert run() == run()


# ----------------------------------------------------------------- staleness per symbol


def test_a_symbol_without_a_bar_for_twice_its_interval_takes_no_entries_but_may_exit() -> None:
    registry = HealthRegistry(stale_multiple=2.0)
    registry.track("AAA", MINUTE, T0)
    registry.track("BBB", MINUTE, T0)
    registry.on_bar("AAA", T0)
    registry.on_bar("BBB", T0)
    registry.on_bar("BBB", T0 + 2 * MINUTE)

    at_limit = registry.evaluate(T0 + 2 * MINUTE)
    assert at_limit.stale_symbols == ()  # exactly 2 intervals is not yet "more than"
    report = registry.evaluate(T0 + 2 * MINUTE + 1)

    assert report.stale_symbols == ("AAA",)
    assert report.level is N  # one quiet symbol does not degrade the book
    assert registry.entries_blocked("AAA")
    assert not registry.allows("AAA", OrderKind.INCREASE)
    assert registry.allows("AAA", OrderKind.REDUCE)
    assert registry.allows("AAA", OrderKind.CLOSE)
    assert not registry.entries_blocked("BBB")
    (event,) = report.events
    assert event.severity is Severity.WARNING
    assert event.data["symbol"] == "AAA" and event.data["stale"] is True
    assert "entries blocked" in event.reason


def test_a_new_bar_unblocks_the_symbol_and_says_so() -> None:
    registry = HealthRegistry()
    registry.track("AAA", MINUTE, T0)
    registry.evaluate(T0 + 3 * MINUTE)
    registry.on_bar("AAA", T0 + 3 * MINUTE)

    report = registry.evaluate(T0 + 3 * MINUTE + SECOND)

    assert not registry.entries_blocked("AAA")
    (event,) = report.events
    assert event.data["stale"] is False and event.severity is Severity.INFO


def test_a_symbol_that_never_delivers_a_bar_goes_stale_from_when_it_was_tracked() -> None:
    registry = HealthRegistry()
    registry.track("AAA", MINUTE, T0)

    assert registry.evaluate(T0 + MINUTE).stale_symbols == ()
    assert registry.evaluate(T0 + 3 * MINUTE).stale_symbols == ("AAA",)


def test_an_old_bar_arriving_late_does_not_move_the_last_bar_back() -> None:
    registry = HealthRegistry()
    registry.track("AAA", MINUTE, T0)
    registry.on_bar("AAA", T0 + 5 * MINUTE)
    registry.on_bar("AAA", T0 + MINUTE)

    assert registry.evaluate(T0 + 6 * MINUTE).stale_symbols == ()


def test_an_untracked_symbol_is_blocked_for_entries_fail_closed() -> None:
    registry = HealthRegistry()
    registry.evaluate(T0)

    assert registry.entries_blocked("ZZZ")
    assert registry.allows("ZZZ", OrderKind.CLOSE)
    with pytest.raises(ValueError, match="not tracked"):
        registry.on_bar("ZZZ", T0)


def test_the_global_level_overrides_a_fresh_symbol() -> None:
    registry = HealthRegistry()
    registry.track("AAA", MINUTE, T0)
    registry.register("journal", lambda now: fixed(CheckStatus.FAILED, C, "disk"))
    registry.evaluate(T0)

    assert registry.entries_blocked("AAA")
    assert not registry.allows("AAA", OrderKind.REDUCE)
    assert registry.allows("AAA", OrderKind.CLOSE)


def test_a_time_that_is_not_int_ns_is_refused() -> None:
    registry = HealthRegistry()
    with pytest.raises(ValueError, match="int64 ns"):
        registry.evaluate(pd.Timestamp(T0, tz="UTC"))  # type: ignore[arg-type]


# ----------------------------------------------------------------- kill switch, drawdown, breaker


def test_a_tripped_kill_switch_halts_and_a_reset_resumes(tmp_path: Path) -> None:
    state = tmp_path / "ks.json"
    registry = HealthRegistry()
    registry.register("kill_switch", kill_switch_check(state))
    assert registry.evaluate(T0).level is N

    # Another process (the CLI) trips it: the registry reads the file each cycle.
    KillSwitch(state).trip("feed lost", "alice", pd.Timestamp(T0, tz="UTC"))
    halted = registry.evaluate(T0 + SECOND)
    KillSwitch(state).reset("feed back", "alice", pd.Timestamp(T0 + 2 * SECOND, tz="UTC"))
    resumed = registry.evaluate(T0 + 3 * SECOND)

    assert halted.level is H
    assert "feed lost" in halted.reasons[0]
    assert resumed.level is N


def test_a_tripped_kill_switch_set_to_flatten_is_close_only(tmp_path: Path) -> None:
    state = tmp_path / "ks.json"
    KillSwitch(state).trip("drawdown", "engine", pd.Timestamp(T0, tz="UTC"))
    registry = HealthRegistry()
    registry.register("kill_switch", kill_switch_check(state, flatten=True))

    assert registry.evaluate(T0).level is C
    assert registry.allows("AAA", OrderKind.CLOSE)
    assert not registry.allows("AAA", OrderKind.REDUCE)


def test_the_trigger_file_is_latched_and_its_event_returned(tmp_path: Path) -> None:
    state, trigger = tmp_path / "ks.json", tmp_path / "STOP"
    registry = HealthRegistry()
    registry.register("kill_switch", kill_switch_check(state, trigger))
    trigger.touch()

    report = registry.evaluate(T0)
    trigger.unlink()

    assert report.level is H
    assert [e.component for e in report.events] == ["kill_switch", "health"]
    assert KillSwitch(state).is_tripped()  # deleting the file alone does not resume
    assert registry.evaluate(T0 + SECOND).level is H


def test_a_corrupt_kill_switch_state_fails_closed(tmp_path: Path) -> None:
    state = tmp_path / "ks.json"
    state.write_text("{not json", encoding="utf-8")
    registry = HealthRegistry()
    registry.register("kill_switch", kill_switch_check(state))

    report = registry.evaluate(T0)

    assert report.level is H
    assert "unreadable" in report.findings[0].detail


def test_drawdown_maps_reduce_to_reduce_only_and_halt_to_halted() -> None:
    monitor = DrawdownMonitor(reduce_at=0.10, halt_at=0.20)
    registry = HealthRegistry()
    registry.register("drawdown", drawdown_check(monitor))
    ts = pd.Timestamp(T0, tz="UTC")
    levels = []
    for equity in (100.0, 95.0, 89.0, 79.0, 100.0):  # 0 %, 5 %, 11 %, 21 %, latched
        monitor.update(ts, equity)
        levels.append(registry.evaluate(T0).level)

    assert levels == [N, N, R, H, H]


def correlated_rows(n: int) -> list[dict[str, float]]:
    moves = [0.01, -0.02, 0.015, -0.01, 0.02, -0.015, 0.005, -0.005]
    return [{"A": m, "B": m * 1.1, "C": m * 0.9} for m in moves[:n]]


def loosely_correlated_rows() -> list[dict[str, float]]:
    moves = [0.01, -0.02, 0.015, -0.01, 0.02]
    noise = [0.004, 0.006, -0.008, -0.005, 0.003]
    return [{"A": m, "B": m + e, "C": m - e} for m, e in zip(moves, noise, strict=True)]


def test_a_breaker_in_crisis_is_reduce_only_or_close_only_when_it_flattens() -> None:
    flattening = {
        BreakerLevel.NORMAL: BreakerAction(),
        BreakerLevel.ELEVATED: BreakerAction(scale=0.5),
        BreakerLevel.CRISIS: BreakerAction(scale=0.0, flatten=True),
    }
    default = CorrelationBreaker(0.0, 5, 0.3, 0.6)
    flatten = CorrelationBreaker(0.0, 5, 0.3, 0.6, flattening)
    registry = HealthRegistry()
    registry.register("breaker", breaker_check(default))
    other = HealthRegistry()
    other.register("breaker", breaker_check(flatten))
    assert registry.evaluate(T0).level is N

    for row in correlated_rows(6):
        default.update(row)
        flatten.update(row)

    assert default.level is BreakerLevel.CRISIS
    assert registry.evaluate(T0).level is R
    assert other.evaluate(T0).level is C


def test_an_elevated_breaker_only_scales_and_is_reported_without_degrading() -> None:
    breaker = CorrelationBreaker(0.0, 5, 0.3, 0.99)
    registry = HealthRegistry()
    registry.register("breaker", breaker_check(breaker))
    for row in loosely_correlated_rows():
        breaker.update(row)
    assert breaker.level is BreakerLevel.ELEVATED

    report = registry.evaluate(T0)

    assert report.level is N
    assert report.findings[0].status is CheckStatus.DEGRADED
    assert "scaled by 0.5" in report.findings[0].detail
