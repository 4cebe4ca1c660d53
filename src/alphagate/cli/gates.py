"""``alphagate gates``: promotion of a run from registration to live, gate by gate.

``submit --run`` registers a run as a candidate; ``run --once`` moves every
candidate through its next gate (``--dry-run`` says which, recording
nothing); ``status`` lists where each stands and why; ``approve`` and
``reject`` are the operator's decisions, each with a reason. The gates and
their engines are imported by these commands alone.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from alphagate.app import research
from alphagate.cli import root as base
from alphagate.cli.root import SetOption
from alphagate.cli.train import RunsDirOption

if TYPE_CHECKING:
    import pandas as pd

gates_cli = typer.Typer(
    help="Promotion gates: backtest, stress, paper, approval.", no_args_is_help=True
)
base.cli.add_typer(gates_cli, name="gates")

ReasonOption = Annotated[str, typer.Option("--reason", help="Why: recorded with the decision.")]


@gates_cli.command("submit")
def submit(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="A training or pipeline run id, or latest.")],
    runs_dir: RunsDirOption = Path("runs"),
    overrides: SetOption = None,
) -> None:
    """Register RUN as a candidate: it starts at `registered`, before gate 1."""
    from alphagate.app import gates

    settings = base.settings_of(ctx, overrides)
    move = gates.submit(settings, runs_dir, run)
    base.print_plain(
        f"candidate {move.candidate_id} registered (data {move.evidence.get('data_hash')!s:.12}); "
        "move it with `alphagate gates run --once`"
    )


@gates_cli.command("run")
def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One pass over every candidate.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what a pass would do; record nothing.")
    ] = False,
    runs_dir: RunsDirOption = Path("runs"),
    overrides: SetOption = None,
) -> None:
    """Move every candidate through its next gate (one pass; the daemon comes later)."""
    if not (once or dry_run):
        raise typer.BadParameter(
            "give --once (one pass) or --dry-run; --daemon is not available yet"
        )
    from alphagate.app import gates

    settings = base.settings_of(ctx, overrides)

    def bars() -> pd.DataFrame:
        return research.load_bars(settings)

    steps = gates.run_once(settings, runs_dir, bars, dry_run=dry_run)
    if not steps:
        base.print_plain("no candidate to move; submit one with `alphagate gates submit --run`")
    for step in steps:
        line = f"{step.candidate_id}: {step.state}: {step.action}"
        if step.transition is not None:
            line += f" -> {step.transition.target}"
            if step.transition.reason:
                line += f" ({step.transition.reason})"
        base.print_plain(line)


@gates_cli.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    overrides: SetOption = None,
) -> None:
    """Every candidate, its state, since when and why."""
    from alphagate.app import gates

    found = gates.status(base.settings_of(ctx, overrides))
    if as_json:
        base.print_plain(json.dumps(found, indent=2, sort_keys=True, default=str))
        return
    if not found:
        base.print_plain("no candidates; submit one with `alphagate gates submit --run`")
        return
    table = Table(title="candidates")
    for column in ("candidate", "state", "since (UTC)", "by", "why"):
        table.add_column(column)
    for row in found:
        since = datetime.fromtimestamp(row["since_ns"] / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(row["candidate_id"], row["state"], since, row["actor"], row["reason"])
    base.console.print(table)


@gates_cli.command("approve")
def approve(
    ctx: typer.Context,
    candidate: Annotated[str, typer.Argument(help="Candidate id (its run id).")],
    reason: ReasonOption,
    overrides: SetOption = None,
) -> None:
    """Promote a candidate awaiting approval to live."""
    from alphagate.app import gates

    move = gates.approve(base.settings_of(ctx, overrides), candidate, reason)
    base.print_plain(f"candidate {move.candidate_id}: {move.source} -> {move.target}")


@gates_cli.command("reject")
def reject(
    ctx: typer.Context,
    candidate: Annotated[str, typer.Argument(help="Candidate id (its run id).")],
    reason: ReasonOption,
    overrides: SetOption = None,
) -> None:
    """Reject a candidate at the gate it stands before."""
    from alphagate.app import gates

    move = gates.reject(base.settings_of(ctx, overrides), candidate, reason)
    base.print_plain(f"candidate {move.candidate_id}: {move.source} -> {move.target}")
