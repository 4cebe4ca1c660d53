"""The root of the ``alphagate`` command line: the Typer app, shared options, ``main``.

Errors a user can fix (bad input, bad config) print one clear message and
exit 1; they never show a traceback. ``data validate`` exits 0 when the file
is clean and 1 when it broke any rule, so scripts can gate on it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from alphagate.app import data as app
from alphagate.config import Settings
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
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="SECTION.KEY=VALUE",
        help="Set one setting over the files and ALPHAGATE__ variables, e.g. "
        "execution.commission_bps=5 (a YAML value); repeatable.",
    ),
]
SourceOption = Literal["bundled", "csv", "parquet", "synthetic", "alpaca", "ccxt"]
SymbolOption = Annotated[
    str | None, typer.Option(help="Symbol of every row, for files without a symbol column.")
]
TimeframeOption = Annotated[
    str | None,
    typer.Option(
        help="Bar size, e.g. 1m, 1h, 1d [default: data.timeframe if set, else a file's "
        "most common spacing]."
    ),
]
SymbolsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--symbol", "--symbols", help="Symbols to use: repeat or separate by commas; default all."
    ),
]
StartOption = Annotated[str | None, typer.Option(help="First date or instant (inclusive).")]
EndOption = Annotated[str | None, typer.Option(help="Last date or instant (inclusive).")]
CalendarOption = Annotated[
    str | None,
    typer.Option(
        help="Calendar of the file's bars: an exchange code (XNYS, XLON, ...), fx for the "
        "currency week, or none (also 24/7, null) for markets that never close "
        "[default: data.calendar if set, else inferred from the file]."
    ),
]
TimezoneOption = Annotated[
    str | None, typer.Option(help="IANA zone of naive timestamps in the file.")
]
LabelOption = Annotated[
    Literal["start", "end"] | None,
    typer.Option(help="Whether intraday timestamps mark the bar's start or end."),
]


def print_plain(text: str) -> None:
    """Print ``text`` to stdout as it is, with no Rich markup or highlighting.

    What commands report (paths, run ids, counts, hashes) is data: read as
    markup, a ``[`` in a path would vanish, and highlighting would colour
    numbers a script then has to strip; wrapped at the console's width, a
    long path or message would break where a script cannot join it again.
    """
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        from alphagate import __version__  # read from package metadata on demand

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


def settings_of(
    ctx: typer.Context, overrides: list[str] | None = None, local: list[Path] | None = None
) -> Settings:
    """The settings a command runs with: ``--config`` files, environment, then its ``--set``s.

    ``local`` are the files of a command's own ``--config`` (the pipeline's),
    merged after those given before the command.
    """
    files: list[Path] = [*(ctx.obj or []), *(local or [])]
    return app.load_settings(files, overrides or ())


def main() -> None:
    """Run the command line, turning user-fixable errors into one clean line.

    The installed ``alphagate`` script enters through
    :func:`alphagate.cli.console.main`, which freezes what the imports made;
    a caller such as a test calls this directly.
    """
    try:
        cli()
    except AlphagateError as error:
        error_console.print(f"[bold red]error:[/bold red] {error}", highlight=False, soft_wrap=True)
        sys.exit(1)
