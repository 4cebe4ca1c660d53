"""The stress summary and gate: what ~200 unseen markets say about a candidate.

The summary is built from the scenario outcomes alone, in their library
order, so the same seed gives the same ``stress_summary.json`` bytes however
many workers ran them: keys are sorted, floats are written as Python writes
them, and nothing in it depends on the clock (timings go to the console).

Conventions, chosen so a scenario can never pass by not trading:

- a scenario is **profitable** when its total return is above zero;
- a run with no Sharpe ratio (flat equity: no trades) counts as Sharpe 0;
- drawdowns are reported as positive fractions of the peak (``0.25`` is a
  fall of a quarter); the 95th percentile is the drawdown only one scenario
  in twenty exceeds.

**The gate** (defaults from the product brief, all in the ``stress``
settings): at least ``min_profitable`` of the scenarios profitable, a median
Sharpe of at least ``min_median_sharpe``, and at most ``max_catastrophic``
catastrophic scenarios (none by default).

**Risk controls.** The summary says whether they fired where they should: the
correlation breaker in correlation-break scenarios, the drawdown monitor's
halt in crash scenarios (families are recognised by name: one containing
``correlation``, one containing ``crash`` or ``crisis``). A family that is
not in the library is reported as not run, never as passed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from alphagate.atomic import write_text_atomically
from alphagate.config.stress import StressConfig
from alphagate.html_report import Column, Page, note, table
from alphagate.stress.runner import ScenarioOutcome

SUMMARY_FILE = "stress_summary.json"
REPORT_FILE = "stress_report.html"

CONTROLS = (
    ("correlation_breaker", ("correlation",), "breaker_trips"),
    ("drawdown_halt", ("crash", "crisis"), "drawdown_halts"),
)
"""Each risk control, the family names (substrings) it must fire in, and the outcome's count."""


def sharpe_of(outcome: ScenarioOutcome) -> float:
    """The scenario's Sharpe ratio, 0 when it had none (flat equity)."""
    return 0.0 if outcome.sharpe is None else outcome.sharpe


def drawdown_of(outcome: ScenarioOutcome) -> float:
    """The scenario's maximum drawdown as a positive fraction (0 when equity never fell)."""
    value = -outcome.max_drawdown
    return 0.0 if not np.isfinite(value) else max(0.0, float(value))


def _statistics(outcomes: Sequence[ScenarioOutcome]) -> dict[str, Any]:
    sharpes = np.array([sharpe_of(o) for o in outcomes], dtype=np.float64)
    drawdowns = np.array([drawdown_of(o) for o in outcomes], dtype=np.float64)
    returns = np.array([o.total_return for o in outcomes], dtype=np.float64)
    return {
        "scenarios": len(outcomes),
        "profitable": int(np.sum(returns > 0)),
        "share_profitable": float(np.mean(returns > 0)),
        "median_return": float(np.median(returns)),
        "median_sharpe": float(np.median(sharpes)),
        "sharpe_p5": float(np.percentile(sharpes, 5)),
        "worst_drawdown": float(np.max(drawdowns)),
        "drawdown_p95": float(np.percentile(drawdowns, 95)),
        "catastrophic": sorted(o.name for o in outcomes if o.catastrophic),
        "trades": int(sum(o.trades for o in outcomes)),
    }


def _family_table(outcomes: Sequence[ScenarioOutcome]) -> dict[str, dict[str, Any]]:
    families: dict[str, list[ScenarioOutcome]] = {}
    for outcome in outcomes:
        families.setdefault(outcome.family, []).append(outcome)
    table: dict[str, dict[str, Any]] = {}
    for family, members in sorted(families.items()):
        stats = _statistics(members)
        stats["catastrophic"] = len(stats["catastrophic"])
        stats["breaker_trips"] = sum(m.breaker_trips for m in members)
        stats["drawdown_halts"] = sum(m.drawdown_halts for m in members)
        table[family] = stats
    return table


