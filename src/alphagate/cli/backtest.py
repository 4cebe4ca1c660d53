"""``alphagate backtest``: a built-in, a user's or a trained model's strategy over bars.

The backtest composition (event engine, Plotly for the report) and the model
path are imported by this command alone: no other command runs them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

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
from alphagate.cli.train import RunsDirOption, _number

if TYPE_CHECKING:
    from alphagate.app import model_backtest


@base.cli.command("backtest")
def backtest(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option(help="Folder for metrics, equity, trades, report.")],
    strategy: Annotated[
        str,
        typer.Option(
            help="A built-in (buy_and_hold, sma_cross, rsi_mean_reversion, bollinger_breakout); "
            "your own class as package.module:ClassName or path/to/file.py:ClassName "
            "(see docs/strategies.md); or model (a training run through the decision path; "
            "needs --run)."
        ),
    ] = "sma_cross",
    params: Annotated[
        str | None, typer.Option(help="Strategy parameters, e.g. fast=10,slow=30.")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Bars file (CSV/Parquet) instead of the store.")
    ] = None,
    symbol: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    calendar: CalendarOption = None,
    start: StartOption = None,
    end: EndOption = None,
    fill_model: Annotated[
        Literal["next_open", "close", "conservative"] | None,
        typer.Option(
            help="How orders fill: next bar's open, its close, or adverse costs "
            "[default: execution.fill_model; next_open, conservative for model]."
        ),
    ] = None,
    commission_bps: Annotated[
        float | None,
        typer.Option(
            help="Commission, bps of notional [default: execution.commission_bps; 0, 1 for model]."
        ),
    ] = None,
    cash: Annotated[
        float | None, typer.Option(help="Starting cash [default: execution.cash, 10000].")
    ] = None,
    units: Annotated[
        Literal["whole", "fractional"] | None,
        typer.Option(
            help="Round quantities to whole units? "
            "[default: execution.units; whole, fractional for model]."
        ),
    ] = None,
    engine: Annotated[
        Literal["event", "vector"],
        typer.Option(help="event: the engine live trading runs; vector: one symbol, fast."),
    ] = "event",
    run: Annotated[
        str | None,
        typer.Option(
            "--run", help="Run id (from `alphagate train` or `pipeline run`), for --strategy model."
        ),
    ] = None,
    runs_dir: RunsDirOption = Path("runs"),
    predictor: Annotated[
        Literal["batch", "online"],
        typer.Option(
            help="With --strategy model: predictions made in one batch, or online, bar by bar, "
            "as paper and live trading compute them (equal to 1e-12)."
        ),
    ] = "batch",
    ablate: Annotated[
        bool,
        typer.Option(help="With --strategy model: rerun with each decision step switched off."),
    ] = False,
    overrides: SetOption = None,
) -> None:
    """Backtest a built-in or your own strategy, or a trained model; write outputs, report.html."""
    settings = base.settings_of(ctx, overrides)
    began = time.perf_counter()
    if strategy != "model" and (run is not None or ablate or predictor != "batch"):
        raise typer.BadParameter("--run, --ablate and --predictor go with --strategy model")
    if strategy == "model" and run is None:
        raise typer.BadParameter("--strategy model needs --run RUN_ID (see `alphagate train`)")
    if strategy == "model" and engine != "event":
        raise typer.BadParameter("--strategy model runs on the event engine only")
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
    say_gaps(loaded)
    bars, settings = loaded.bars, loaded.settings
    if run is not None:
        from alphagate.app import model_backtest

        model_request = model_backtest.ModelBacktestRequest(
            run_id=run,
            runs_dir=runs_dir,
            cash=cash,
            commission_bps=commission_bps,
            fill_model=fill_model,
            units=units,
            ablate=ablate,
            predictor=predictor,
        )
        outcome = model_backtest.run_model_backtest(
            settings, bars, model_request, output, settings.data.calendar
        )
        _print_model_backtest(outcome, output)
        base.print_plain(f"done in {time.perf_counter() - began:.1f}s")
        return
    from alphagate.app import backtest as backtesting_app

    request = backtesting_app.BacktestRequest(
        strategy=strategy,
        params=backtesting_app.parse_params(params),
        fill_model=fill_model,
        commission_bps=commission_bps,
        cash=cash,
        units=units,
        engine=engine,
    )
    result = backtesting_app.run_backtest_request(
        bars, request, output, settings.data.calendar, settings
    )
    metrics = result.metrics.to_json_dict()
    table = Table(title=f"{strategy}: {len(bars):,} bars -> {output}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name in ("total_return", "cagr", "sharpe", "max_drawdown", "win_rate", "trades"):
        value = metrics[name]
        table.add_row(name, "—" if value is None else f"{value:,.4g}")
    base.console.print(table)
    base.print_plain(f"done in {time.perf_counter() - began:.1f}s")


def say_gaps(loaded: research.LoadedBars) -> None:
    """The gaps a backtest goes on over, counted, with the first few."""
    if not loaded.gap_count:
        return
    base.print_plain(
        f"gaps: {loaded.gap_count:,} stretch(es) of missing bars inside sessions; "
        f"{research.GAP_POLICY}"
    )
    for violation in loaded.gaps[:3]:
        base.print_plain(f"  {violation}")
    if loaded.gap_count > 3:
        base.print_plain(f"  ... and {loaded.gap_count - 3:,} more")


def _print_model_backtest(outcome: model_backtest.ModelBacktestResult, output: Path) -> None:
    """Metrics of the out-of-sample run, the training cuts, and the ablation table if any."""
    metrics = outcome.result.metrics.to_json_dict()
    table = Table(title=f"model, out of sample -> {output}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for h, cut in sorted(outcome.cuts.items()):
        table.add_row(f"h{h} holdout from", f"{cut:%Y-%m-%d}")
    for name in ("total_return", "cagr", "sharpe", "max_drawdown", "turnover", "trades"):
        value = metrics[name]
        table.add_row(name, "—" if value is None else f"{value:,.4g}")
    table.add_row("decisions", f"{len(outcome.decisions):,}")
    table.add_row("risk events", f"{len(outcome.risk_events):,}")
    base.console.print(table)
    if outcome.ablation is None:
        return
    ablation = Table(title="ablation: each decision step switched off in turn")
    for column in ("step off", "sharpe", "max drawdown", "turnover", "trades", "seconds"):
        ablation.add_column(column, justify="left" if column == "step off" else "right")
    for row in outcome.ablation.itertuples(index=False):
        ablation.add_row(
            str(row.step_off),
            _number(row.sharpe),
            _number(row.max_drawdown),
            _number(row.turnover),
            str(row.trades),
            f"{row.seconds:.1f}",
        )
    base.console.print(ablation)
