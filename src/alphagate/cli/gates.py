"""``alphagate gates``: promotion of a run from registration to live, gate by gate.

``submit --run`` registers a run as a candidate; ``run --once`` moves every
candidate through its next gate (``--dry-run`` says which, recording
nothing); ``status`` lists where each stands and why; ``approve`` and
``reject`` are the operator's decisions, each with a reason. The gates and
their engines are imported by these commands alone.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
    daemon: Annotated[
        bool, typer.Option("--daemon", help="A pass every --interval until Ctrl-C or SIGTERM.")
    ] = False,
    interval: Annotated[
        str, typer.Option(help="Between the daemon's passes: 30m, 1h, 90s.")
    ] = "30m",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what a pass would do; record nothing.")
    ] = False,
    runs_dir: RunsDirOption = Path("runs"),
    overrides: SetOption = None,
) -> None:
    """Move every candidate through its next gate: one pass, or a pass every --interval."""
    if sum((once, daemon, dry_run)) != 1:
        raise typer.BadParameter("give one of --once, --daemon or --dry-run")
    from alphagate.app import gates

    settings = base.settings_of(ctx, overrides)

    def bars() -> pd.DataFrame:
        return research.load_bars(settings)

    if daemon:
        _run_daemon(settings, runs_dir, bars, _seconds(interval))
        return
    if not dry_run:
        gates.check_not_stopped(settings)
    _print_steps(gates.run_once(settings, runs_dir, bars, dry_run=dry_run))


def _seconds(text: str) -> float:
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    number, unit = text[:-1], text[-1:]
    try:
        value = float(number) * units[unit]
    except (KeyError, ValueError):
        raise typer.BadParameter(f"--interval takes a number and s, m or h, got {text!r}") from None
    if value <= 0:
        raise typer.BadParameter(f"--interval must be positive, got {text!r}")
    return value


def _run_daemon(
    settings: Any, runs_dir: Path, bars: Callable[[], pd.DataFrame], interval: float
) -> None:
    """Passes until SIGINT or SIGTERM; the pass under way finishes first."""
    from alphagate.app import gates

    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    base.print_plain(f"gates daemon: a pass every {interval:g} s; Ctrl-C to stop")
    passes = gates.daemon(
        settings, runs_dir, bars, interval=interval, sleep=stopping.wait,
        on_steps=_print_steps, keep_going=lambda: not stopping.is_set(),
    )  # fmt: skip
    base.print_plain(f"gates daemon stopped after {passes} pass(es)")


def _print_steps(steps: list[Any]) -> None:
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


@gates_cli.command("stop")
def stop_command(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option(help="Why the gates stop (recorded).")],
    by: Annotated[str, typer.Option("--by", help="Who stops them (recorded).")],
    overrides: SetOption = None,
) -> None:
    """Emergency stop: no gate runs, in any process, until `gates resume`."""
    from alphagate.app import gates

    path = gates.stop(base.settings_of(ctx, overrides), reason, by)
    base.print_plain(f"gates stopped: {path} written; `alphagate gates resume` to undo")


@gates_cli.command("resume")
def resume_command(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option(help="Why the gates may run again (recorded).")],
    by: Annotated[str, typer.Option("--by", help="Who resumes them (recorded).")],
    overrides: SetOption = None,
) -> None:
    """Lift the emergency stop."""
    from alphagate.app import gates

    lifted = gates.resume(base.settings_of(ctx, overrides), reason, by)
    base.print_plain("gates resumed" if lifted else "the gates were not stopped")
