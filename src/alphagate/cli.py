"""The ``alphagate`` command line: parse, call one ``app`` function, print.

Errors a user can fix (bad input, bad config) print one clear message and
exit 1; they never show a traceback. ``data validate`` exits 0 when the file
is clean and 1 when it broke any rule, so scripts can gate on it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeElapsedColumn
from rich.table import Table

from alphagate import __version__, app, backtesting_app, research, training_review, training_run
from alphagate.config import Settings, config_hash, masked_dump, to_yaml
from alphagate.domain.quality_report import DataValidationError, QualityReport
from alphagate.errors import AlphagateError

# Piped output is read by scripts and people scrolling logs: give tables room
# instead of Rich's 80-column fallback, which wraps every timestamp.
console = Console(width=None if sys.stdout.isatty() else 140)
error_console = Console(stderr=True)

cli = typer.Typer(
    name="alphagate",
    help="From raw market data to a guarded trading engine.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
config_cli = typer.Typer(
    help="Show the effective configuration and its hash.", no_args_is_help=True
)
data_cli = typer.Typer(help="Ingest, check, inspect and query market data.", no_args_is_help=True)
features_cli = typer.Typer(help="Build point-in-time features.", no_args_is_help=True)
labels_cli = typer.Typer(help="Make training labels and calibrate barriers.", no_args_is_help=True)
cli.add_typer(config_cli, name="config")
cli.add_typer(data_cli, name="data")
cli.add_typer(features_cli, name="features")
cli.add_typer(labels_cli, name="labels")

ConfigOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--config",
        "-c",
        help="YAML file merged over configs/default.yaml; repeat to layer several.",
        exists=True,
        dir_okay=False,
    ),
]
SourceOption = Literal["bundled", "csv", "parquet", "synthetic"]
SymbolOption = Annotated[
    str | None, typer.Option(help="Symbol of every row, for files without a symbol column.")
]
TimeframeOption = Annotated[str | None, typer.Option(help="Bar size, e.g. 1m, 1h, 1d.")]
CalendarOption = Annotated[
    str | None, typer.Option(help="Exchange calendar code, or 'none' for 24/7 markets.")
]
TimezoneOption = Annotated[
    str | None, typer.Option(help="IANA zone of naive timestamps in the file.")
]
LabelOption = Annotated[
    Literal["start", "end"] | None,
    typer.Option(help="Whether intraday timestamps mark the bar's start or end."),
]


def _version(value: bool) -> None:
    if value:
        console.print(f"alphagate {__version__}")
        raise typer.Exit


@cli.callback()
def root(
    ctx: typer.Context,
    config: ConfigOption = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """alphagate: point-in-time research, honest backtests, guarded trading."""
    ctx.obj = list(config or [])


def _settings(ctx: typer.Context) -> Settings:
    files: list[Path] = ctx.obj or []
    return app.load_settings(files)


@config_cli.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective configuration as YAML, secrets masked."""
    # Plain stdout, not Rich: piped output must stay valid YAML, never wrapped.
    sys.stdout.write(to_yaml(masked_dump(_settings(ctx))))


@config_cli.command("hash")
def config_hash_command(ctx: typer.Context) -> None:
    """Print the hash of the effective configuration (secrets excluded); it names a run."""
    console.print(config_hash(_settings(ctx)), markup=False, highlight=False)


