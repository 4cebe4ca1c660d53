"""``alphagate train``, ``evaluate`` and ``calibrate``: models per horizon and their review.

Training and MLflow load in seconds; they are imported by the commands that
use them, so ``alphagate --help`` starts fast.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.table import Table

from alphagate.app import research
from alphagate.cli import root as base
from alphagate.cli.research import InputOption, parse_horizons
from alphagate.cli.root import (
    CalendarOption,
    EndOption,
    SetOption,
    StartOption,
    SymbolsOption,
    TimeframeOption,
)

if TYPE_CHECKING:
    from rich.progress import TaskID


@base.cli.command("train")
def train(
    ctx: typer.Context,
    model: Annotated[
        Literal["logreg", "lightgbm", "catboost", "cnn_lstm", "tft", "nbeats", "ensemble"],
        typer.Option(
            help="Model family; cnn_lstm, tft and nbeats are PyTorch nets with Beta outputs, "
            "sized by pipeline.deep (e.g. --set pipeline.deep.epochs=5); ensemble combines "
            "the --members."
        ),
    ] = "lightgbm",
    members: Annotated[
        str | None,
        typer.Option(help="With --model ensemble: comma-separated member families."),
    ] = None,
    horizons: Annotated[
        str | None, typer.Option(help="Comma-separated horizons in bars; default labels.horizons.")
    ] = None,
    trials: Annotated[int, typer.Option(help="Optuna trials per horizon (0: defaults).")] = 0,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Workers sharing each horizon's trials through training.optuna_storage, run "
            "where parallel.backend says; more than 1 is faster but not reproducible trial "
            "for trial (docs/scale.md).",
        ),
    ] = 1,
    seed: Annotated[int, typer.Option(help="Seed for splits, models and search.")] = 7,
    calibration: Annotated[
        Literal["isotonic", "sigmoid", "temperature"],
        typer.Option(help="Calibrator fitted on out-of-fold predictions."),
    ] = "isotonic",
    runs_dir: Annotated[Path, typer.Option(help="Where runs/<run_id>/ goes.")] = Path("runs"),
    run_id: Annotated[str | None, typer.Option(help="Name of the run; default time-hash.")] = None,
    input_file: InputOption = None,
    symbol: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    calendar: CalendarOption = None,
    start: StartOption = None,
    end: EndOption = None,
    overrides: SetOption = None,
) -> None:
    """Train, calibrate and evaluate one model per horizon; track in MLflow; register it."""
    settings = base.settings_of(ctx, overrides)
    began = time.perf_counter()
    loaded = research.load_input(
        settings,
        path=input_file,
        symbols=symbol or (),
        timeframe=timeframe,
        calendar=calendar,
        say=base.print_plain,
        start=start,
        end=end,
    )
    bars, settings = loaded.bars, loaded.settings
    chosen = parse_horizons(horizons) if horizons else list(settings.labels.horizons)
    if trials < 0:
        raise typer.BadParameter("--trials must not be negative")
    chosen_members = _members(model, members, trials)

    def say(message: str) -> None:
        base.error_console.print(
            f"[dim]{time.perf_counter() - began:6.1f}s[/dim] {message}", highlight=False
        )

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from alphagate.app import train as training_run

    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=base.error_console, transient=True, disable=trials == 0,
    ) as bars_of_trials:  # fmt: skip
        tasks: dict[int, TaskID] = {}

        def trial_done(horizon: int, finished: int, total: int) -> None:
            if horizon not in tasks:
                tasks[horizon] = bars_of_trials.add_task(f"h={horizon} trials", total=total)
            bars_of_trials.update(tasks[horizon], completed=finished)

        result = training_run.run_training(
            settings,
            bars,
            family=model,
            horizons=chosen,
            trials=trials,
            seed=seed,
            calibration=calibration,
            runs_dir=runs_dir,
            run_id=run_id,
            progress=say,
            members=chosen_members,
            workers=workers,
            on_trial=trial_done,
        )
    table = Table(title=f"{model}: out-of-sample (holdout) metrics, run {result.run_id}")
    for column in ("horizon", "accuracy", "roc_auc", "ece raw", "ece calibrated", "ic", "model"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for h in chosen:
        entry = result.manifest["per_horizon"][str(h)]
        calibrated, raw = entry["holdout"], entry["holdout_raw"]
        name, version = result.model_versions[h]
        table.add_row(
            str(h),
            _number(calibrated.get("accuracy")),
            _number(calibrated.get("roc_auc")),
            _number(raw.get("ece_uniform")),
            _number(calibrated.get("ece_uniform")),
            _number(calibrated.get("ic")),
            f"{name} v{version}",
        )
    base.console.print(table)
    base.print_plain(f"artifacts: {result.directory}")


def _members(model: str, members: str | None, trials: int) -> list[str]:
    """The ``--members`` list, checked against ``--model`` before any data is read."""
    names = [name.strip() for name in (members or "").split(",") if name.strip()]
    if model != "ensemble":
        if names:
            raise typer.BadParameter("--members needs --model ensemble", param_hint="--members")
        return []
    from alphagate.models.ensemble import parse_members

    try:
        parse_members(names)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--members") from None
    if trials > 0:
        raise typer.BadParameter(
            "an ensemble has no search space; use --trials 0", param_hint="--trials"
        )
    return names


RunOption = Annotated[
    str, typer.Option("--run", help="Run id under --runs-dir (from `train` or `pipeline run`).")
]
RunsDirOption = Annotated[Path, typer.Option(help="Where runs/<run_id>/ lives.")]


@base.cli.command("evaluate")
def evaluate_command(run: RunOption, runs_dir: RunsDirOption = Path("runs")) -> None:
    """Print a run's out-of-sample evaluation per horizon, raw and calibrated."""
    from alphagate.app import review

    evaluations = review.run_evaluations(runs_dir, run)
    keys = ("accuracy", "roc_auc", "log_loss", "brier", "ece_uniform", "ic", "strategy_sharpe")
    table = Table(title=f"run {run}: holdout evaluation (raw / calibrated)")
    table.add_column("horizon", justify="right")
    for key in keys:
        table.add_column(key, justify="right")
    for horizon, evaluation in evaluations.items():
        raw, calibrated = evaluation["raw"], evaluation["calibrated"]
        cells = [f"{_number(raw.get(k))} / {_number(calibrated.get(k))}" for k in keys]
        table.add_row(str(horizon), *cells)
    base.console.print(table)


