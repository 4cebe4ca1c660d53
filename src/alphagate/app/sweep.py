"""``alphagate sweep``: a parameter grid over a rule strategy, fanned out, with a heat-map page.

The bars are sent to each worker once (``parallel.map``'s ``shared``), not
once per point. Points run where ``parallel.backend`` says (processes here by
default, Ray when configured) and come back in grid order, so the table is
the same bytes with one worker or many. A point the strategy refuses keeps
its row with the error; the sweep fails only when every point did.

Outputs in the output folder: ``sweep.csv`` (a row per point),
``sweep.json`` (the grid, the best point by the chosen metric, the
failures) and ``sweep.html`` (a heat map of the metric over the first two
axes, the best value over any further axes, and the top points).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from alphagate import parallel
from alphagate.atomic import write_text_atomically
from alphagate.backtest.sweep import (
    METRICS,
    Axis,
    PointScore,
    SweepInput,
    grid_points,
    score_point,
    score_table,
)
from alphagate.config import Settings
from alphagate.domain.bars import symbols_of
from alphagate.errors import ConfigError
from alphagate.html_report.numbers import format_number
from alphagate.html_report.page import Page, note
from alphagate.html_report.tables import Column, frame_table
from alphagate.metrics.annualisation import periods_per_year


@dataclass(frozen=True)
class SweepRequest:
    """What to sweep: the strategy, its grid, fixed parameters, the metric, the workers."""

    strategy: str
    axes: list[Axis]
    fixed: dict[str, str]
    metric: str = "sharpe"
    workers: int | None = None


@dataclass(frozen=True)
class SweepOutcome:
    """The table, the best row (``None`` when every point failed) and where it was written."""

    table: pd.DataFrame
    best: dict[str, Any] | None
    failures: int
    output: Path


def run_sweep(
    settings: Settings,
    bars: pd.DataFrame,
    request: SweepRequest,
    output: Path,
    on_point: Callable[[int, PointScore], None] | None = None,
) -> SweepOutcome:
    """Score every grid point and write the outputs; see the module docstring.

    Raises
    ------
    ConfigError
        For an unknown metric, bars of more or fewer than one symbol, or a
        grid whose every point failed (the first error is quoted).
    """
    if request.metric not in METRICS:
        raise ConfigError(f"--metric must be one of {', '.join(METRICS)}, got {request.metric!r}")
    symbols = symbols_of(bars)
    if len(symbols) != 1:
        raise ConfigError(
            f"a sweep runs on one symbol (the vectorised path), got {len(symbols)}: pick one "
            "with --symbol"
        )
    execution = settings.execution
    stamps = pd.DatetimeIndex(bars.index.get_level_values("ts"))
    shared = SweepInput(
        bars=bars,
        strategy=request.strategy,
        cash=execution.cash,
        commission_bps=execution.commission_bps or 0.0,
        units="fractional" if execution.units == "fractional" else "whole",
        periods_per_year=periods_per_year(stamps, settings.data.calendar),
        fixed=dict(request.fixed),
    )
    points = grid_points(request.axes)
    scores = parallel.map(
        score_point,
        points,
        shared=shared,
        workers=request.workers,
        backend=settings.parallel.backend,
        ray_address=settings.parallel.ray_address,
        on_result=on_point,
    )
    table = score_table(scores)
    failed = [s for s in scores if s.error is not None]
    if len(failed) == len(scores):
        raise ConfigError(f"every point of the grid failed; the first: {failed[0].error}")
    best = _best(table, request.metric)
    output.mkdir(parents=True, exist_ok=True)
    write_text_atomically(output / "sweep.csv", table.to_csv(index=False))
    summary = {
        "strategy": request.strategy,
        "symbol": symbols[0],
        "grid": {axis.name: list(axis.values) for axis in request.axes},
        "fixed": request.fixed,
        "metric": request.metric,
        "points": len(scores),
        "failures": [{"params": s.params, "error": s.error} for s in failed],
        "best": best,
    }
    write_text_atomically(output / "sweep.json", json.dumps(summary, indent=2, default=float))
    _page(table, request, symbols[0], best).write(output / "sweep.html")
    return SweepOutcome(table, best, len(failed), output)


def _best(table: pd.DataFrame, metric: str) -> dict[str, Any] | None:
    scored = table[table["error"] == ""].dropna(subset=[metric])
    if scored.empty:
        return None
    values = scored[metric].to_numpy(float)
    position = int(values.argmax())
    return {str(k): v for k, v in scored.iloc[position].drop(labels="error").items()}


def heat_grid(table: pd.DataFrame, axes: list[Axis], metric: str) -> pd.DataFrame:
    """The metric over the first two axes (rows: the second, columns: the first).

    Further axes are folded by their best (highest) value at each pair, so
    the map shows what the first two parameters can reach. Every metric is
    better higher: drawdowns are negative shares, so the least deep is the
    highest.
    """
    x, y = axes[0].name, axes[1].name
    ok = table[table["error"] == ""]
    grid = ok.groupby([y, x])[metric].max().unstack(x)
    return grid.reindex(index=list(axes[1].values), columns=list(axes[0].values))


def _page(
    table: pd.DataFrame, request: SweepRequest, symbol: str, best: dict[str, Any] | None
) -> Page:
    metric = request.metric
    page = Page(
        f"Sweep: {request.strategy} on {symbol}",
        subtitle=f"{len(table)} points over {', '.join(a.name for a in request.axes)}; "
        f"colour: {metric}",
    )
    axes = request.axes
    if len(axes) >= 2:
        grid = heat_grid(table, axes, metric)
        z = [[None if math.isnan(v) else v for v in row] for row in grid.to_numpy(float).tolist()]
        figure = {
            "data": [
                {
                    "type": "heatmap",
                    "x": [str(v) for v in grid.columns],
                    "y": [str(v) for v in grid.index],
                    "z": z,
                    "colorscale": "RdYlGn",
                    "colorbar": {"title": {"text": metric}},
                }
            ],
            "layout": {
                "xaxis": {"title": {"text": axes[0].name}},
                "yaxis": {"title": {"text": axes[1].name}},
            },
        }
        folded = " (best over the other axes)" if len(axes) > 2 else ""
        page.add_section("heatmap", f"{metric} by {axes[0].name} and {axes[1].name}{folded}",
                         page.chart(figure, "sweep-heatmap", 560))  # fmt: skip
    else:
        ok = table[table["error"] == ""]
        figure = {
            "data": [
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "x": ok[axes[0].name].tolist(),
                    "y": ok[metric].tolist(),
                }
            ],
            "layout": {
                "xaxis": {"title": {"text": axes[0].name}},
                "yaxis": {"title": {"text": metric}},
            },
        }
        page.add_section(
            "curve", f"{metric} by {axes[0].name}", page.chart(figure, "sweep-curve", 420)
        )
    ranked = table[table["error"] == ""].sort_values(metric, ascending=False)
    columns = [Column(a.name, key=a.name, format=format_number) for a in axes]
    columns += [Column(m, key=m, format=format_number) for m in METRICS]
    page.add_section(
        "top",
        "Top points",
        note("The best is a fit to these bars: judge it out of sample before trusting it."),
        frame_table(ranked.head(20), columns, css_class="top-points"),
    )
    failed = table[table["error"] != ""]
    if not failed.empty:
        page.add_section(
            "failures",
            f"Points the strategy refused ({len(failed)})",
            frame_table(
                failed.head(50),
                [
                    *(Column(a.name, key=a.name, format=format_number) for a in axes),
                    Column("error", key="error", text=True),
                ],
                css_class="failures",
            ),
        )
    if best is not None:
        page.add_section("best", "Best point", note(json.dumps(best, default=float)))
    return page