@data_cli.command("ingest")
def data_ingest(
    ctx: typer.Context,
    source: Annotated[
        SourceOption | None,
        typer.Option(help="Where bars come from; default: data.source (bundled)."),
    ] = None,
    path: Annotated[
        Path | None, typer.Option(help="File to read for csv and parquet sources.", dir_okay=False)
    ] = None,
    symbol: SymbolOption = None,
    timeframe: TimeframeOption = None,
    calendar: CalendarOption = None,
    timezone: TimezoneOption = None,
    label: LabelOption = None,
) -> None:
    """Check a source against every data rule and add its new bars to the store.

    Nothing is stored when any rule with policy `error` is broken.
    """
    settings = _settings(ctx)
    request = app.SourceRequest(source, path, symbol, timeframe, calendar, timezone, label)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=error_console,
        transient=True,
        disable=not error_console.is_terminal,
    ) as progress:
        task = progress.add_task("reading", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            result = app.run_ingest(settings, request, advance)
        except DataValidationError as error:
            progress.stop()
            _print_report(error.report)
            raise
    _print_report(result.report)
    table = Table(title=f"Ingested {result.source} ({result.timeframe})")
    for column in ("symbol", "new", "duplicate", "replaced", "stored"):
        table.add_column(column, justify="left" if column == "symbol" else "right")
    for write in result.writes:
        table.add_row(
            write.symbol,
            f"{write.new_rows:,}",
            f"{write.duplicate_rows:,}",
            f"{write.replaced_rows:,}",
            f"{write.total_rows:,}",
        )
    console.print(table)
    _print_coverage(settings)


@data_cli.command("list")
def data_list(ctx: typer.Context) -> None:
    """List stored symbols and timeframes with their coverage and row counts."""
    _print_coverage(_settings(ctx))


@data_cli.command("show")
def data_show(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="Symbol to show, e.g. ^GSPC.")],
    start: Annotated[str | None, typer.Option(help="First date or instant (inclusive).")] = None,
    end: Annotated[str | None, typer.Option(help="Last date or instant (inclusive).")] = None,
    timeframe: Annotated[str, typer.Option(help="Stored bar size to read.")] = "1d",
    rows: Annotated[int, typer.Option(help="Rows to print from each end; 0 prints all.")] = 10,
) -> None:
    """Print a symbol's stored bars (timestamps are bar closes, UTC)."""
    bars = app.read_bars(_settings(ctx), symbol, timeframe, start, end).droplevel("symbol")
    table = Table(title=f"{symbol} {timeframe}: {len(bars):,} bars")
    table.add_column("close time (UTC)")
    for column in bars.columns:
        table.add_column(column, justify="right")
    elided = rows > 0 and 2 * rows < len(bars)
    pieces = [bars.head(rows), None, bars.tail(rows)] if elided else [bars]
    for piece in pieces:
        if piece is None:
            table.add_row("...", *["..." for _ in bars.columns])
            continue
        stamps = pd.DatetimeIndex(piece.index)
        for ts, values in zip(stamps, piece.itertuples(index=False), strict=True):
            cells = [
                f"{v:,.0f}" if c == "volume" else f"{v:,.8g}"
                for c, v in zip(piece.columns, values, strict=True)
            ]
            table.add_row(_stamp(ts), *cells)
    console.print(table)


@data_cli.command("validate")
def data_validate(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file to check.", dir_okay=False)],
    symbol: SymbolOption = None,
    timeframe: TimeframeOption = None,
    calendar: CalendarOption = None,
    timezone: TimezoneOption = None,
    label: LabelOption = None,
) -> None:
    """Check a file against every data rule and print the report; store nothing.

    Exit code 0 when the file is clean, 1 when it broke any rule.
    """
    request = app.SourceRequest(None, file, symbol, timeframe, calendar, timezone, label)
    try:
        report = app.run_validate(_settings(ctx), request)
    except DataValidationError as error:
        report = error.report
    _print_report(report)
    if not report.is_clean:
        raise typer.Exit(1)
    console.print(f"[green]{file}: clean[/green] ({report.rows_in:,} rows)")


@data_cli.command("resample")
def data_resample(
    ctx: typer.Context,
    source_timeframe: Annotated[str, typer.Option("--from", help="Stored bar size to read.")],
    target_timeframe: Annotated[str, typer.Option("--to", help="Coarser bar size to write.")],
    symbol: Annotated[
        list[str] | None, typer.Option(help="Symbol to resample; repeat; default all.")
    ] = None,
    empty: Annotated[
        Literal["drop", "fill"],
        typer.Option(help="Periods without bars: leave out, or fill flat with zero volume."),
    ] = "drop",
) -> None:
    """Resample stored bars to a coarser timeframe and store them beside the originals."""
    settings = _settings(ctx)
    result, writes = app.run_resample(
        settings, source_timeframe, target_timeframe, symbols=symbol, empty=empty
    )
    console.print(
        f"resampled {source_timeframe} -> {target_timeframe}: {len(result.bars):,} bars, "
        f"{len(result.filled):,} filled, {sum(w.new_rows for w in writes):,} new in the store"
    )
    _print_coverage(settings)


@data_cli.command("query")
def data_query(
    ctx: typer.Context,
    sql: Annotated[str, typer.Argument(help="SQL over the view `bars` (DuckDB dialect).")],
    output: Annotated[
        Literal["table", "csv", "json"], typer.Option("--format", help="Output format.")
    ] = "table",
) -> None:
    """Run SQL over every stored bar with DuckDB (view: `bars`)."""
    frame = app.open_store(_settings(ctx)).query(sql)
    if output == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    elif output == "json":
        # json.dumps writes floats with repr, so values survive the round trip exactly
        # (pandas' to_json rounds to 10 significant digits by default).
        records = frame.to_dict(orient="records")
        sys.stdout.write(json.dumps(records, default=_json_value) + "\n")
    else:
        table = Table()
        for column in frame.columns:
            table.add_column(str(column))
        for values in frame.itertuples(index=False):
            table.add_row(*[str(v) for v in values])
        console.print(table)