@base.cli.command("calibrate")
def calibrate_command(
    run: RunOption,
    method: Annotated[
        Literal["isotonic", "sigmoid", "temperature"],
        typer.Option(help="Calibrator to fit on the run's out-of-fold predictions."),
    ] = "sigmoid",
    runs_dir: RunsDirOption = Path("runs"),
) -> None:
    """Refit a run's calibrators on its out-of-fold predictions and re-judge the holdout."""
    from alphagate.app import review

    outcome = review.recalibrate_run(runs_dir, run, method)
    before, after = outcome.before, outcome.after
    table = Table(title=f"run {run}: holdout calibration, saved calibrator vs {method}")
    for column in ("horizon", "ece saved", f"ece {method}", "log loss saved", f"log loss {method}"):
        table.add_column(column, justify="right")
    for horizon, evaluation in after.items():
        saved = before[horizon]["calibrated"]
        table.add_row(
            str(horizon),
            _number(saved.get("ece_uniform")),
            _number(evaluation.get("ece_uniform")),
            _number(saved.get("log_loss")),
            _number(evaluation.get("log_loss")),
        )
    base.console.print(table)
    folders = ", ".join(str(folder) for folder in outcome.folders.values())
    base.print_plain(f"wrote calibrator-{method}.json and evaluation-{method}.json in {folders}")


def _number(value: object) -> str:
    return "—" if not isinstance(value, int | float) else f"{value:.4f}"
