"""The engine's Prometheus metrics: one registry per engine, filled after every cycle.

Each engine owns a :class:`~prometheus_client.CollectorRegistry` of its own,
never the library's global one: a test that starts two engines in one process
must see two sets of numbers, and nothing a library registers globally (its
process and GC collectors) mixes into what an operator's dashboards read.

Every name starts with ``alphagate_``. Values are set from what the engine
already knows after a cycle (the kernel's books, the fills folded in, the
health registry, the operator's switch, the venue's account), so exporting them
never changes a decision. Labels are symbols, order statuses, components and
candidate ids only: no account id, key or URL ever becomes a label (SE-01).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from alphagate.domain.orders import OrderStatus
from alphagate.engine.staleness import StalenessReport

PREFIX: Final = "alphagate"
LATENCY_BUCKETS: Final = (60.0, 600.0, 3600.0, 4 * 3600.0, 86_400.0, 3 * 86_400.0, 7 * 86_400.0)
"""Decision-to-fill latency in market time: a minute to a week (daily bars fill a day later)."""
CYCLE_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
SLIPPAGE_BUCKETS: Final = (-50.0, -20.0, -10.0, -5.0, -1.0, 0.0, 1.0, 5.0, 10.0, 20.0, 50.0)

CandidateStates = Callable[[], Mapping[str, str]]
"""Each candidate's current gate state, read at scrape time (from the trading database)."""


class EngineMetrics:
    """The metrics of one paper or live engine; :meth:`exposition` is what ``/metrics`` serves."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry

        def gauge(name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
            return Gauge(f"{PREFIX}_{name}", doc, labelnames=labels, registry=r)

        self.equity = gauge("equity", "Account equity: cash plus positions at the last closes.")
        self.cash = gauge("cash", "Cash held.")
        self.pnl_total = gauge("pnl_total", "Equity minus the starting cash.")
        self.pnl_day = gauge("pnl_day", "Equity minus the equity at the UTC day's first bar.")
        self.drawdown = gauge("drawdown_ratio", "Fall of equity from its peak, as a fraction.")
        self.position = gauge("position_quantity", "Signed quantity held.", ["symbol"])
        self.position_value = gauge(
            "position_value", "Signed market value at the last close.", ["symbol"]
        )
        self.exposure_gross = gauge("exposure_gross_ratio", "Sum of |position value| / equity.")
        self.exposure_net = gauge("exposure_net_ratio", "Sum of position value / equity.")
        self.orders = gauge("orders", "Orders by current status.", ["status"])
        self.open_orders = gauge("open_orders", "Orders still working at the venue.")
        self.fills = Counter(f"{PREFIX}_fills", "Fills folded in.", ["side"], registry=r)
        self.fill_rate = gauge("fill_rate_ratio", "Filled orders / orders that ended.")
        self.slippage = Histogram(
            f"{PREFIX}_slippage_bps",
            "Fill price against the decision bar's close, in bps; positive is adverse.",
            buckets=SLIPPAGE_BUCKETS,
            registry=r,
        )
        self.slippage_mean = gauge(
            "slippage_bps_mean",
            "Mean slippage of every fill so far, in bps (the histogram has negative buckets, "
            "so Prometheus' client exports no _sum for it).",
        )
        self.latency = Histogram(
            f"{PREFIX}_decision_to_fill_seconds",
            "Market time from the decision bar's close to the fill.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.cycle = Histogram(
            f"{PREFIX}_cycle_seconds",
            "Wall time of one driver cycle, from the feed's step to the cycle's end.",
            buckets=CYCLE_BUCKETS,
            registry=r,
        )
        self.cycles = gauge("cycles", "Bar closes the engine has run (replayed ones included).")
        self.last_bar = gauge("last_bar_timestamp_seconds", "Close of the last bar, Unix time.")
        self.last_cycle = gauge("last_cycle_timestamp_seconds", "Wall clock of the last cycle.")
        self.degradation = gauge(
            "degradation_level", "0 normal, 1 reduce_only, 2 close_only, 3 halted."
        )
        self.kill_switch = gauge("kill_switch_tripped", "1 while the engine's kill switch holds.")
        self.breaker = gauge(
            "breaker_level", "Correlation breaker: 0 normal, 1 elevated, 2 crisis."
        )
        self.component = gauge(
            "health_component_ok", "1 while a health component is ok.", ["component"]
        )
        self.reconciliation = gauge(
            "reconciliation_difference",
            "Venue quantity minus the engine's, per symbol (0 when they agree).",
            ["symbol"],
        )
        self.reconciliation_count = gauge(
            "reconciliation_differences", "Symbols whose venue and engine quantities differ."
        )
        self.journal_seq = gauge("journal_seq", "Sequence number of the journal's last record.")
        self.journal_lag = gauge(
            "journal_lag_records", "Journal records after the latest snapshot (replayed on start)."
        )
        self.decisions = Counter(
            f"{PREFIX}_decisions",
            "Decisions of the decision path by action and the step that blocked them.",
            ["action", "blocked_by"],
            registry=r,
        )
        self.staleness = gauge(
            "model_staleness_value",
            "A model staleness check's value (age_days, psi, ic, accuracy), per model column.",
            ["model", "check"],
        )
        self.model_confidence = gauge(
            "model_confidence_multiplier",
            "Staleness' multiplier on the model's confidence (1 fresh, lower when stale).",
            ["model"],
        )
        self.model_retrain = gauge(
            "model_retrain", "1 while a check of the model is stale: retrain it.", ["model"]
        )
        self.calibration_error = gauge(
            "calibration_error",
            "Expected calibration error of the model's latest resolved predictions.",
            ["model"],
        )
        for status in OrderStatus:
            self.orders.labels(status.value).set(0)

    def watch_candidates(self, read: CandidateStates) -> None:
        """Export each candidate's gate state, read from ``read`` at every scrape."""
        self.registry.register(_CandidateCollector(read))

    def observe_staleness(
        self, model: str, report: StalenessReport, calibration: float | None = None
    ) -> None:
        """Export one model column's staleness report and calibration error.

        Checks without a value (too few rows or resolved predictions) are left
        out, not zeroed: a zero would read as a perfect model.
        """
        for check in report.checks:
            if check.value is not None:
                self.staleness.labels(model, check.name).set(check.value)
        self.model_confidence.labels(model).set(report.confidence)
        self.model_retrain.labels(model).set(1.0 if report.retrain else 0.0)
        if calibration is not None:
            self.calibration_error.labels(model).set(calibration)

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class _CandidateCollector(Collector):
    """``alphagate_candidate_state{candidate, state}``: 1 for each candidate's current state."""

    def __init__(self, read: CandidateStates) -> None:
        self._read = read

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for candidate, state in sorted(self._read().items()):
            family.add_metric([candidate, state], 1.0)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            f"{PREFIX}_candidate_state",
            "1 for a candidate's current gate state (from candidate_transitions).",
            labels=["candidate", "state"],
        )