def _json_value(value: object) -> object:
    """JSON for what ``json`` cannot write itself: timestamps as ISO 8601, NA as null."""
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NaT or value is pd.NA:
        return None
    return str(value)


def _stamp(ts: pd.Timestamp) -> str:
    """A UTC bar close, short enough for a table column."""
    return ts.tz_convert("UTC").strftime("%Y-%m-%d %H:%M")


InputOption = Annotated[
    Path | None,
    typer.Option(
        "--input", help="Bars file (CSV/Parquet), checked like an ingest; default: the store."
    ),
]
SymbolsOption = Annotated[
    list[str] | None, typer.Option("--symbol", help="Symbol to use; repeat; default all.")
]
StartOption = Annotated[str | None, typer.Option(help="First date or instant (inclusive).")]
EndOption = Annotated[str | None, typer.Option(help="Last date or instant (inclusive).")]


@features_cli.command("build")
def features_build(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option(help="Parquet (or .csv) file to write.")],
    input_file: InputOption = None,
    symbol: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    start: StartOption = None,
    end: EndOption = None,
    profile: Annotated[
        str | None, typer.Option(help="Feature profile: short, medium, long.")
    ] = None,
) -> None:
    """Build a feature profile for stored bars or a bars file; write `symbol, ts, features...`."""
    settings = _settings(ctx)
    began = time.perf_counter()
    bars = research.load_bars(
        settings, path=input_file, symbols=symbol or (), timeframe=timeframe, start=start, end=end
    )
    with error_console.status("building features", spinner="dots"):
        features = research.build_feature_frame(settings, bars, profile)
    research.write_frame(features, output)
    console.print(
        f"{len(features):,} rows x {features.shape[1]} features for "
        f"{len(features.index.get_level_values('symbol').unique())} symbol(s) -> {output} "
        f"({time.perf_counter() - began:.1f}s)",
        markup=False,
        highlight=False,
    )


@labels_cli.command("build")
def labels_build(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option(help="Parquet (or .csv) file to write.")],
    kind: Annotated[
        Literal["fixed", "triple"],
        typer.Option(help="Fixed-horizon returns and signs, or triple-barrier outcomes."),
    ] = "fixed",
    horizons: Annotated[
        str | None, typer.Option(help="Comma-separated horizons in bars, e.g. 1,5,20.")
    ] = None,
    pt: Annotated[
        float | None, typer.Option(help="Upper barrier, in volatility multiples (with --sl).")
    ] = None,
    sl: Annotated[
        float | None, typer.Option(help="Lower barrier, in volatility multiples (with --pt).")
    ] = None,
    input_file: InputOption = None,
    symbol: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    start: StartOption = None,
    end: EndOption = None,
) -> None:
    """Make labels (each with `t1`, when its outcome is known) and write them.

    Triple-barrier labels use the multiples saved by `labels calibrate`, or --pt and --sl.
    """
    settings = _settings(ctx)
    bars = research.load_bars(
        settings, path=input_file, symbols=symbol or (), timeframe=timeframe, start=start, end=end
    )
    parsed = _parse_horizons(horizons) if horizons else None
    if (pt is None) != (sl is None):
        raise typer.BadParameter("--pt and --sl go together")
    barriers = None
    if pt is not None and sl is not None:
        barriers = research.given_barriers(settings, pt, sl)
    labels = research.build_label_frame(settings, bars, kind, horizons=parsed, barriers=barriers)
    research.write_frame(labels, output)
    console.print(
        f"{len(labels):,} rows x {labels.shape[1]} label columns -> {output}",
        markup=False,
        highlight=False,
    )


@labels_cli.command("calibrate")
def labels_calibrate(
    ctx: typer.Context,
    train_end: Annotated[
        str, typer.Option(help="Last date of the training period; later bars are never read.")
    ],
    input_file: InputOption = None,
    symbol: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    start: StartOption = None,
) -> None:
    """Choose triple-barrier multiples on training data only and save them."""
    settings = _settings(ctx)
    bars = research.load_bars(
        settings, path=input_file, symbols=symbol or (), timeframe=timeframe, start=start
    )
    choice = research.calibrate_barriers(settings, bars, train_end)
    shares = ", ".join(f"{name} {share:.1%}" for name, share in choice.class_shares.items())
    console.print(
        f"pt = sl = {choice.pt:g} x volatility, horizon {choice.horizon} bars; "
        f"training class shares: {shares} -> {settings.labels.barriers_file}",
        markup=False,
        highlight=False,
    )


