"""``alphagate paper``: trade a run's models on a replayed feed through the paper venue.

``alphagate paper --run RUN`` starts (or resumes) the run's paper session;
``alphagate paper status --run RUN`` prints its books without starting anything.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer
from rich.live import Live
from rich.table import Table

from alphagate.app import research
from alphagate.cli import root as base
from alphagate.cli.root import SetOption
from alphagate.cli.train import RunsDirOption

if TYPE_CHECKING:
    from alphagate.app.paper import PaperOutcome
    from alphagate.live.driver import LiveDriver

paper_cli = typer.Typer(
    help="Paper trading: a run's models on a replayed feed, journaled and recoverable.",
    invoke_without_command=True,
    no_args_is_help=False,
)
base.cli.add_typer(paper_cli, name="paper")

RunOption = Annotated[
    str | None,
    typer.Option("--run", help="Run id (from `alphagate train` or `pipeline run`), or latest."),
]


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise typer.BadParameter(f"--speed takes 'max' or a positive number, got {text!r}")
    return value


@paper_cli.callback()
def paper(
    ctx: typer.Context,
    run: RunOption = None,
    replay: Annotated[
        bool, typer.Option(help="Replay the run's out-of-sample bars (the default feed).")
    ] = True,
    feed: Annotated[
        str | None,
        typer.Option(
            help="Trade on a venue's live polled bars instead (alpaca, binance); the paper "
            "venue fills, no order reaches the venue. Its keys come from the environment."
        ),
    ] = None,
    poll: Annotated[
        float, typer.Option(min=0.01, help="Seconds between polls of --feed's bars.")
    ] = 5.0,
    start: Annotated[str | None, typer.Option(help="First bar to replay (a date, UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Last bar to replay (a date, UTC).")] = None,
    speed: Annotated[
        str, typer.Option(help="'max', or a multiple of real time between bars (e.g. 60).")
    ] = "max",
    max_cycles: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many bar closes.")
    ] = None,
    once: Annotated[bool, typer.Option(help="Run one bar close, then stop.")] = False,
    cancel_on_exit: Annotated[
        bool, typer.Option(help="Cancel working orders when stopping (default: keep them).")
    ] = False,
    runs_dir: RunsDirOption = Path("runs"),
    overrides: SetOption = None,
    serve: Annotated[
        bool, typer.Option(help="Serve the dashboard, /health and /metrics while it runs.")
    ] = False,
    serve_host: Annotated[str, typer.Option(help="Address --serve binds.")] = "127.0.0.1",
    serve_port: Annotated[int, typer.Option(help="Port --serve listens on.")] = 8000,
) -> None:
    """Trade RUN's models through the paper venue on its out-of-sample bars; resume if begun."""
    if ctx.invoked_subcommand is not None:
        return
    if run is None:
        raise typer.BadParameter("paper needs --run RUN_ID (see `alphagate train`)")
    if not replay and feed is None:
        raise typer.BadParameter(
            "--no-replay needs --feed alpaca|binance: the venue whose live bars drive the session"
        )
    from alphagate.app import paper as paper_app

    settings = base.settings_of(ctx, overrides)
    began = time.perf_counter()
    bars = research.load_bars(settings, path=None, symbols=(), timeframe=None, start=None, end=None)
    if feed is not None:
        from alphagate.app.paper_live import LivePaperRequest, run_paper_live

        live_request = LivePaperRequest(
            run_id=run, feed=feed, runs_dir=runs_dir, max_cycles=1 if once else max_cycles,
            open_orders="cancel" if cancel_on_exit else "keep", poll_s=poll,
        )  # fmt: skip
        _report(run_paper_live(settings, bars, live_request), settings.execution.cash, began)
        return
    request = paper_app.PaperRequest(
        run_id=run,
        runs_dir=runs_dir,
        start=None if start is None else pd.Timestamp(start, tz="UTC"),
        end=None if end is None else pd.Timestamp(end, tz="UTC") + pd.Timedelta("1D"),
        speed=_speed(speed),
        max_cycles=1 if once else max_cycles,
        open_orders="cancel" if cancel_on_exit else "keep",
    )
    with ExitStack() as stack:
        monitor = None
        if serve:
            from alphagate.app.serve import serving

            monitor, running = stack.enter_context(
                serving(settings, host=serve_host, port=serve_port)
            )
            base.print_plain(f"serving the dashboard on {running.url}/ (metrics: /metrics)")
        panel = stack.enter_context(_Panel(settings.execution.cash))
        outcome = paper_app.run_paper(settings, bars, request, on_cycle=panel, monitor=monitor)
    _report(outcome, settings.execution.cash, began)


