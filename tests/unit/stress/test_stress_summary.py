"""The stress summary's statistics (against the standard library) and the gate's thresholds."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import numpy as np
import pytest

from alphagate.config.stress import StressConfig
from alphagate.stress.runner import ScenarioOutcome
from alphagate.stress.summary import gate, summarise, summary_json, write_summary


def outcome(
    name: str,
    total_return: float,
    *,
    family: str = "bootstrap",
    sharpe: float | None = 0.5,
    max_drawdown: float = -0.1,
    catastrophic: bool = False,
    breaker_trips: int = 0,
    drawdown_halts: int = 0,
) -> ScenarioOutcome:
    return ScenarioOutcome(
        name=name,
        family=family,
        seed=1,
        total_return=total_return,
        sharpe=sharpe,
        max_drawdown=max_drawdown,
        trades=3,
        worst_loss=0.6 if catastrophic else 0.0,
        catastrophic=catastrophic,
        breaker_trips=breaker_trips,
        drawdown_halts=drawdown_halts,
    )


def random_outcomes(n: int = 57, seed: int = 11) -> list[ScenarioOutcome]:
    rng = np.random.default_rng(seed)
    families = ("bootstrap", "garch", "crash")
    return [
        outcome(
            f"s{i}",
            float(rng.normal(0.01, 0.05)),
            family=families[i % 3],
            sharpe=None if i == 7 else float(rng.normal(0.2, 1.0)),
            max_drawdown=-float(rng.uniform(0.0, 0.4)),
        )
        for i in range(n)
    ]


def test_statistics_match_the_standard_library() -> None:
    rows = random_outcomes()
    sharpes = [0.0 if o.sharpe is None else o.sharpe for o in rows]
    drawdowns = [-o.max_drawdown for o in rows]

    stats = summarise(rows, StressConfig(), candidate={})["statistics"]

    assert stats["scenarios"] == 57
    assert stats["share_profitable"] == pytest.approx(sum(o.total_return > 0 for o in rows) / 57)
    assert stats["median_sharpe"] == pytest.approx(statistics.median(sharpes))
    # "inclusive" quantiles interpolate as numpy's default percentile does.
    assert stats["sharpe_p5"] == pytest.approx(
        statistics.quantiles(sharpes, n=20, method="inclusive")[0]
    )
    assert stats["worst_drawdown"] == pytest.approx(max(drawdowns))
    assert stats["drawdown_p95"] == pytest.approx(
        statistics.quantiles(drawdowns, n=20, method="inclusive")[-1]
    )


def test_the_family_table_splits_the_scenarios_by_family() -> None:
    rows = random_outcomes()

    families = summarise(rows, StressConfig(), candidate={})["families"]

    assert sorted(families) == ["bootstrap", "crash", "garch"]
    assert sum(f["scenarios"] for f in families.values()) == len(rows)
    garch = [o.total_return for o in rows if o.family == "garch"]
    assert families["garch"]["median_return"] == pytest.approx(statistics.median(garch))


@pytest.mark.parametrize(
    ("profitable", "passed"), [(4, True), (3, False)]
)  # 4 of 10 is exactly the 40 % floor
def test_the_gate_needs_forty_percent_profitable(profitable: int, passed: bool) -> None:
    rows = [outcome(f"p{i}", 0.02) for i in range(profitable)]
    rows += [outcome(f"l{i}", -0.01) for i in range(10 - profitable)]

    verdict = summarise(rows, StressConfig(), candidate={})["gate"]

    assert verdict["passed"] is passed
    assert verdict["checks"][0]["value"] == pytest.approx(profitable / 10)


def test_the_gate_needs_the_median_sharpe_at_the_configured_minimum() -> None:
    rows = [outcome(f"s{i}", 0.02, sharpe=s) for i, s in enumerate([0.1, 0.3, 0.5])]

    assert gate(
        summarise(rows, StressConfig(), candidate={})["statistics"],
        StressConfig(min_median_sharpe=0.3),
    )["passed"]
    assert not gate(
        summarise(rows, StressConfig(), candidate={})["statistics"],
        StressConfig(min_median_sharpe=0.31),
    )["passed"]


def test_one_catastrophic_scenario_fails_the_gate_however_good_the_rest() -> None:
    rows = [outcome(f"g{i}", 0.1, sharpe=2.0) for i in range(99)]
    rows.append(outcome("crash-7", -0.7, family="crash", catastrophic=True))

    summary = summarise(rows, StressConfig(), candidate={})

    assert summary["statistics"]["catastrophic"] == ["crash-7"]
    assert not summary["gate"]["passed"]
    assert [c["name"] for c in summary["gate"]["checks"] if not c["passed"]] == ["catastrophic"]
    assert summarise(rows, StressConfig(max_catastrophic=1), candidate={})["gate"]["passed"]


def test_controls_report_where_they_fired_and_families_not_run() -> None:
    rows = [
        outcome("c1", 0.0, family="correlation_break", breaker_trips=2),
        outcome("c2", 0.0, family="correlation_break"),
        outcome("b1", 0.0, family="bootstrap", breaker_trips=1),  # not counted: wrong family
    ]

    controls = summarise(rows, StressConfig(), candidate={})["controls"]

    assert controls["correlation_breaker"]["scenarios"] == 2
    assert controls["correlation_breaker"]["share_fired"] == 0.5
    assert controls["drawdown_halt"] == {
        "scenarios": 0, "fired": 0, "share_fired": None, "families": []
    }  # fmt: skip


def test_no_outcomes_is_an_error_not_a_vacuous_pass() -> None:
    with pytest.raises(ValueError, match="no stress scenarios ran"):
        summarise([], StressConfig(), candidate={})


def test_the_files_are_sorted_json_and_a_page_with_the_distributions(tmp_path: Path) -> None:
    summary = summarise(
        random_outcomes(),
        StressConfig(),
        candidate={"strategy": "sma_cross"},
        monte_carlo={"p50": 0.1, "p95": 0.2},
    )

    json_path, html_path = write_summary(summary, tmp_path)

    text = json_path.read_text(encoding="utf-8")
    assert text == summary_json(json.loads(text))  # re-serialising changes nothing: keys sorted
    page = html_path.read_text(encoding="utf-8")
    assert "Stress gate" in page and "Trade-sequence Monte Carlo" in page
    assert page.count("histogram") >= 3
