"""``alphagate strategy``: strategies a language model drafts from a document, and their records.

``draft --from FILE`` asks the model configured in ``llm`` for a strategy,
checks it (static check, subprocess import, look-ahead, training backtest,
walk-forward) and keeps or discards it; ``list`` and ``show NAME`` read the
strategies table. See docs/strategy-drafts.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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

if TYPE_CHECKING:
    from alphagate.drafts.records import Draft

strategy_cli = typer.Typer(
    help="Strategies drafted from documents by a language model.", no_args_is_help=True
)
base.cli.add_typer(strategy_cli, name="strategy")


@strategy_cli.command("draft")
def draft(
    ctx: typer.Context,
    source: Annotated[
        Path,
        typer.Option(
            "--from",
            help="The document: a PDF, a .txt/.md file, or a transcript (.srt/.vtt/.txt).",
            exists=True,
            dir_okay=False,
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(help="The draft's name (strategies/drafts/NAME.py) [default: the file's]."),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name [default: llm.model].")] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Bars file (CSV/Parquet) to check it on, not the store."),
    ] = None,
    symbol: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    calendar: CalendarOption = None,
    start: StartOption = None,
    end: EndOption = None,
    overrides: SetOption = None,
) -> None:
    """Draft a strategy from a document; keep it only if it passes every check."""
    from alphagate.app import drafts

    settings = base.settings_of(ctx, overrides)
    drafts.chat_client(settings, model)  # refuse an unconfigured model before reading bars
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
    record = drafts.draft_from_document(
        loaded.settings, source, loaded.bars, name=name, model=model
    )
    _print_draft(record)
    if record.status == "validated":
        base.print_plain(
            f"backtest it: alphagate backtest --strategy {record.code_path}:{record.class_name} "
            f"--output runs/{record.name}"
        )


@strategy_cli.command("list")
def list_(ctx: typer.Context, overrides: SetOption = None) -> None:
    """Every draft, newest first, with its status."""
    from alphagate.app import drafts

    records = drafts.list_drafts(base.settings_of(ctx, overrides))
    if not records:
        base.print_plain("no drafts; make one with `alphagate strategy draft --from FILE`")
        return
    table = Table(title="strategy drafts")
    for column in ("name", "status", "model", "source", "created"):
        table.add_column(column)
    for record in records:
        table.add_row(
            record.name,
            record.status.value,
            record.model,
            Path(record.source_path).name,
            _when(record.ts_created),
        )
    base.console.print(table)


@strategy_cli.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The draft's name.")],
    full: Annotated[
        bool, typer.Option("--full", help="Also print each attempt's prompt and answer.")
    ] = False,
    overrides: SetOption = None,
) -> None:
    """One draft: its source, status, reasons, and each attempt's checks and metrics."""
    from alphagate.app import drafts

    record = drafts.show_draft(base.settings_of(ctx, overrides), name)
    _print_draft(record)
    base.print_plain(
        f"source: {record.source_path} ({record.source_kind}, sha256 {record.source_hash})"
    )
    for attempt in record.attempts:
        verdict = "passed" if attempt.passed else "failed"
        base.print_plain(
            f"attempt {attempt.attempt} ({attempt.run_id}): {verdict} at {attempt.stage.value}"
            f"{'' if attempt.error is None else ': ' + attempt.error}"
        )
        metrics = attempt.metrics or {}
        training = metrics.get("training")
        if training:
            base.print_plain(f"  training: {_period(training)}")
        for number, window in enumerate(metrics.get("windows") or [], start=1):
            base.print_plain(f"  window {number}: {_period(window)}")
        if full:
            base.print_plain(
                f"--- prompt ---\n{attempt.prompt}\n--- answer ---\n{attempt.response}"
            )


def _print_draft(record: Draft) -> None:
    base.print_plain(f"{record.name}: {record.status.value} (model {record.model})")
    if record.code_path:
        base.print_plain(
            f"code: {record.code_path} (class {record.class_name}, sha256 {record.code_hash})"
        )
    for reason in record.reasons:
        base.print_plain(f"  - {reason}")


def _period(metrics: dict[str, Any]) -> str:
    sharpe = metrics.get("sharpe")
    shown = "n/a" if sharpe is None else f"{sharpe:.3f}"
    return (
        f"{metrics.get('start')} to {metrics.get('end')}, {metrics.get('bars')} bars, "
        f"Sharpe {shown}, return {metrics.get('total_return') or 0.0:.2%}, "
        f"{metrics.get('trades')} trade(s)"
    )


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M")
