"""The metrics registry: private per engine, gate states read at scrape, staleness exported."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from alphagate.engine.staleness import Freshness, StalenessCheck, StalenessReport
from alphagate.monitor.metrics import EngineMetrics


def _samples(metrics: EngineMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_each_engine_has_its_own_registry_and_none_is_global() -> None:
    one, two = EngineMetrics(), EngineMetrics()
    one.equity.set(5.0)
    two.equity.set(7.0)
    assert _samples(one)[("alphagate_equity", ())] == 5.0
    assert _samples(two)[("alphagate_equity", ())] == 7.0
    assert REGISTRY.get_sample_value("alphagate_equity") is None


def test_candidate_states_are_read_at_every_scrape() -> None:
    metrics = EngineMetrics()
    states = {"c1": "paper"}
    metrics.watch_candidates(lambda: dict(states))
    assert (
        _samples(metrics)[("alphagate_candidate_state", (("candidate", "c1"), ("state", "paper")))]
        == 1
    )
    states["c1"] = "live"
    found = _samples(metrics)
    assert ("alphagate_candidate_state", (("candidate", "c1"), ("state", "paper"))) not in found
    assert found[("alphagate_candidate_state", (("candidate", "c1"), ("state", "live")))] == 1


def test_staleness_checks_without_a_value_are_left_out() -> None:
    metrics = EngineMetrics()
    report = StalenessReport(
        now_ns=0,
        checks=(
            StalenessCheck("age_days", 12.0, Freshness.WARN, "12 days"),
            StalenessCheck("ic", None, Freshness.FRESH, "too few resolved"),
        ),
        psi={},
        n_resolved=0,
        confidence=0.5,
        retrain=False,
    )
    metrics.observe_staleness("p_up_h5", report, calibration=None)
    found = _samples(metrics)
    model = ("model", "p_up_h5")
    assert found[("alphagate_model_staleness_value", (("check", "age_days"), model))] == 12.0
    assert ("alphagate_model_staleness_value", (("check", "ic"), model)) not in found
    assert found[("alphagate_model_confidence_multiplier", (model,))] == 0.5
    assert found[("alphagate_model_retrain", (model,))] == 0.0
    assert ("alphagate_calibration_error", (model,)) not in found  # unknown, not zero