def _controls(outcomes: Sequence[ScenarioOutcome]) -> dict[str, dict[str, Any]]:
    report: dict[str, dict[str, Any]] = {}
    for control, names, count in CONTROLS:
        where = [o for o in outcomes if any(n in o.family.lower() for n in names)]
        fired = sum(1 for o in where if getattr(o, count) > 0)
        report[control] = {
            "scenarios": len(where),
            "fired": fired,
            "share_fired": float(fired / len(where)) if where else None,
            "families": sorted({o.family for o in where}),
        }
    return report


def gate(statistics: Mapping[str, Any], settings: StressConfig) -> dict[str, Any]:
    """The stress gate's verdict: each check with its value, threshold and result, and the whole."""
    checks = [
        {
            "name": "share_profitable",
            "value": statistics["share_profitable"],
            "threshold": settings.min_profitable,
            "passed": statistics["share_profitable"] >= settings.min_profitable,
        },
        {
            "name": "median_sharpe",
            "value": statistics["median_sharpe"],
            "threshold": settings.min_median_sharpe,
            "passed": statistics["median_sharpe"] >= settings.min_median_sharpe,
        },
        {
            "name": "catastrophic",
            "value": len(statistics["catastrophic"]),
            "threshold": settings.max_catastrophic,
            "passed": len(statistics["catastrophic"]) <= settings.max_catastrophic,
        },
    ]
    return {"passed": all(c["passed"] for c in checks), "checks": checks}


