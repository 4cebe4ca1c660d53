"""``alphagate stress``: a candidate through the seeded scenario library, and the library itself.

``stress run`` names one candidate (a training run or a rule strategy) and
writes ``stress_summary.json`` and ``stress_report.html``; the exit status
is 1 when the stress gate fails, so a script can stop on it. ``stress
scenarios`` lists, shows and plots the library's scenarios. The generator and
the runner are imported by these commands alone.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from alphagate.app import research
from alphagate.cli import root as base
from alphagate.cli.root import CalendarOption, EndOption, SetOption, StartOption, SymbolsOption
from alphagate.cli.train import RunsDirOption

stress_cli = typer.Typer(help="Stress-test a candidate on seeded scenarios.", no_args_is_help=True)
scenarios_cli = typer.Typer(help="The scenario library: list, show, plot.", no_args_is_help=True)
stress_cli.add_typer(scenarios_cli, name="scenarios")
base.cli.add_typer(stress_cli, name="stress")


def _families(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(part.strip() for part in text.split(",") if part.strip())


@stress_cli.command("run")
def run(
    ctx: typer.Context,
    run_id: Annotated[
        str | None, typer.Option("--run", help="Training run id (from `alphagate train`).")
    ] = None,
    strategy: Annotated[
        str | None, typer.Option(help="A rule strategy instead of a run, e.g. sma_cross.")
    ] = None,
    params: Annotated[
        str | None, typer.Option(help="Strategy parameters, e.g. fast=10,slow=30.")
    ] = None,
    scenarios: Annotated[
        int | None, typer.Option(help="Scenarios to run [default: stress.scenarios, 200].")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Library seed [default: stress.seed].")] = None,
    families: Annotated[
        str | None, typer.Option(help="Comma-separated families [default: all].")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes [default: one per CPU].")
    ] = None,
    output: Annotated[Path, typer.Option(help="Folder for the summary and report.")] = Path(
        "stress"
    ),
    data: Annotated[
        Path | None, typer.Option(help="Bars file (CSV/Parquet) instead of the store.")
    ] = None,
    symbol: SymbolsOption = None,
    calendar: CalendarOption = None,
    start: StartOption = None,
    end: EndOption = None,
    runs_dir: RunsDirOption = Path("runs"),
    overrides: SetOption = None,
) -> None:
    """Run a candidate through every scenario; write stress_summary.json and stress_report.html."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from alphagate.app import backtest as backtesting_app
    from alphagate.app import stress as stress_app

    if (run_id is None) == (strategy is None):
        raise typer.BadParameter("name one candidate: --run RUN_ID or --strategy NAME")
    if run_id is not None and params is not None:
        raise typer.BadParameter("--params goes with --strategy; a run brings its own settings")
    settings = base.settings_of(ctx, overrides)
    loaded = research.load_input(
        settings, path=data, symbols=symbol or (), calendar=calendar, start=start, end=end,
        tolerate_gaps=True, say=base.print_plain,
    )  # fmt: skip
    request = stress_app.StressRequest(
        run_id=run_id,
        strategy=strategy,
        params=backtesting_app.parse_params(params),
        scenarios=scenarios,
        seed=seed,
        families=_families(families),
        workers=workers,
        runs_dir=runs_dir,
    )
    total = scenarios or loaded.settings.stress.scenarios
    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=base.console, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("scenarios", total=total)

        def heard(_: int, outcome: Any) -> None:
            progress.update(task, advance=1, description=f"{outcome.family}: {outcome.name}")

        result = stress_app.run_stress(
            loaded.settings, loaded.bars, request, output, loaded.settings.data.calendar,
            on_result=heard,
        )  # fmt: skip
    _print_summary(result.summary, result.family_seconds)
    base.print_plain(f"wrote {result.summary_path} and {result.report_path}")
    base.print_plain(f"done in {result.seconds:.1f}s")
    if not result.summary["gate"]["passed"]:
        raise typer.Exit(1)


