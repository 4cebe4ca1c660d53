"""Health and degradation: what trading may still do when parts of it are unwell.

A live engine should not be either fully on or fully off. When the data of
one symbol goes quiet, only that symbol's entries stop; when drawdown is
deep, positions may shrink but not grow; when the kill switch trips, nothing
trades. :class:`HealthRegistry` collects those inputs and answers one
question per cycle: which :class:`DegradationLevel` holds now, and why.

Rules
-----
- **The worst input wins.** The level is the highest any input implies;
  inputs are named checks registered by components (a feed, the venue, the
  journal), plus ready-made checks over the kill switch
  (:func:`kill_switch_check`), the drawdown monitor
  (:func:`drawdown_check`) and the correlation breaker
  (:func:`breaker_check`).
- **A check that raises is a failure**, at the level its component declared
  when it registered (``HALTED`` unless said otherwise): a broken health
  check must not read as a healthy component.
- **Stale data is per symbol** (RELIABILITY BD-09): a symbol with no bar for
  ``stale_multiple`` times its interval takes no entries and no increases,
  while exits and stops still work; other symbols trade on. A symbol never
  tracked counts as stale (fail closed).
- **Nothing is allowed before the first evaluation**: until
  :meth:`HealthRegistry.evaluate` has run, the level reads ``HALTED``.
- **No clock, no printing.** The caller passes ``now_ns`` (int64 ns UTC, see
  :mod:`alphagate.domain.instants`), and every change of the level or of a
  symbol's staleness comes back as a :class:`~alphagate.risk.events.RiskEvent`
  for the caller to journal, so a replay produces the same events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from pathlib import Path

import pandas as pd

from alphagate.domain.instants import check_ns
from alphagate.risk.breaker import CorrelationBreaker
from alphagate.risk.events import RiskEvent, Severity
from alphagate.risk.kill_switch import KillSwitch
from alphagate.risk.monitors import DrawdownMonitor, DrawdownState

COMPONENT = "health"


class OrderKind(StrEnum):
    """What an order does to its symbol's position; the levels allow some kinds only."""

    ENTRY = "entry"
    """Opens a position from flat, or flips it through zero (new risk either way)."""
    INCREASE = "increase"
    """Adds to a position in its own direction."""
    REDUCE = "reduce"
    """Shrinks a position without closing it."""
    CLOSE = "close"
    """Takes a position exactly to zero."""


def order_kind(position: float, delta: float) -> OrderKind:
    """Classify an order of signed quantity ``delta`` against the signed ``position``.

    A flip (selling more than a long holds) counts as an entry: the part past
    zero is a new position, and a level that forbids entries must stop it.
    """
    if delta == 0:
        raise ValueError("an order of quantity 0 does nothing to classify")
    if position == 0:
        return OrderKind.ENTRY
    if (position > 0) == (delta > 0):
        return OrderKind.INCREASE
    after = position + delta
    if after == 0:
        return OrderKind.CLOSE
    if (after > 0) == (position > 0):
        return OrderKind.REDUCE
    return OrderKind.ENTRY


class DegradationLevel(IntEnum):
    """How far trading is cut back, ordered so that ``max`` picks the more severe level."""

    NORMAL = 0
    """Everything is allowed."""
    REDUCE_ONLY = 1
    """Positions may shrink or close, never open or grow."""
    CLOSE_ONLY = 2
    """Positions may only be closed outright (a flatten)."""
    HALTED = 3
    """Nothing is sent; open orders are the caller's to cancel."""

    def allows(self, kind: OrderKind) -> bool:
        """Whether an order of ``kind`` may be sent at this level."""
        return kind in _ALLOWED[self]

    @property
    def label(self) -> str:
        """The lower-case name used in events and output (``reduce_only``)."""
        return self.name.lower()


