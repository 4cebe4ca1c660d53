"""The engine's parts, wired once for every caller: ``paper``, ``live`` and the crash harness.

A session directory holds the engine's journal (``journal.db``) and the
paper venue's ledger (``venue.db``). The risk guard obeys an engine kill
switch kept in a scratch file that replay rebuilds; the operator's switch
(``risk.kill_switch_state``) reaches it only through journaled records
(:mod:`alphagate.live.operator_switch`). The health gate, which reads the
operator's switch and each symbol's bar times, is installed once the journal
is replayed, so that an order sent at start-up passes it like any other.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlencode

from alphagate.adapters.journal.mirrored import MirroredJournal
from alphagate.adapters.journal.open import open_journal
from alphagate.adapters.journal.sqlite import SqliteJournal
from alphagate.config import Settings
from alphagate.domain.instants import NS_PER_DAY
from alphagate.domain.strategy import Strategy
from alphagate.engine.health import (
    Check,
    CheckStatus,
    DegradationLevel,
    HealthCheck,
    HealthRegistry,
    kill_switch_check,
)
from alphagate.engine.kernel import Kernel, Sizing, Units
from alphagate.engine.market import MarketData
from alphagate.execution.commission import CommissionModel
from alphagate.execution.fill_models import FillModel
from alphagate.execution.portfolio import Portfolio
from alphagate.execution.venue import SimulatedVenue
from alphagate.live.driver import LiveDriver, PaperVenueLike
from alphagate.live.health_gate import HealthGate
from alphagate.live.operator_switch import OperatorSwitch
from alphagate.live.paper_venue import PaperVenue
from alphagate.risk.events import RiskEvent
from alphagate.risk.guard import RiskGuard, RiskSettings
from alphagate.risk.kill_switch import KillSwitch

JOURNAL: Final = "journal.db"
LEDGER: Final = "venue.db"


@dataclass(frozen=True)
class PaperParts:
    """How one paper account trades: its cash, fills, costs, sizing and risk limits."""

    cash: float
    fill_model: FillModel
    commission: CommissionModel
    units: Units = "whole"
    sizing: Sizing = "next_open"
    latency_bars: int = 0
    risk: RiskSettings | None = None
    baseline: float | None = None
    bar_interval_ns: int = NS_PER_DAY
    """The bar size: a symbol with no bar for ``health.stale_bar_multiple`` of it is stale."""


@contextmanager
def paper_engine(
    settings: Settings,
    strategy: Strategy,
    symbols: Sequence[str],
    parts: PaperParts,
    *,
    session: Path,
    events: Callable[[RiskEvent], None],
    venue: PaperVenueLike | None = None,
    checks: Mapping[str, Check] | None = None,
) -> Iterator[tuple[LiveDriver, Callable[[LiveDriver], None]]]:
    """A driver over the session's journal and ledger, and the hook that makes it go live.

    Yields the driver and the ``after_recovery`` hook for
    :func:`~alphagate.live.runner.run_live`; the journals are closed on exit.

    ``venue``: a broker instead of the paper venue (``alphagate live``); the
    same kernel, guard, journal, recovery and health gate trade through it,
    and it is shown every cycle so that what its stream reported is
    collected. ``checks``: more health checks by name (the live feed's
    silence).
    """
    session.mkdir(parents=True, exist_ok=True)
    risk = settings.risk
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="alphagate-kill-")))
        engine_switch = KillSwitch(scratch / "kill_switch.json")
        guard = None
        if parts.risk is not None:
            guard = RiskGuard.from_settings(
                parts.risk, engine_switch, events, baseline=parts.baseline
            )
        portfolio = Portfolio(parts.cash)
        kernel = Kernel(
            strategy, portfolio, MarketData.empty(symbols), commission=parts.commission,
            units=parts.units, sizing=parts.sizing, guard=guard,
        )  # fmt: skip
        journal = _engine_journal(settings, session / JOURNAL)
        stack.callback(journal.close)
        every_bar = venue is not None or parts.fill_model.history_bars > 0
        if venue is None:
            simulated = SimulatedVenue(
                parts.fill_model, parts.commission, parts.latency_bars,
                symbols=symbols, starting_cash=parts.cash,
            )  # fmt: skip
            venue = PaperVenue(simulated, stack.enter_context(SqliteJournal(session / LEDGER)))
        operator = OperatorSwitch(engine_switch, risk.kill_switch_state, risk.kill_switch_file)
        driver = LiveDriver(
            kernel, venue, journal,
            feed_every_bar=every_bar, operator=operator, on_risk=events,
        )  # fmt: skip
        registry = HealthRegistry(settings.health.stale_bar_multiple)
        registry.register(
            "kill_switch",
            kill_switch_check(
                risk.kill_switch_state, risk.kill_switch_file, flatten=risk.flatten_on_kill
            ),
        )
        for name, check in (checks or {}).items():
            registry.register(name, check)
        if isinstance(journal, MirroredJournal):
            level = DegradationLevel[settings.health.mirror_down_level.upper()]
            registry.register("journal_mirror", _mirror_check(journal, level))

        def go_live(d: LiveDriver) -> None:
            since = d.last_ts if d.last_ts is not None else 0
            for symbol in symbols:
                registry.track(symbol, parts.bar_interval_ns, since)
            for event in registry.evaluate(since).events:
                events(event)
            d.gate = HealthGate(registry, portfolio.quantity)

        yield driver, go_live


def _engine_journal(settings: Settings, path: Path) -> SqliteJournal | MirroredJournal:
    """The session's SQLite journal, mirrored to Redis if ``storage.journal_mirror_url`` is set."""
    mirror = settings.storage.journal_mirror_url
    if mirror is None:
        return SqliteJournal(path)
    journal = open_journal(f"sqlite:///{path.resolve()}?{urlencode({'mirror': mirror})}")
    assert isinstance(journal, MirroredJournal)
    return journal


def _mirror_check(journal: MirroredJournal, level: DegradationLevel) -> Check:
    """The mirror as a health check: down means ``level`` (RELIABILITY CR-12), with why."""

    def check(now_ns: int) -> HealthCheck:
        if not journal.degraded:
            return HealthCheck(CheckStatus.OK)
        status = CheckStatus.OK if level is DegradationLevel.NORMAL else CheckStatus.DEGRADED
        return HealthCheck(status, level, f"journal mirror down: {journal.degraded_reason}")

    return check
