"""The research and run commands: features, labels, train, evaluate, calibrate, backtest.

Split from ``cli.py`` to keep each module one room; the commands register on
the same Typer app. Consoles are read from ``alphagate.cli`` at call time
(``base.console``), so there is one place that decides how output looks.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.table import Table

from alphagate import cli as base
from alphagate import research
from alphagate.cli import EndOption, StartOption, SymbolsOption, TimeframeOption
from alphagate.cyclic_gc import cyclic_gc_paused

if TYPE_CHECKING:
    from alphagate import model_backtest

# Training, MLflow and the model path load in seconds; they are imported by the
# commands that use them, so `alphagate --help` and `alphagate backtest` start fast.
# The backtest composition (event engine, Plotly for the report) is imported by
# `backtest` alone for the same reason: no other command runs it.

InputOption = Annotated[
    Path | None,
    typer.Option(
        "--input", help="Bars file (CSV/Parquet), checked like an ingest; default: the store."
    ),
]


@base.features_cli.command("build")
def features_build(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option(help="Parquet (or .csv) file to write.")],
    input_file: InputOption = None,
    symbol: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    start: StartOption = None,
    end: EndOption = None,
    profile: Annotated[
        str | None, typer.Option(help="Feature profile: short, medium, long.")
    ] = None,
) -> None:
    """Build a feature profile for stored bars or a bars file; write `symbol, ts, features...`."""
    settings = base.settings_of(ctx)
    began = time.perf_counter()
    bars = research.load_bars(
        settings, path=input_file, symbols=symbol or (), timeframe=timeframe, start=start, end=end
    )
    with base.error_console.status("building features", spinner="dots"):
        features = research.build_feature_frame(settings, bars, profile)
    research.write_frame(features, output)
    base.console.print(
        f"{len(features):,} rows x {features.shape[1]} features for "
        f"{len(features.index.get_level_values('symbol').unique())} symbol(s) -> {output} "
        f"({time.perf_counter() - began:.1f}s)",
        markup=False,
        highlight=False,
    )


@base.labels_cli.command("build")
def labels_build(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option(help="Parquet (or .csv) file to write.")],
    kind: Annotated[
        Literal["fixed", "triple"],
        typer.Option(help="Fixed-horizon returns and signs, or triple-barrier outcomes."),
    ] = "fixed",
    horizons: Annotated[
        str | None, typer.Option(help="Comma-separated horizons in bars, e.g. 1,5,20.")
    ] = None,
    pt: Annotated[
        float | None, typer.Option(help="Upper barrier, in volatility multiples (with --sl).")
    ] = None,
    sl: Annotated[
        float | None, typer.Option(help="Lower barrier, in volatility multiples (with --pt).")
    ] = None,
    input_file: InputOption = None,
    symbol: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    start: StartOption = None,
    end: EndOption = None,
) -> None:
    """Make labels (each with `t1`, when its outcome is known) and write them.

    Triple-barrier labels use the multiples saved by `labels calibrate`, or --pt and --sl.
    """
    settings = base.settings_of(ctx)
    bars = research.load_bars(
        settings, path=input_file, symbols=symbol or (), timeframe=timeframe, start=start, end=end
    )
    parsed = _parse_horizons(horizons) if horizons else None
    if (pt is None) != (sl is None):
        raise typer.BadParameter("--pt and --sl go together")
    barriers = None
    if pt is not None and sl is not None:
        barriers = research.given_barriers(settings, pt, sl)
    labels = research.build_label_frame(settings, bars, kind, horizons=parsed, barriers=barriers)
    research.write_frame(labels, output)
    base.console.print(
        f"{len(labels):,} rows x {labels.shape[1]} label columns -> {output}",
        markup=False,
        highlight=False,
    )


@base.labels_cli.command("calibrate")
def labels_calibrate(
    ctx: typer.Context,
    train_end: Annotated[
        str, typer.Option(help="Last date of the training period; later bars are never read.")
    ],
    input_file: InputOption = None,
    symbol: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    start: StartOption = None,
) -> None:
    """Choose triple-barrier multiples on training data only and save them."""
    settings = base.settings_of(ctx)
    bars = research.load_bars(
        settings, path=input_file, symbols=symbol or (), timeframe=timeframe, start=start
    )
    choice = research.calibrate_barriers(settings, bars, train_end)
    shares = ", ".join(f"{name} {share:.1%}" for name, share in choice.class_shares.items())
    base.console.print(
        f"pt = sl = {choice.pt:g} x volatility, horizon {choice.horizon} bars; "
        f"training class shares: {shares} -> {settings.labels.barriers_file}",
        markup=False,
        highlight=False,
    )


@base.cli.command("train")
def train(
    ctx: typer.Context,
    model: Annotated[
        Literal["logreg", "lightgbm", "catboost"], typer.Option(help="Model family.")
    ] = "lightgbm",
    horizons: Annotated[
        str | None, typer.Option(help="Comma-separated horizons in bars; default labels.horizons.")
    ] = None,
    trials: Annotated[int, typer.Option(help="Optuna trials per horizon (0: defaults).")] = 0,
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
    start: StartOption = None,
    end: EndOption = None,
) -> None:
    """Train, calibrate and evaluate one model per horizon; track in MLflow; register it."""
    settings = base.settings_of(ctx)
    began = time.perf_counter()
    bars = research.load_bars(
        settings, path=input_file, symbols=symbol or (), timeframe=timeframe, start=start, end=end
    )
    chosen = _parse_horizons(horizons) if horizons else list(settings.labels.horizons)
    if trials < 0:
        raise typer.BadParameter("--trials must not be negative")

    def say(message: str) -> None:
        base.error_console.print(
            f"[dim]{time.perf_counter() - began:6.1f}s[/dim] {message}", highlight=False
        )

    from alphagate import training_run

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
    base.console.print(f"artifacts: {result.directory}", markup=False, highlight=False)


RunOption = Annotated[str, typer.Option("--run", help="Run id under --runs-dir.")]
RunsDirOption = Annotated[Path, typer.Option(help="Where runs/<run_id>/ lives.")]


@base.cli.command("evaluate")
def evaluate_command(run: RunOption, runs_dir: RunsDirOption = Path("runs")) -> None:
    """Print a training run's out-of-sample evaluation per horizon, raw and calibrated."""
    from alphagate import training_review

    evaluations = training_review.run_evaluations(training_review.stage_directory(runs_dir, run))
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
    from alphagate import training_review

    directory = training_review.stage_directory(runs_dir, run)
    before = training_review.run_evaluations(directory)
    after = training_review.recalibrate(directory, method)
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
    base.console.print(
        f"wrote calibrator-{method}.json and evaluation-{method}.json in {directory}"
    )