_ALLOWED: dict[DegradationLevel, frozenset[OrderKind]] = {
    DegradationLevel.NORMAL: frozenset(OrderKind),
    DegradationLevel.REDUCE_ONLY: frozenset({OrderKind.REDUCE, OrderKind.CLOSE}),
    DegradationLevel.CLOSE_ONLY: frozenset({OrderKind.CLOSE}),
    DegradationLevel.HALTED: frozenset(),
}
_STALE_ALLOWED = frozenset({OrderKind.REDUCE, OrderKind.CLOSE})
_SEVERITY = {
    DegradationLevel.NORMAL: Severity.INFO,
    DegradationLevel.REDUCE_ONLY: Severity.WARNING,
    DegradationLevel.CLOSE_ONLY: Severity.CRITICAL,
    DegradationLevel.HALTED: Severity.CRITICAL,
}


class CheckStatus(StrEnum):
    """A component's own view of itself."""

    OK = "ok"
    DEGRADED = "degraded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """One answer of a component's check.

    Parameters
    ----------
    status
        ``ok``, ``degraded`` or ``failed``.
    level
        The degradation level this answer implies; ``ok`` must imply ``NORMAL``
        (a healthy component cannot cut trading back).
    detail
        A sentence an operator can act on.
    events
        Events the check itself produced (a kill switch latching its trigger
        file), handed to the caller with the evaluation's own.
    """

    status: CheckStatus
    level: DegradationLevel = DegradationLevel.NORMAL
    detail: str = ""
    events: tuple[RiskEvent, ...] = ()

    def __post_init__(self) -> None:
        if self.status is CheckStatus.OK and self.level is not DegradationLevel.NORMAL:
            raise ValueError(f"an ok check cannot imply {self.level.label}")


Check = Callable[[int], HealthCheck]
"""A component's check: called with ``now_ns``, returns its :class:`HealthCheck`."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One input that is not fully healthy, as it stands in a :class:`HealthReport`."""

    component: str
    status: CheckStatus
    level: DegradationLevel
    detail: str


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The outcome of one evaluation.

    ``findings`` lists every input that is not ``ok`` in registration order;
    ``stale_symbols`` those whose entries are blocked for want of data;
    ``events`` the changes since the previous evaluation, for the journal.
    """

    now_ns: int
    level: DegradationLevel
    findings: tuple[Finding, ...]
    stale_symbols: tuple[str, ...]
    events: tuple[RiskEvent, ...] = field(default=())

    @property
    def reasons(self) -> tuple[str, ...]:
        """One line per finding, worst first: ``"kill_switch: halted: tripped by ..."``."""
        ordered = sorted(self.findings, key=lambda f: -f.level)
        return tuple(f"{f.component}: {f.level.label}: {f.detail}" for f in ordered)


@dataclass(slots=True)
class _Component:
    check: Check
    failure_level: DegradationLevel


@dataclass(slots=True)
class _Feed:
    interval_ns: int
    last_ns: int
    seen: bool = False


class HealthRegistry:
    """Named checks and per-symbol bar times, evaluated into one level per cycle.

    Parameters
    ----------
    stale_multiple
        A symbol is stale after this many intervals without a bar (``health.
        stale_bar_multiple``, 2 by RELIABILITY BD-09).
    """

    def __init__(self, stale_multiple: float = 2.0) -> None:
        if not stale_multiple > 1.0:
            raise ValueError(f"stale_multiple must exceed 1, got {stale_multiple}")
        self.stale_multiple = stale_multiple
        self._components: dict[str, _Component] = {}
        self._feeds: dict[str, _Feed] = {}
        self._last: HealthReport | None = None
        self._stale: frozenset[str] = frozenset()

    # ---------------------------------------------------------------- inputs

    def register(
        self,
        name: str,
        check: Check,
        *,
        failure_level: DegradationLevel = DegradationLevel.HALTED,
    ) -> None:
        """Add a component's check; ``failure_level`` applies when the check raises.

        Raises
        ------
        ValueError
            When ``name`` is blank or already registered (two components
            answering under one name would hide one of them).
        """
        if not name.strip():
            raise ValueError("a health component needs a non-empty name")
        if name in self._components:
            raise ValueError(f"health component {name!r} is already registered")
        self._components[name] = _Component(check, failure_level)

    def track(self, symbol: str, interval_ns: int, since_ns: int) -> None:
        """Expect a bar of ``symbol`` every ``interval_ns``, counting from ``since_ns``.

        ``since_ns`` is when the caller started expecting bars (start-up):
        a symbol that never delivers one goes stale like one that stopped.
        """
        interval = check_ns(interval_ns, "interval_ns")
        if interval <= 0:
            raise ValueError(f"interval_ns must be positive, got {interval}")
        self._feeds[symbol] = _Feed(interval, check_ns(since_ns, "since_ns"))

    def on_bar(self, symbol: str, ts_ns: int) -> None:
        """Note a bar of ``symbol`` at ``ts_ns``; an older bar than the newest seen is ignored."""
        feed = self._feeds.get(symbol)
        if feed is None:
            raise ValueError(f"symbol {symbol!r} is not tracked; call track() for it first")
        ts = check_ns(ts_ns, "ts_ns")
        if not feed.seen or ts > feed.last_ns:
            feed.last_ns = ts
        feed.seen = True

    # ---------------------------------------------------------------- evaluation

    def evaluate(self, now_ns: int) -> HealthReport:
        """Run every check at ``now_ns`` and return the level, findings and changes."""
        now = check_ns(now_ns, "now_ns")
        findings: list[Finding] = []
        events: list[RiskEvent] = []
        level = DegradationLevel.NORMAL
        for name, component in self._components.items():
            result = self._run(component, now)
            events.extend(result.events)
            if result.status is not CheckStatus.OK:
                findings.append(Finding(name, result.status, result.level, result.detail))
            level = max(level, result.level)
        stale = frozenset(
            symbol
            for symbol, feed in self._feeds.items()
            if now - feed.last_ns > self.stale_multiple * feed.interval_ns
        )
        stamp = pd.Timestamp(now, tz="UTC")
        events.extend(self._staleness_events(stamp, stale))
        report = HealthReport(now, level, tuple(findings), tuple(sorted(stale)))
        previous = None if self._last is None else self._last.level
        if level != (DegradationLevel.NORMAL if previous is None else previous):
            events.append(_level_event(stamp, previous, report))
        self._stale = stale
        self._last = replace(report, events=tuple(events))
        return self._last

    @staticmethod
    def _run(component: _Component, now: int) -> HealthCheck:
        try:
            return component.check(now)
        except Exception as error:  # any failure of a check is a finding, whatever it raised
            return HealthCheck(
                CheckStatus.FAILED,
                component.failure_level,
                f"check raised {type(error).__name__}: {error}",
            )

    def _staleness_events(self, stamp: pd.Timestamp, stale: frozenset[str]) -> list[RiskEvent]:
        events = []
        for symbol in sorted(stale ^ self._stale):
            feed = self._feeds[symbol]
            went_stale = symbol in stale
            last = pd.Timestamp(feed.last_ns, tz="UTC") if feed.seen else None
            since = f"last bar {last.isoformat()}" if last is not None else "no bar yet"
            events.append(
                RiskEvent(
                    ts=stamp,
                    component=COMPONENT,
                    severity=Severity.WARNING if went_stale else Severity.INFO,
                    reason=(
                        f"{symbol} data stale ({since}); entries blocked, exits still allowed"
                        if went_stale
                        else f"{symbol} data fresh again ({since}); entries allowed"
                    ),
                    data={
                        "symbol": symbol,
                        "stale": went_stale,
                        "last_bar_ns": feed.last_ns if feed.seen else None,
                        "interval_ns": feed.interval_ns,
                    },
                )
            )
        return events

    # ---------------------------------------------------------------- questions

    @property
    def level(self) -> DegradationLevel:
        """The level of the last evaluation; ``HALTED`` before the first one."""
        return DegradationLevel.HALTED if self._last is None else self._last.level

    @property
    def last_report(self) -> HealthReport | None:
        """The last evaluation, ``None`` before the first."""
        return self._last

    def entries_blocked(self, symbol: str) -> bool:
        """Whether ``symbol`` may take no new entry now (level, staleness, or untracked)."""
        return not self.allows(symbol, OrderKind.ENTRY)

    def allows(self, symbol: str, kind: OrderKind) -> bool:
        """Whether an order of ``kind`` for ``symbol`` may go out, as of the last evaluation."""
        if not self.level.allows(kind):
            return False
        if symbol not in self._feeds or symbol in self._stale:
            return kind in _STALE_ALLOWED
        return True


def _level_event(
    stamp: pd.Timestamp, previous: DegradationLevel | None, report: HealthReport
) -> RiskEvent:
    old = "start" if previous is None else previous.label
    why = "; ".join(report.reasons) or "every check ok"
    return RiskEvent(
        ts=stamp,
        component=COMPONENT,
        severity=_SEVERITY[report.level],
        reason=f"degradation {old} -> {report.level.label}: {why}",
        data={"from": old, "to": report.level.label, "reasons": list(report.reasons)},
    )


# -------------------------------------------------------------------- ready-made checks


def kill_switch_check(
    state_file: Path, trigger_file: Path | None = None, *, flatten: bool = False
) -> Check:
    """The kill switch as a check: tripped is ``HALTED``, or ``CLOSE_ONLY`` when flattening.

    The state is read from ``state_file`` on every call rather than kept in
    memory, so a trip made by another process (``alphagate kill-switch
    trip``) halts a running engine within one cycle; a present trigger file
    is latched into the state (``KillSwitch.poll``) and its event returned.
    An unreadable state raises, which the registry counts as a failure at
    the component's failure level (``HALTED`` by default: fail closed).
    """
    tripped_level = DegradationLevel.CLOSE_ONLY if flatten else DegradationLevel.HALTED

    def check(now_ns: int) -> HealthCheck:
        switch = KillSwitch(state_file, trigger_file)
        latched = switch.poll(pd.Timestamp(now_ns, tz="UTC"))
        events = () if latched is None else (latched,)
        if not switch.is_tripped():
            return HealthCheck(CheckStatus.OK, events=events)
        action = "flatten, then close only" if flatten else "nothing trades"
        return HealthCheck(
            CheckStatus.FAILED,
            tripped_level,
            f"kill switch tripped ({switch.reason}); {action} until an operator resets it",
            events,
        )

    return check


_DRAWDOWN_LEVEL = {
    DrawdownState.NORMAL: DegradationLevel.NORMAL,
    DrawdownState.REDUCE: DegradationLevel.REDUCE_ONLY,
    DrawdownState.HALT: DegradationLevel.HALTED,
}


def drawdown_check(monitor: DrawdownMonitor) -> Check:
    """The drawdown monitor's state as a check: REDUCE is ``REDUCE_ONLY``, HALT ``HALTED``.

    The caller keeps feeding the monitor equity; the check only reads it, so
    its events stay the monitor's own.
    """

    def check(now_ns: int) -> HealthCheck:
        state = monitor.state
        if state is DrawdownState.NORMAL:
            return HealthCheck(CheckStatus.OK)
        return HealthCheck(
            CheckStatus.DEGRADED if state is DrawdownState.REDUCE else CheckStatus.FAILED,
            _DRAWDOWN_LEVEL[state],
            f"drawdown {monitor.drawdown:.2%} (reduce at {monitor.reduce_at:.2%}, "
            f"halt at {monitor.halt_at:.2%})",
        )

    return check


def breaker_check(breaker: CorrelationBreaker) -> Check:
    """The correlation breaker as a check: flatten is ``CLOSE_ONLY``, reduce-only ``REDUCE_ONLY``.

    A level that only scales new risk down stays ``NORMAL`` here: sizing is
    the breaker's own business, and the finding still tells the operator.
    """

    def check(now_ns: int) -> HealthCheck:
        level = breaker.level
        action = breaker.actions[level]
        if action.flatten:
            implied = DegradationLevel.CLOSE_ONLY
        elif action.reduce_only:
            implied = DegradationLevel.REDUCE_ONLY
        else:
            implied = DegradationLevel.NORMAL
        if implied is DegradationLevel.NORMAL and action.scale == 1.0:
            return HealthCheck(CheckStatus.OK)
        return HealthCheck(
            CheckStatus.DEGRADED,
            implied,
            f"correlation breaker {level.name.lower()}: new risk scaled by {action.scale:g}",
        )

    return check
