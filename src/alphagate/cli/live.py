"""``alphagate live``: refused unless the kill switch, a typed phrase and credentials allow it."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from alphagate.cli import root as base
from alphagate.cli.root import SetOption


@base.cli.command("live")
def live(
    ctx: typer.Context,
    venue: Annotated[str, typer.Option(help="The broker or exchange: alpaca, binance, okx.")],
    run: Annotated[str, typer.Option("--run", help="The run whose models trade.")],
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Say you mean it; the typed phrase is still asked.")
    ] = False,
    overrides: SetOption = None,
) -> None:
    """Trade a run's models with real money (refused unless every safety check passes)."""
    from alphagate.app.live import check_live_start

    settings = base.settings_of(ctx, overrides)

    def ask(prompt: str) -> str:
        return str(typer.prompt(prompt, default="", show_default=False))

    check_live_start(settings, venue, confirm=confirm, ask=ask if sys.stdin.isatty() else None)