def _number(value: object) -> str:
    return "—" if not isinstance(value, int | float) else f"{value:.4f}"


@base.cli.command("backtest")
def backtest(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option(help="Folder for metrics, equity, trades, report.")],
    strategy: Annotated[
        str,
        typer.Option(
            help="buy_and_hold, sma_cross, rsi_mean_reversion, bollinger_breakout, or model "
            "(a training run through the decision path; needs --run)."
        ),
    ] = "sma_cross",
    params: Annotated[
        str | None, typer.Option(help="Strategy parameters, e.g. fast=10,slow=30.")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Bars file (CSV/Parquet) instead of the store.")
    ] = None,
    symbol: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    start: StartOption = None,
    end: EndOption = None,
    fill_model: Annotated[
        Literal["next_open", "close", "conservative"] | None,
        typer.Option(
            help="How orders fill: next bar's open, its close, or adverse costs "
            "[default: next_open; conservative for model]."
        ),
    ] = None,
    commission_bps: Annotated[
        float | None,
        typer.Option(help="Commission, bps of notional [default: 0; 1 for model]."),
    ] = None,
    cash: Annotated[float, typer.Option(help="Starting cash.")] = 10_000.0,
    units: Annotated[
        Literal["whole", "fractional"] | None,
        typer.Option(
            help="Round quantities to whole units? [default: whole; fractional for model]."
        ),
    ] = None,
    engine: Annotated[
        Literal["event", "vector"],
        typer.Option(help="event: the engine live trading runs; vector: one symbol, fast."),
    ] = "event",
    run: Annotated[
        str | None, typer.Option("--run", help="Training run id, for --strategy model.")
    ] = None,
    runs_dir: RunsDirOption = Path("runs"),
    ablate: Annotated[
        bool,
        typer.Option(help="With --strategy model: rerun with each decision step switched off."),
    ] = False,
) -> None:
    """Backtest a built-in strategy or a trained model run; write outputs and report.html."""
    settings = base.settings_of(ctx)
    began = time.perf_counter()
    if strategy != "model" and (run is not None or ablate):
        raise typer.BadParameter("--run and --ablate go with --strategy model")
    if strategy == "model" and run is None:
        raise typer.BadParameter("--strategy model needs --run RUN_ID (see `alphagate train`)")
    if strategy == "model" and engine != "event":
        raise typer.BadParameter("--strategy model runs on the event engine only")
    load = partial(
        research.load_bars,
        settings,
        path=data,
        symbols=symbol or (),
        timeframe=timeframe,
        start=start,
        end=end,
    )
    if run is not None:
        bars = load()
        from alphagate import model_backtest
        from alphagate.engine.decision_settings import DecisionSettings

        model_request = model_backtest.ModelBacktestRequest(
            run_id=run,
            runs_dir=runs_dir,
            cash=cash,
            commission_bps=1.0 if commission_bps is None else commission_bps,
            fill_model=fill_model or "conservative",
            decision=DecisionSettings(whole_units=units == "whole"),
            ablate=ablate,
        )
        outcome = model_backtest.run_model_backtest(
            settings, bars, model_request, output, settings.data.calendar
        )
        _print_model_backtest(outcome, output)
        base.console.print(
            f"done in {time.perf_counter() - began:.1f}s", markup=False, highlight=False
        )
        return
    # A rule-based run leaves no garbage in cycles worth the collector's passes,
    # so it is paused from loading to the end, when the run's objects are gone
    # (see cyclic_gc); a model run, with a trained model's objects, keeps it.
    with cyclic_gc_paused():
        bars = load()
        from alphagate import backtesting_app

        request = backtesting_app.BacktestRequest(
            strategy=strategy,
            params=backtesting_app.parse_params(params),
            fill_model=fill_model or "next_open",
            commission_bps=commission_bps or 0.0,
            cash=cash,
            units=units or "whole",
            engine=engine,
        )
        result = backtesting_app.run_backtest_request(bars, request, output, settings.data.calendar)
        metrics = result.metrics.to_json_dict()
        table = Table(title=f"{strategy}: {len(bars):,} bars -> {output}")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for name in ("total_return", "cagr", "sharpe", "max_drawdown", "win_rate", "trades"):
            value = metrics[name]
            table.add_row(name, "—" if value is None else f"{value:,.4g}")
        base.console.print(table)
        base.console.print(
            f"done in {time.perf_counter() - began:.1f}s", markup=False, highlight=False
        )
        # Dropped while the collector is still paused: resumed with them alive,
        # its first pass would walk everything the run left (about 50 ms).
        del result, bars


