"""``alphagate pipeline run``, ``status`` and ``show``.

Progress goes to stderr (live on a terminal, plain lines in a log); the
summary table goes to stdout.

Exit codes: 0 when every selected stage ran or was reused (whatever the
validation verdict: a failed check is a finding, reported in the table and in
``validation_report.json``, not a crash); 1 when a stage failed or the request
was wrong; 130 on Ctrl-C, whose half-written stage is removed by the next run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alphagate.cli import root as base
from alphagate.cli.root import EndOption, SetOption, StartOption, SymbolsOption
from alphagate.config import Settings
from alphagate.errors import AlphagateError

if TYPE_CHECKING:
    from alphagate.pipeline import StageState

# The pipeline package and its Rich progress display are imported by the
# commands below, not here: every other command (a backtest, say) imports this
# module to register them and should not pay for what it never runs.

pipeline_cli = typer.Typer(
    help="Run the research pipeline (data to validation) with checkpoints.",
    no_args_is_help=True,
)

base.cli.add_typer(pipeline_cli, name="pipeline")

RunIdOption = Annotated[
    str | None,
    typer.Option(
        "--run-id", help="Run folder name; default: derived from the config and selection."
    ),
]
LocalConfigOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--config",
        "-c",
        help="YAML file merged over the others (after any given before `pipeline`); repeatable.",
        exists=True,
        dir_okay=False,
    ),
]


class StageFailedError(AlphagateError):
    """A stage raised; the summary was printed, this is the one-line reason."""


@pipeline_cli.command("run")
def pipeline_run(
    ctx: typer.Context,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Run only this stage (its inputs must exist).")
    ] = None,
    from_stage: Annotated[
        str | None,
        typer.Option("--from-stage", help="Re-run this stage and every later one, even if cached."),
    ] = None,
    symbols: SymbolsOption = None,
    start: StartOption = None,
    end: EndOption = None,
    config: LocalConfigOption = None,
    run_id: RunIdOption = None,
    overrides: SetOption = None,
) -> None:
    """Run data -> features -> ... -> stress -> report -> candidate, reusing what is unchanged.

    Each stage is written to runs/<run_id>/<stage>/ with a manifest; a stage
    whose inputs, configuration and code are unchanged is reported as cached.
    """
    from alphagate.app import pipeline as pipeline_app  # training and MLflow: seconds to import
    from alphagate.pipeline.progress import RichReporter, summary_table, validation_table

    settings = base.settings_of(ctx, overrides, config)
    selection = pipeline_app.selection_of(settings, _split(symbols), start, end)
    try:
        with RichReporter(base.error_console) as reporter:
            result = pipeline_app.run(
                settings,
                selection,
                run_id=run_id,
                only=stage,
                from_stage=from_stage,
                reporter=reporter,
            )
    except KeyboardInterrupt:
        base.error_console.print(
            "interrupted: the stage in progress was not completed; its scratch directory is "
            "removed and the stage re-run by the next `alphagate pipeline run`",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(130) from None
    base.console.print(summary_table(result))
    failed = result.failed
    if failed is not None:
        raise StageFailedError(
            f"stage {failed.name!r} failed: {failed.error} "
            f"(traceback: {failed.directory / 'traceback.txt'}, kept until the next run)"
        )
    report = result.run_dir / "validate" / "validation_report.json"
    if report.is_file():
        verdict = json.loads(report.read_text(encoding="utf-8"))
        base.console.print(validation_table(result.run_dir.name, verdict))
        base.print_plain(f"validation report: {report}")
    page = result.run_dir / "report" / "report.html"
    if page.is_file():
        base.print_plain(f"HTML report: {page}")
    _print_candidate(result.run_dir)


def _print_candidate(run_dir: Path) -> None:
    """Where the run stopped in the promotion gates, and why (the candidate stage's record)."""
    from alphagate.app.pipeline_stages import CANDIDATE_FILE, candidate_line

    record = run_dir / "candidate" / CANDIDATE_FILE
    if record.is_file():
        base.print_plain(candidate_line(json.loads(record.read_text(encoding="utf-8"))))
        base.print_plain("the gates from here: `alphagate gates status`, `alphagate gates run`")


@pipeline_cli.command("status")
def pipeline_status(
    ctx: typer.Context,
    symbols: SymbolsOption = None,
    start: StartOption = None,
    end: EndOption = None,
    config: LocalConfigOption = None,
    run_id: RunIdOption = None,
    overrides: SetOption = None,
) -> None:
    """Show each stage of a run: complete, stale (and why), interrupted or missing."""
    from alphagate.pipeline.progress import status_table

    settings = base.settings_of(ctx, overrides, config)
    name, states = _inspect(settings, symbols, start, end, run_id)
    base.console.print(status_table(name, states))


@pipeline_cli.command("show")
def pipeline_show(
    ctx: typer.Context,
    symbols: SymbolsOption = None,
    start: StartOption = None,
    end: EndOption = None,
    config: LocalConfigOption = None,
    run_id: RunIdOption = None,
    overrides: SetOption = None,
) -> None:
    """Print a run's validation table and where its HTML report is."""
    from alphagate.pipeline.progress import validation_table

    settings = base.settings_of(ctx, overrides, config)
    name, _ = _inspect(settings, symbols, start, end, run_id)
    run_dir = settings.pipeline.runs_dir / name
    report = run_dir / "validate" / "validation_report.json"
    if not report.is_file():
        raise AlphagateError(
            f"run {name} has no validation report yet; run `alphagate pipeline run` first"
        )
    base.console.print(validation_table(name, json.loads(report.read_text(encoding="utf-8"))))
    page = run_dir / "report" / "report.html"
    where = page.resolve().as_uri() if page.is_file() else "not rendered yet (stage report)"
    base.print_plain(f"report: {where}")


def _inspect(
    settings: Settings,
    symbols: list[str] | None,
    start: str | None,
    end: str | None,
    run_id: str | None,
) -> tuple[str, list[StageState]]:
    """The run the options name and its stages' states.

    With only ``--run-id``, the run is judged by the selection it was started
    with; any selection option (or none at all) derives the selection anew.
    """
    from alphagate.app import pipeline as pipeline_app

    chosen = _split(symbols)
    selection = None
    if chosen or start or end or run_id is None:
        selection = pipeline_app.selection_of(settings, chosen, start, end)
    return pipeline_app.status(settings, selection, run_id)


def _split(values: list[str] | None) -> list[str]:
    """``--symbols A,B --symbols C`` -> ``[A, B, C]``."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]
