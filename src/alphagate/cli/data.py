"""``alphagate data``: ingest, check, inspect, resample and query market data.

``data validate`` exits 0 when the file is clean and 1 when it broke any
rule, so scripts can gate on it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
import typer
from rich.table import Table

from alphagate.app import data as app
from alphagate.cli.root import (
    CalendarOption,
    EndOption,
    LabelOption,
    SetOption,
    SourceOption,
    StartOption,
    SymbolOption,
    TimeframeOption,
    TimezoneOption,
    cli,
    console,
    error_console,
    print_plain,
    settings_of,
)
from alphagate.config import Settings
from alphagate.data.refusal import rule_lines
from alphagate.domain.quality_report import DataValidationError, QualityReport

data_cli = typer.Typer(help="Ingest, check, inspect and query market data.", no_args_is_help=True)
cli.add_typer(data_cli, name="data")


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
    symbols: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated symbols to fetch: --source alpaca AAPL,MSFT; "
            "--source ccxt BTC/USDT,ETH/USDT."
        ),
    ] = None,
    start: StartOption = None,
    end: EndOption = None,
    overrides: SetOption = None,
) -> None:
    """Check a source against every data rule and add its new bars to the store.

    Nothing is stored when any rule with policy `error` is broken. With
    --source alpaca, each symbol is fetched from after its last stored bar.
    """
    # Only ingest draws a progress bar; rich.progress stays out of every other command's start-up.
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeElapsedColumn

    settings = settings_of(ctx, overrides)
    request = app.SourceRequest(
        source,
        path,
        symbol,
        timeframe,
        calendar,
        timezone,
        label,
        symbols=tuple(s.strip() for s in (symbols or "").split(",") if s.strip()),
        start=start,
        end=end,
    )
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
            result = app.run_ingest(settings, request, advance, print_plain)
        except DataValidationError as error:
            progress.stop()
            _print_report(error.report)  # the error's message adds the likely fix and full list
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
def data_list(ctx: typer.Context, overrides: SetOption = None) -> None:
    """List stored symbols and timeframes with their coverage and row counts."""
    _print_coverage(settings_of(ctx, overrides))


@data_cli.command("show")
def data_show(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="Symbol to show, e.g. ^GSPC.")],
    start: StartOption = None,
    end: EndOption = None,
    timeframe: Annotated[str, typer.Option(help="Stored bar size to read.")] = "1d",
    rows: Annotated[int, typer.Option(help="Rows to print from each end; 0 prints all.")] = 10,
    overrides: SetOption = None,
) -> None:
    """Print a symbol's stored bars (timestamps are bar closes, UTC)."""
    bars = app.read_bars(settings_of(ctx, overrides), symbol, timeframe, start, end).droplevel(
        "symbol"
    )
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
    overrides: SetOption = None,
) -> None:
    """Check a file against every data rule and print the report; store nothing.

    Exit code 0 when the file is clean, 1 when it broke any rule.
    """
    request = app.SourceRequest(None, file, symbol, timeframe, calendar, timezone, label)
    validation = app.run_validate(settings_of(ctx, overrides), request)
    report = validation.report
    line = None if validation.inference is None else validation.inference.line()
    if line:
        print_plain(line)
    _print_report(report)
    if validation.hint:
        print_plain(f"likely fix: {validation.hint}")
    if validation.report_file is not None:
        print_plain(f"full list: {validation.report_file}")
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
    overrides: SetOption = None,
) -> None:
    """Resample stored bars to a coarser timeframe and store them beside the originals."""
    settings = settings_of(ctx, overrides)
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
    overrides: SetOption = None,
) -> None:
    """Run SQL over every stored bar with DuckDB (view: `bars`)."""
    frame = app.open_store(settings_of(ctx, overrides)).query(sql)
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
        print_plain(f"quality: {report.rows_in:,} rows from {report.source} passed every rule")
        return
    table = Table(title=f"Data-quality report: {report.source}")
    table.add_column("rule")
    table.add_column("action")
    table.add_column("count", justify="right")
    for (rule, action), count in sorted(report.counts.items()):
        style = "red" if action.value == "rejected" else "yellow"
        table.add_row(rule.value, f"[{style}]{action.value}[/{style}]", f"{count:,}")
    console.print(table)
    for line in rule_lines(report):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


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
