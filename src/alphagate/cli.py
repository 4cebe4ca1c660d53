"""The ``alphagate`` command line: parse, call one ``app`` function, print.

Errors a user can fix (bad input, bad config) print one clear message and
exit 1; they never show a traceback. ``data validate`` exits 0 when the file
is clean and 1 when it broke any rule, so scripts can gate on it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from alphagate import app
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
SymbolsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--symbol", "--symbols", help="Symbols to use: repeat or separate by commas; default all."
    ),
]
StartOption = Annotated[str | None, typer.Option(help="First date or instant (inclusive).")]
EndOption = Annotated[str | None, typer.Option(help="Last date or instant (inclusive).")]
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
        from alphagate import __version__  # read from package metadata on demand
        from alphagate.native_core import native_status

        console.print(f"alphagate {__version__}")
        typer.echo(f"engine core: {native_status()}")  # one line, never wrapped
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


def settings_of(ctx: typer.Context) -> Settings:
    files: list[Path] = ctx.obj or []
    return app.load_settings(files)


@config_cli.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective configuration as YAML, secrets masked."""
    # Plain stdout, not Rich: piped output must stay valid YAML, never wrapped.
    sys.stdout.write(to_yaml(masked_dump(settings_of(ctx))))


@config_cli.command("hash")
def config_hash_command(ctx: typer.Context) -> None:
    """Print the hash of the effective configuration (secrets excluded); it names a run."""
    console.print(config_hash(settings_of(ctx)), markup=False, highlight=False)


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
    # Only ingest draws a progress bar; rich.progress stays out of every other command's start-up.
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeElapsedColumn

    settings = settings_of(ctx)
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
    _print_coverage(settings_of(ctx))


@data_cli.command("show")
def data_show(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="Symbol to show, e.g. ^GSPC.")],
    start: StartOption = None,
    end: EndOption = None,
    timeframe: Annotated[str, typer.Option(help="Stored bar size to read.")] = "1d",
    rows: Annotated[int, typer.Option(help="Rows to print from each end; 0 prints all.")] = 10,
) -> None:
    """Print a symbol's stored bars (timestamps are bar closes, UTC)."""
    bars = app.read_bars(settings_of(ctx), symbol, timeframe, start, end).droplevel("symbol")
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
        report = app.run_validate(settings_of(ctx), request)
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
    settings = settings_of(ctx)
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
    frame = app.open_store(settings_of(ctx)).query(sql)
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


# The research and run commands live in their own module and register on `cli`
# when imported; the import sits here, after everything they use is defined.
from alphagate import cli_pipeline, cli_research  # noqa: E402, F401


def main() -> None:
    """Run the command line, turning user-fixable errors into one clean line.

    The installed ``alphagate`` script enters through
    :func:`alphagate.console.main`, which imports this module with the
    collector off and freezes what the imports made; a caller such as a test
    calls this directly and keeps its collector as it was.
    """
    try:
        cli()
    except AlphagateError as error:
        error_console.print(f"[bold red]error:[/bold red] {error}", highlight=False, soft_wrap=True)
        sys.exit(1)
