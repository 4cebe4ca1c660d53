"""``alphagate live``: refused unless the kill switch, a typed phrase and credentials allow it.

Every check runs before the venue is opened, so a refused start has made no
request to it (RELIABILITY SE-04). ``--status`` prints the session's books
and sends nothing.
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Literal

import typer

from alphagate.cli import root as base
from alphagate.cli.root import SetOption
from alphagate.cli.train import RunsDirOption


@base.cli.command("live")
def live(
    ctx: typer.Context,
    venue: Annotated[str, typer.Option(help="The broker or exchange: alpaca, binance, okx.")],
    run: Annotated[str, typer.Option("--run", help="The run whose models trade.")],
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Say you mean it; the typed phrase is still asked.")
    ] = False,
    max_cycles: Annotated[
        int | None, typer.Option(help="Stop after this many closed bars.")
    ] = None,
    open_orders: Annotated[
        str, typer.Option(help="At shutdown: 'keep' working orders at the broker, or 'cancel'.")
    ] = "keep",
    external_orders: Annotated[
        str,
        typer.Option(help="Orders at the broker this engine did not send: 'ignore' or 'cancel'."),
    ] = "ignore",
    poll: Annotated[float, typer.Option(help="Seconds between polls for closed bars.")] = 5.0,
    status: Annotated[
        bool, typer.Option("--status", help="Print the live session's books; start nothing.")
    ] = False,
    runs_dir: RunsDirOption = Path("runs"),
    overrides: SetOption = None,
    serve: Annotated[
        bool, typer.Option(help="Serve the dashboard, /health and /metrics while it trades.")
    ] = False,
    serve_host: Annotated[str, typer.Option(help="Address --serve binds.")] = "127.0.0.1",
    serve_port: Annotated[int, typer.Option(help="Port --serve listens on.")] = 8000,
) -> None:
    """Trade a run's models with real money (refused unless every safety check passes)."""
    from alphagate.app import live as live_app

    settings = base.settings_of(ctx, overrides)
    if status:
        books = live_app.live_status(settings, runs_dir, run, venue)
        base.print_plain(json.dumps(books, sort_keys=True, default=str))
        return
    if open_orders not in ("keep", "cancel") or external_orders not in ("ignore", "cancel"):
        raise typer.BadParameter(
            "--open-orders takes keep or cancel; --external-orders takes ignore or cancel"
        )

    def ask(prompt: str) -> str:
        return str(typer.prompt(prompt, default="", show_default=False))

    live_app.check_live_start(
        settings, venue, confirm=confirm, ask=ask if sys.stdin.isatty() else None
    )
    from alphagate.app import research

    bars = research.load_bars(settings, path=None, symbols=(), timeframe=None, start=None, end=None)
    request = live_app.LiveRequest(
        run, venue, runs_dir=runs_dir, max_cycles=max_cycles,
        open_orders=_policy(open_orders), external_orders=_external(external_orders), poll_s=poll,
    )  # fmt: skip
    with ExitStack() as stack:
        monitor = None
        if serve:
            from alphagate.app.serve import serving

            monitor, running = stack.enter_context(
                serving(settings, host=serve_host, port=serve_port)
            )
            base.print_plain(f"serving the dashboard on {running.url}/ (metrics: /metrics)")
        outcome = live_app.trade_live(settings, bars, request, monitor=monitor)
    summary = outcome.summary
    positions = {s: q for s, q in outcome.driver.kernel.portfolio.quantities.items() if q}
    base.print_plain(
        f"live {venue} {run}: {summary.cycles:,} bars ({summary.stopped_by}); "
        f"resumed {summary.recovered.cycles:,} journaled bars; positions {positions or 'flat'}"
    )
    for event in outcome.risk_events:
        base.print_plain(f"  {event.component}: {event.reason}")


def _policy(value: str) -> Literal["keep", "cancel"]:
    return "cancel" if value == "cancel" else "keep"


def _external(value: str) -> Literal["ignore", "cancel"]:
    return "cancel" if value == "cancel" else "ignore"