def _report(outcome: PaperOutcome, cash: float, began: float) -> None:
    """What a finished (or stopped) session did: resumption, books, shadow, where it lives."""
    summary = outcome.summary
    found = summary.recovered
    if found.records:
        base.print_plain(
            f"resumed session {outcome.session}: {found.records:,} journal records replayed, "
            f"{len(found.resent)} orders sent that had never arrived, "
            f"{found.adopted} venue reports adopted"
        )
    where = outcome.session.parent.name
    if outcome.session.name != "paper":
        where += f" {outcome.session.name}"
    title = f"paper {where}: {summary.cycles:,} bars ({summary.stopped_by})"
    base.console.print(_books_table(outcome.driver, title, cash))
    shadow = outcome.shadow
    if shadow is not None:
        verdict = "exact" if shadow.exact() else f"worst daily tracking error {shadow.worst:.3g}"
        base.print_plain(
            f"shadow backtest: {shadow.orders_compared:,} orders, {shadow.fills_compared:,} "
            f"fills compared; {verdict}"
        )
    base.print_plain(f"journal: {outcome.session}; done in {time.perf_counter() - began:.1f}s")


class _Panel:
    """The session as it runs: a live Rich panel on a terminal, a line every few seconds elsewhere.

    The panel shows the bar, equity and P&L, cash, positions, working orders,
    orders sent, the degradation level and the model's staleness; it is
    redrawn at most four times a second, so drawing never slows a replay down.
    """

    def __init__(self, cash: float) -> None:
        self._cash = cash
        self._last = time.monotonic()
        self._live: Live | None = None
        if base.console.is_terminal:
            self._live = Live(console=base.console, refresh_per_second=4, transient=True)

    def __enter__(self) -> _Panel:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()

    def __call__(self, driver: LiveDriver) -> None:
        now = time.monotonic()
        if self._live is not None:
            if now - self._last >= 0.25:
                self._last = now
                self._live.update(_books_table(driver, "paper trading", self._cash))
        elif now - self._last >= 5.0:
            self._last = now
            kernel = driver.kernel
            equity = kernel.portfolio.equity(kernel.latest_closes())
            stamp = pd.Timestamp(driver.last_ts, tz="UTC") if driver.last_ts else "-"
            base.print_plain(f"  {stamp}: {driver.cycles:,} bars, equity {equity:,.2f}")


def _books_table(driver: LiveDriver, title: str, cash: float) -> Table:
    kernel = driver.kernel
    portfolio = kernel.portfolio
    equity = portfolio.equity(kernel.latest_closes())
    table = Table(title=title)
    table.add_column("")
    table.add_column("value", justify="right")
    if driver.last_ts is not None:
        table.add_row("bar", str(pd.Timestamp(driver.last_ts, tz="UTC")))
    table.add_row("equity", f"{equity:,.2f}")
    table.add_row("P&L", f"{equity - cash:+,.2f}")
    table.add_row("cash", f"{portfolio.cash:,.2f}")
    for symbol, quantity in sorted(portfolio.quantities.items()):
        table.add_row(f"position {symbol}", f"{quantity:g}")
    table.add_row("orders sent", f"{len(kernel.orders):,}")
    table.add_row("working orders", f"{len(kernel.working):,}")
    level = "normal" if driver.gate is None else driver.gate.registry.level.label
    table.add_row("degradation", level)
    from alphagate.app.model_health import monitor_of
    from alphagate.strategies.model import ModelStrategy

    strategy = kernel.strategy
    monitor = monitor_of(strategy) if isinstance(strategy, ModelStrategy) else None
    if monitor is not None:
        table.add_row("model", monitor.summary())
    return table


@paper_cli.command("status")
def status(
    ctx: typer.Context,
    run: RunOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    runs_dir: RunsDirOption = Path("runs"),
    overrides: SetOption = None,
) -> None:
    """Positions, cash, orders, degradation, kill switch and model staleness of a session."""
    if run is None:
        raise typer.BadParameter("paper status needs --run RUN_ID")
    from alphagate.app import paper as paper_app

    settings = base.settings_of(ctx, overrides)
    found: dict[str, Any] = paper_app.session_status(settings, runs_dir, run)
    if as_json:
        base.print_plain(json.dumps(found, indent=2, sort_keys=True, default=str))
        return
    table = Table(title=f"paper session of {run}")
    table.add_column("")
    table.add_column("value", justify="right")
    for key in ("last_ts", "cycles", "cash", "orders_sent", "degradation"):
        value = found.get(key)
        if key == "last_ts" and value is not None:
            value = pd.Timestamp(value, tz="UTC")
        table.add_row(key.replace("_", " "), "-" if value is None else str(value))
    for symbol, quantity in found.get("positions", {}).items():
        table.add_row(f"position {symbol}", f"{quantity:g}")
    table.add_row("open orders", str(len(found.get("open_orders", []))))
    switch = found["kill_switch"]
    table.add_row("kill switch", f"tripped: {switch['reason']}" if switch["tripped"] else "ok")
    model = found.get("model", {})
    for column, entry in model.get("columns", {}).items():
        reasons = "; ".join(entry["reasons"])
        table.add_row(f"model {column}", f"{entry['verdict']} since {entry['since']}: {reasons}")
    table.add_row("retrain", "yes: a model is stale" if model.get("retrain") else "no")
    base.console.print(table)