@cli.command("train")
def train(
    ctx: typer.Context,
    model: Annotated[
        Literal["logreg", "lightgbm", "catboost"], typer.Option(help="Model family.")
    ] = "lightgbm",
    horizons: Annotated[
        str | None, typer.Option(help="Comma-separated horizons in bars; default labels.horizons.")
    ] = None,
    trials: Annotated[int, typer.Option(help="Optuna trials per horizon (0: defaults).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed for splits, models and search.")] = 7,
    calibration: Annotated[
        Literal["isotonic", "sigmoid", "temperature"],
        typer.Option(help="Calibrator fitted on out-of-fold predictions."),
    ] = "isotonic",
    runs_dir: Annotated[Path, typer.Option(help="Where runs/<run_id>/ goes.")] = Path("runs"),
    run_id: Annotated[str | None, typer.Option(help="Name of the run; default time-hash.")] = None,
    input_file: InputOption = None,
    symbol: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    start: StartOption = None,
    end: EndOption = None,
) -> None:
    """Train, calibrate and evaluate one model per horizon; track in MLflow; register it."""
    settings = _settings(ctx)
    began = time.perf_counter()
    bars = research.load_bars(
        settings, path=input_file, symbols=symbol or (), timeframe=timeframe, start=start, end=end
    )
    chosen = _parse_horizons(horizons) if horizons else list(settings.labels.horizons)
    if trials < 0:
        raise typer.BadParameter("--trials must not be negative")

    def say(message: str) -> None:
        error_console.print(
            f"[dim]{time.perf_counter() - began:6.1f}s[/dim] {message}", highlight=False
        )

    result = training_run.run_training(
        settings,
        bars,
        family=model,
        horizons=chosen,
        trials=trials,
        seed=seed,
        calibration=calibration,
        runs_dir=runs_dir,
        run_id=run_id,
        progress=say,
    )
    table = Table(title=f"{model}: out-of-sample (holdout) metrics, run {result.run_id}")
    for column in ("horizon", "accuracy", "roc_auc", "ece raw", "ece calibrated", "ic", "model"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for h in chosen:
        entry = result.manifest["per_horizon"][str(h)]
        calibrated, raw = entry["holdout"], entry["holdout_raw"]
        name, version = result.model_versions[h]
        table.add_row(
            str(h),
            _number(calibrated.get("accuracy")),
            _number(calibrated.get("roc_auc")),
            _number(raw.get("ece_uniform")),
            _number(calibrated.get("ece_uniform")),
            _number(calibrated.get("ic")),
            f"{name} v{version}",
        )
    console.print(table)
    console.print(f"artifacts: {result.directory}", markup=False, highlight=False)


RunOption = Annotated[str, typer.Option("--run", help="Run id under --runs-dir.")]
RunsDirOption = Annotated[Path, typer.Option(help="Where runs/<run_id>/ lives.")]


@cli.command("evaluate")
def evaluate_command(run: RunOption, runs_dir: RunsDirOption = Path("runs")) -> None:
    """Print a training run's out-of-sample evaluation per horizon, raw and calibrated."""
    evaluations = training_review.run_evaluations(training_review.stage_directory(runs_dir, run))
    keys = ("accuracy", "roc_auc", "log_loss", "brier", "ece_uniform", "ic", "strategy_sharpe")
    table = Table(title=f"run {run}: holdout evaluation (raw / calibrated)")
    table.add_column("horizon", justify="right")
    for key in keys:
        table.add_column(key, justify="right")
    for horizon, evaluation in evaluations.items():
        raw, calibrated = evaluation["raw"], evaluation["calibrated"]
        cells = [f"{_number(raw.get(k))} / {_number(calibrated.get(k))}" for k in keys]
        table.add_row(str(horizon), *cells)
    console.print(table)


@cli.command("calibrate")
def calibrate_command(
    run: RunOption,
    method: Annotated[
        Literal["isotonic", "sigmoid", "temperature"],
        typer.Option(help="Calibrator to fit on the run's out-of-fold predictions."),
    ] = "sigmoid",
    runs_dir: RunsDirOption = Path("runs"),
) -> None:
    """Refit a run's calibrators on its out-of-fold predictions and re-judge the holdout."""
    directory = training_review.stage_directory(runs_dir, run)
    before = training_review.run_evaluations(directory)
    after = training_review.recalibrate(directory, method)
    table = Table(title=f"run {run}: holdout calibration, saved calibrator vs {method}")
    for column in ("horizon", "ece saved", f"ece {method}", "log loss saved", f"log loss {method}"):
        table.add_column(column, justify="right")
    for horizon, evaluation in after.items():
        saved = before[horizon]["calibrated"]
        table.add_row(
            str(horizon),
            _number(saved.get("ece_uniform")),
            _number(evaluation.get("ece_uniform")),
            _number(saved.get("log_loss")),
            _number(evaluation.get("log_loss")),
        )
    console.print(table)
    console.print(f"wrote calibrator-{method}.json and evaluation-{method}.json in {directory}")


def _number(value: object) -> str:
    return "—" if not isinstance(value, int | float) else f"{value:.4f}"


@cli.command("backtest")
def backtest(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option(help="Folder for metrics, equity, trades, report.")],
    strategy: Annotated[
        str, typer.Option(help="buy_and_hold, sma_cross, rsi_mean_reversion, bollinger_breakout.")
    ] = "sma_cross",
    params: Annotated[
        str | None, typer.Option(help="Strategy parameters, e.g. fast=10,slow=30.")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Bars file (CSV/Parquet) instead of the store.")
    ] = None,
    symbol: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    start: StartOption = None,
    end: EndOption = None,
    fill_model: Annotated[
        Literal["next_open", "close", "conservative"],
        typer.Option(help="How orders fill: next bar's open, its close, or adverse costs."),
    ] = "next_open",
    commission_bps: Annotated[float, typer.Option(help="Commission, bps of notional.")] = 0.0,
    cash: Annotated[float, typer.Option(help="Starting cash.")] = 10_000.0,
    units: Annotated[
        Literal["whole", "fractional"], typer.Option(help="Round quantities to whole units?")
    ] = "whole",
) -> None:
    """Backtest a built-in strategy on stored bars or a file; write outputs and report.html."""
    settings = _settings(ctx)
    began = time.perf_counter()
    bars = research.load_bars(
        settings, path=data, symbols=symbol or (), timeframe=timeframe, start=start, end=end
    )
    request = backtesting_app.BacktestRequest(
        strategy=strategy,
        params=backtesting_app.parse_params(params),
        fill_model=fill_model,
        commission_bps=commission_bps,
        cash=cash,
        units=units,
    )
    result = backtesting_app.run_backtest_request(bars, request, output, settings.data.calendar)
    metrics = result.metrics.to_json_dict()
    table = Table(title=f"{strategy}: {len(bars):,} bars -> {output}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name in ("total_return", "cagr", "sharpe", "max_drawdown", "win_rate", "trades"):
        value = metrics[name]
        table.add_row(name, "—" if value is None else f"{value:,.4g}")
    console.print(table)
    console.print(f"done in {time.perf_counter() - began:.1f}s", markup=False, highlight=False)


def _parse_horizons(text: str) -> list[int]:
    try:
        horizons = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"horizons must be whole numbers separated by commas: {text!r}"
        ) from None
    if not horizons or any(h < 1 for h in horizons):
        raise typer.BadParameter(f"horizons must be positive whole numbers: {text!r}")
    return horizons