def summarise(
    outcomes: Iterable[ScenarioOutcome],
    settings: StressConfig,
    *,
    candidate: Mapping[str, Any],
    monte_carlo: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The whole summary as a JSON-ready mapping (see the module docstring).

    ``candidate`` names what was stressed (run id or strategy and params, seed,
    families); ``monte_carlo`` is the drawdown distribution of the
    candidate's own trades reshuffled, shown beside the scenarios.

    Raises
    ------
    ValueError
        When there are no outcomes: a gate over nothing would pass vacuously.
    """
    rows = list(outcomes)
    if not rows:
        raise ValueError("no stress scenarios ran; check --scenarios and --families")
    statistics = _statistics(rows)
    return {
        "candidate": dict(candidate),
        "statistics": statistics,
        "families": _family_table(rows),
        "controls": _controls(rows),
        "monte_carlo_drawdown": None if monte_carlo is None else dict(monte_carlo),
        "gate": gate(statistics, settings),
        "settings": settings.model_dump(mode="json"),
        "scenarios": [_outcome_row(o) for o in rows],
    }


def _outcome_row(outcome: ScenarioOutcome) -> dict[str, Any]:
    return {
        "name": outcome.name,
        "family": outcome.family,
        "seed": outcome.seed,
        "total_return": outcome.total_return,
        "sharpe": outcome.sharpe,
        "max_drawdown": drawdown_of(outcome),
        "trades": outcome.trades,
        "worst_loss": outcome.worst_loss,
        "catastrophic": outcome.catastrophic,
        "breaker_trips": outcome.breaker_trips,
        "drawdown_halts": outcome.drawdown_halts,
    }


def summary_json(summary: Mapping[str, Any]) -> str:
    """The summary's exact text: sorted keys, no NaN, one trailing newline."""
    return json.dumps(summary, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_summary(summary: Mapping[str, Any], output: Path) -> tuple[Path, Path]:
    """Write ``stress_summary.json`` and ``stress_report.html`` into ``output``; return both."""
    json_path = write_text_atomically(output / SUMMARY_FILE, summary_json(summary))
    html_path = stress_page(summary).write(output / REPORT_FILE)
    return json_path, html_path


def _percent(value: object) -> str:
    return "—" if value is None else f"{float(value):.1%}"  # type: ignore[arg-type]


def _number(value: object) -> str:
    return "—" if value is None else f"{float(value):.3g}"  # type: ignore[arg-type]


def _histogram(values: Sequence[float], name: str) -> dict[str, Any]:
    return {
        "data": [{"type": "histogram", "x": list(values), "name": name, "nbinsx": 40}],
        "layout": {"xaxis": {"title": name}, "yaxis": {"title": "scenarios"}, "bargap": 0.05},
    }


def stress_page(summary: Mapping[str, Any]) -> Page:
    """The HTML page: the verdict, the distributions, the family table and the controls."""
    stats, verdict = summary["statistics"], summary["gate"]
    candidate = ", ".join(f"{k}={v}" for k, v in sorted(summary["candidate"].items()))
    page = Page("Stress test", subtitle=candidate)
    word = "PASSED" if verdict["passed"] else "FAILED"
    checks = table(
        [
            Column("check", text=True),
            Column("value"),
            Column("threshold"),
            Column("result", text=True),
        ],
        [
            [
                c["name"],
                _number(c["value"]),
                _number(c["threshold"]),
                "pass" if c["passed"] else "FAIL",
            ]
            for c in verdict["checks"]
        ],
    )
    page.add_section("gate", f"Stress gate: {word}", checks)
    overview = table(
        [Column("statistic", text=True, row_header=True), Column("value")],
        [
            ["scenarios", str(stats["scenarios"])],
            ["share profitable", _percent(stats["share_profitable"])],
            ["median Sharpe", _number(stats["median_sharpe"])],
            ["5th-percentile Sharpe", _number(stats["sharpe_p5"])],
            ["worst drawdown", _percent(stats["worst_drawdown"])],
            ["95th-percentile drawdown", _percent(stats["drawdown_p95"])],
            ["catastrophic scenarios", str(len(stats["catastrophic"]))],
        ],
        header=False,
    )
    listed = (
        note("catastrophic: " + ", ".join(stats["catastrophic"])) if stats["catastrophic"] else ""
    )
    page.add_section("overview", "Across scenarios", overview, listed)
    rows = summary["scenarios"]
    page.add_section(
        "distributions",
        "Distributions",
        page.chart(_histogram([r["total_return"] for r in rows], "total return"), "returns", 320),
        page.chart(
            _histogram([0.0 if r["sharpe"] is None else r["sharpe"] for r in rows], "Sharpe"),
            "sharpes",
            320,
        ),
        page.chart(_histogram([r["max_drawdown"] for r in rows], "max drawdown"), "drawdowns", 320),
    )
    families = table(
        [
            Column("family", text=True),
            Column("scenarios"),
            Column("profitable"),
            Column("median Sharpe"),
            Column("worst drawdown"),
            Column("catastrophic"),
            Column("breaker trips"),
            Column("drawdown halts"),
        ],
        [
            [
                name,
                str(f["scenarios"]),
                _percent(f["share_profitable"]),
                _number(f["median_sharpe"]),
                _percent(f["worst_drawdown"]),
                str(f["catastrophic"]),
                str(f["breaker_trips"]),
                str(f["drawdown_halts"]),
            ]
            for name, f in summary["families"].items()
        ],
    )
    page.add_section("families", "By family", families)
    controls = table(
        [Column("control", text=True), Column("scenarios where it should fire"), Column("fired")],
        [
            [
                name,
                str(c["scenarios"]),
                "not run" if c["share_fired"] is None else _percent(c["share_fired"]),
            ]
            for name, c in summary["controls"].items()
        ],
    )
    page.add_section("controls", "Risk controls", controls)
    mc = summary["monte_carlo_drawdown"]
    if mc:
        body = table(
            [Column("percentile", text=True, row_header=True), Column("max drawdown")],
            [[k, _percent(v)] for k, v in sorted(mc.items())],
        )
        page.add_section(
            "monte-carlo",
            "Trade-sequence Monte Carlo",
            note("The candidate's own trades, reshuffled: the drawdowns luck alone could bring."),
            body,
        )
    return page
