"""``alphagate kill-switch``: see, trip and reset the emergency stop of paper and live trading.

A trip is never refused; a reset needs ``--reason`` and ``--by`` and is
recorded. A state file that cannot be read fails the command (exit 1), as it
stops the engine from starting: fail closed, then inspect the file.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from alphagate.app import kill_switch as app
from alphagate.cli import root as base
from alphagate.cli.root import SetOption, settings_of

kill_switch_cli = typer.Typer(
    help="Show, trip or reset the kill switch that halts paper and live trading.",
    no_args_is_help=True,
)
base.cli.add_typer(kill_switch_cli, name="kill-switch")

ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why; recorded in the history.")]


@kill_switch_cli.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    overrides: SetOption = None,
) -> None:
    """Print whether the switch is tripped, why, since when, and its latest events."""
    state = app.kill_switch_status(settings_of(ctx, overrides))
    if as_json:
        sys.stdout.write(json.dumps(state.to_json()) + "\n")
        return
    console = base.console
    word = "[bold red]TRIPPED[/bold red]" if state.tripped else "[green]not tripped[/green]"
    console.print(f"kill switch: {word}")
    if state.reason is not None:
        console.print(f"reason: {state.reason}", markup=False, highlight=False)
    if state.since is not None:
        console.print(f"since: {state.since.isoformat()}", markup=False, highlight=False)
    base.print_plain(f"state file: {state.state_file}")
    if state.trigger_file is not None:
        present = "present" if state.trigger_present else "absent"
        base.print_plain(f"trigger file: {state.trigger_file} ({present})")
    if not state.history:
        base.print_plain("history: none")
        return
    table = Table(title=f"last {len(state.history)} events")
    for column in ("time (UTC)", "action", "event"):
        table.add_column(column)
    for event in state.history:
        # Text, not a markup string: a reason is the operator's words and may hold "[".
        table.add_row(event.ts.isoformat(), str(event.data.get("action", "")), Text(event.reason))
    console.print(table)


@kill_switch_cli.command("trip")
def trip(
    ctx: typer.Context,
    reason: ReasonOption = None,
    by: Annotated[
        str, typer.Option("--by", help="Who trips it; recorded in the history.")
    ] = "operator",
    overrides: SetOption = None,
) -> None:
    """Halt all new trading now; a running engine obeys within one cycle."""
    event = app.trip_kill_switch(settings_of(ctx, overrides), reason or "", by)
    already = (
        " (it was already tripped; the first reason stands)"
        if event.data.get("already_tripped")
        else ""
    )
    base.print_plain(f"kill switch {event.reason}{already}")


@kill_switch_cli.command("reset")
def reset(
    ctx: typer.Context,
    reason: ReasonOption = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who resets it (required); recorded.")
    ] = None,
    overrides: SetOption = None,
) -> None:
    """Clear the halt; needs --reason and --by, and the trigger file removed first."""
    event = app.reset_kill_switch(settings_of(ctx, overrides), reason, by)
    base.print_plain(f"kill switch {event.reason}")