def _print_report(report: QualityReport) -> None:
    if report.is_clean:
        console.print(
            f"quality: {report.rows_in:,} rows from {report.source} passed every rule",
            markup=False,
            highlight=False,
        )
        return
    table = Table(title=f"Data-quality report: {report.source}")
    table.add_column("rule")
    table.add_column("action")
    table.add_column("count", justify="right")
    for (rule, action), count in sorted(report.counts.items()):
        style = "red" if action.value == "rejected" else "yellow"
        table.add_row(rule.value, f"[{style}]{action.value}[/{style}]", f"{count:,}")
    console.print(table)
    for violation in report.violations[:20]:
        console.print(f"  {violation}", markup=False, highlight=False, soft_wrap=True)
    hidden = sum(report.counts.values()) - min(len(report.violations), 20)
    if hidden > 0:
        console.print(f"  ... and {hidden:,} more")


def _print_coverage(settings: Settings) -> None:
    coverage = app.open_store(settings).coverage()
    table = Table(title=f"Stored bars in {settings.data.dir}")
    for column in ("symbol", "timeframe", "first (UTC)", "last (UTC)", "rows"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for item in coverage:
        table.add_row(
            item.symbol, item.timeframe, _stamp(item.first), _stamp(item.last), f"{item.rows:,}"
        )
    if not coverage:
        table.caption = "empty: run `alphagate data ingest`"
    console.print(table)


def main() -> None:
    """Entry point of the console script: turn user-fixable errors into one clean line."""
    try:
        cli()
    except AlphagateError as error:
        error_console.print(f"[bold red]error:[/bold red] {error}", highlight=False, soft_wrap=True)
        sys.exit(1)