def _print_model_backtest(outcome: model_backtest.ModelBacktestResult, output: Path) -> None:
    """Metrics of the out-of-sample run, the training cuts, and the ablation table if any."""
    metrics = outcome.result.metrics.to_json_dict()
    table = Table(title=f"model, out of sample -> {output}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for h, cut in sorted(outcome.cuts.items()):
        table.add_row(f"h{h} holdout from", f"{cut:%Y-%m-%d}")
    for name in ("total_return", "cagr", "sharpe", "max_drawdown", "turnover", "trades"):
        value = metrics[name]
        table.add_row(name, "—" if value is None else f"{value:,.4g}")
    table.add_row("decisions", f"{len(outcome.decisions):,}")
    table.add_row("risk events", f"{len(outcome.risk_events):,}")
    base.console.print(table)
    if outcome.ablation is None:
        return
    ablation = Table(title="ablation: each decision step switched off in turn")
    for column in ("step off", "sharpe", "max drawdown", "turnover", "trades", "seconds"):
        ablation.add_column(column, justify="left" if column == "step off" else "right")
    for row in outcome.ablation.itertuples(index=False):
        ablation.add_row(
            str(row.step_off),
            _number(row.sharpe),
            _number(row.max_drawdown),
            _number(row.turnover),
            str(row.trades),
            f"{row.seconds:.1f}",
        )
    base.console.print(ablation)


def _parse_horizons(text: str) -> list[int]:
    try:
        horizons = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"horizons must be whole numbers separated by commas: {text!r}"
        ) from None
    if not horizons or any(h < 1 for h in horizons):
        raise typer.BadParameter(f"horizons must be positive whole numbers: {text!r}")
    return horizons
