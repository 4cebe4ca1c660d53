"""``alphagate serve``: the dashboard, ``/health``, ``/metrics`` and the API of a paper session.

Serves a session's stored books (the trading database and the journal's
latest snapshot); to watch a session as it trades, start it with
``alphagate paper --run RUN --serve`` instead. Binds 127.0.0.1 unless
``--host`` says otherwise, which needs ``ALPHAGATE_SERVE_TOKEN``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alphagate.cli import root as base
from alphagate.cli.root import SetOption
from alphagate.cli.train import RunsDirOption


@base.cli.command("serve")
def serve(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="Run id of the paper session, or latest.")],
    host: Annotated[str, typer.Option(help="Address to bind (non-loopback needs a token).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    runs_dir: RunsDirOption = Path("runs"),
    overrides: SetOption = None,
) -> None:
    """Serve the monitoring dashboard and API of RUN's paper session until interrupted."""
    from alphagate.app import serve as app

    settings = base.settings_of(ctx, overrides)
    base.print_plain(f"serving run {run} on http://{host}:{port}/ (Ctrl-C stops)")
    app.serve(settings, run_id=run, runs_dir=runs_dir, host=host, port=port)
