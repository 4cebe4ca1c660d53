"""The health registry between the kernel and the venue: what a degraded engine may still send.

Each cycle the gate notes the bars that arrived and evaluates the registry
(:mod:`alphagate.engine.health`) at the cycle's time; each order the cycle
would send is classified against the position it changes (entry, increase,
reduce, close) and refused when the level, or its symbol's staleness,
forbids that kind (RELIABILITY BD-09, SE-09: a stale symbol or a tripped
switch stops new entries, exits still go out). A refused order never reaches
the venue: it ends ``REJECTED`` with the reason, journaled like a venue's
answer, so a restart replays the refusal instead of sending the order.
Cancels always pass: cancelling is how an engine reduces risk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from alphagate.domain.bar import Bar
from alphagate.domain.orders import OrderRequest
from alphagate.engine.health import HealthRegistry, order_kind
from alphagate.risk.events import RiskEvent


class HealthGate:
    """Consults ``registry`` for every order; ``held(symbol)`` is the position an order changes."""

    def __init__(self, registry: HealthRegistry, held: Callable[[str], float]) -> None:
        self.registry, self._held = registry, held

    def begin(self, ts: int, bars: Sequence[Bar]) -> tuple[RiskEvent, ...]:
        """Note the cycle's bars and evaluate at ``ts``; return the level and staleness changes."""
        for bar in bars:
            self.registry.on_bar(bar.symbol, bar.ts)
        return self.registry.evaluate(ts).events

    def refusal(self, request: OrderRequest) -> str | None:
        """Why ``request`` may not go out now, or ``None`` when it may."""
        delta = request.quantity * request.side.sign
        kind = order_kind(self._held(request.symbol), delta)
        if self.registry.allows(request.symbol, kind):
            return None
        report = self.registry.last_report
        why = "; ".join(report.reasons) if report is not None and report.reasons else ""
        stale = report is not None and request.symbol in report.stale_symbols
        cause = f"no fresh bar of {request.symbol}" if stale else why or "not evaluated yet"
        return f"health: {self.registry.level.label}: a {kind.value} is not allowed ({cause})"