def _print_summary(summary: dict[str, Any], family_seconds: dict[str, float]) -> None:
    stats, gate = summary["statistics"], summary["gate"]
    table = Table(title=f"stress: {stats['scenarios']} scenarios")
    for column in ("family", "scenarios", "profitable", "median Sharpe", "worst DD", "seconds"):
        table.add_column(column, justify="left" if column == "family" else "right")
    for name, row in summary["families"].items():
        table.add_row(
            name, str(row["scenarios"]), f"{row['share_profitable']:.0%}",
            f"{row['median_sharpe']:.2f}", f"{row['worst_drawdown']:.1%}",
            f"{family_seconds.get(name, 0.0):.1f}",
        )  # fmt: skip
    base.console.print(table)
    for check in gate["checks"]:
        word = "pass" if check["passed"] else "FAIL"
        base.print_plain(f"  {check['name']}: {check['value']:.4g} vs {check['threshold']} {word}")
    base.print_plain(f"stress gate: {'PASSED' if gate['passed'] else 'FAILED'}")


@scenarios_cli.command("list")
def list_scenarios(
    ctx: typer.Context,
    scenarios: Annotated[int | None, typer.Option(help="Library size.")] = None,
    seed: Annotated[int | None, typer.Option(help="Library seed.")] = None,
    families: Annotated[str | None, typer.Option(help="Comma-separated families.")] = None,
    overrides: SetOption = None,
) -> None:
    """List the library's scenarios: name, family, seed."""
    from alphagate.stress import scenarios as generator  # type: ignore[attr-defined, unused-ignore]

    stress = base.settings_of(ctx, overrides).stress
    specs = generator.default_library(
        scenarios or stress.scenarios,
        seed=stress.seed if seed is None else seed,
        families=_families(families) or (stress.families or None),
    )
    table = Table(title=f"{len(specs)} scenarios")
    for column in ("name", "family", "seed"):
        table.add_column(column)
    for spec in specs:
        table.add_row(spec.name, spec.family, str(spec.seed))
    base.console.print(table)


def _find(ctx: typer.Context, name: str, overrides: list[str] | None) -> Any:
    from alphagate.stress import scenarios as generator  # type: ignore[attr-defined, unused-ignore]

    stress = base.settings_of(ctx, overrides).stress
    specs = {s.name: s for s in generator.default_library(stress.scenarios, seed=stress.seed)}
    if name not in specs:
        import difflib

        close = difflib.get_close_matches(name, specs, n=1)
        hint = (
            f"; did you mean {close[0]!r}?" if close else "; see `alphagate stress scenarios list`"
        )
        raise typer.BadParameter(f"no scenario named {name!r}{hint}")
    return generator, specs[name]


@scenarios_cli.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Scenario name, from `stress scenarios list`.")],
    overrides: SetOption = None,
) -> None:
    """Show one scenario: family, seed and parameters (the generator's description)."""
    generator, spec = _find(ctx, name, overrides)
    describe = getattr(generator, "describe", None)
    if describe is not None:
        base.print_plain(str(describe(spec)))
        return
    base.print_plain(f"{spec.name}: family {spec.family}, seed {spec.seed}")
    for key, value in sorted(spec.params.items()):
        base.print_plain(f"  {key} = {value}")


@scenarios_cli.command("plot")
def plot(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Scenario name, from `stress scenarios list`.")],
    output: Annotated[Path, typer.Option(help="Where to write the plot (PNG).")] = Path(
        "scenario.png"
    ),
    data: Annotated[Path | None, typer.Option(help="Bars file instead of the store.")] = None,
    symbol: SymbolsOption = None,
    overrides: SetOption = None,
) -> None:
    """Plot a scenario's closes built from the stored history, the original dashed (PNG)."""
    from alphagate.stress import plots  # type: ignore[attr-defined, unused-ignore]

    generator, spec = _find(ctx, name, overrides)
    settings = base.settings_of(ctx, overrides)
    bars = research.load_input(settings, path=data, symbols=symbol or (), tolerate_gaps=True).bars
    train_end = bars.index.get_level_values("ts").max()
    scenario = generator.build(spec, bars, train_end=train_end)
    began = time.perf_counter()
    written = plots.plot(scenario, output, original=bars)
    base.print_plain(f"wrote {written or output} in {time.perf_counter() - began:.1f}s")
