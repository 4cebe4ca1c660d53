"""``alphagate sweep``: a rule strategy over a parameter grid, on the vectorised path.

The sweep and Rich's progress bar are imported by this command alone.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from alphagate.app import research
from alphagate.cli import root as base
from alphagate.cli.root import (
    CalendarOption,
    EndOption,
    SetOption,
    StartOption,
    SymbolsOption,
    TimeframeOption,
)


@base.cli.command("sweep")
def sweep(
    ctx: typer.Context,
    grid: Annotated[
        str,
        typer.Option(
            help="Axes to sweep: name=start:stop:step (stop included) or name=a|b|c, "
            "comma-separated, e.g. fast=5:50:5,slow=20:200:10."
        ),
    ],
    output: Annotated[Path, typer.Option(help="Folder for sweep.csv, sweep.json, sweep.html.")],
    strategy: Annotated[
        str,
        typer.Option(
            help="A built-in with a target signal (sma_cross, rsi_mean_reversion, "
            "bollinger_breakout) or your own class declaring a 'target' indicator."
        ),
    ] = "sma_cross",
    params: Annotated[
        str | None, typer.Option(help="Parameters held fixed, e.g. weight=0.5.")
    ] = None,
    metric: Annotated[
        str,
        typer.Option(
            help="What the heat map shows and the best point maximises: sharpe, total_return, "
            "max_drawdown (negative: the shallowest is the highest), trades, final_equity."
        ),
    ] = "sharpe",
    workers: Annotated[
        int | None, typer.Option(help="Worker processes [default: one per CPU].")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Bars file (CSV/Parquet) instead of the store.")
    ] = None,
    symbol: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    calendar: CalendarOption = None,
    start: StartOption = None,
    end: EndOption = None,
    overrides: SetOption = None,
) -> None:
    """Score every point of a parameter grid and draw the heat map (one symbol, vectorised)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from alphagate.app import backtest as backtesting_app
    from alphagate.app import sweep as sweeping
    from alphagate.backtest.sweep import grid_points, parse_grid

    settings = base.settings_of(ctx, overrides)
    began = time.perf_counter()
    axes = parse_grid(grid)
    fixed = backtesting_app.parse_params(params)
    loaded = research.load_input(
        settings,
        path=data,
        symbols=symbol or (),
        timeframe=timeframe,
        calendar=calendar,
        start=start,
        end=end,
        tolerate_gaps=True,
        say=base.print_plain,
    )
    settings = backtesting_app.effective_settings(
        loaded.settings, backtesting_app.RULE_EXECUTION, {}
    )
    request = sweeping.SweepRequest(strategy, axes, fixed, metric, workers)
    total = len(grid_points(axes))
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=base.console,
        transient=True,
    ) as progress:
        task = progress.add_task("points", total=total)
        outcome = sweeping.run_sweep(
            settings, loaded.bars, request, output, lambda _i, _s: progress.advance(task)
        )
    table = Table(title=f"{strategy}: {total:,} points -> {output}")
    table.add_column("best by " + metric)
    table.add_column("value", justify="right")
    for key, value in (outcome.best or {}).items():
        table.add_row(str(key), f"{value:,.4g}" if isinstance(value, float) else str(value))
    base.console.print(table)
    if outcome.failures:
        base.print_plain(
            f"{outcome.failures:,} point(s) refused by the strategy: see sweep.json / sweep.html"
        )
    base.print_plain(f"done in {time.perf_counter() - began:.1f}s")
