"""``alphagate features`` and ``alphagate labels``: point-in-time frames from the bars."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Literal

import typer

from alphagate.app import research
from alphagate.cli import root as base
from alphagate.cli.root import (
    CalendarOption,
    EndOption,
    SetOption,
    StartOption,
    SymbolsOption,
    TimeframeOption,
)

features_cli = typer.Typer(help="Build point-in-time features.", no_args_is_help=True)
labels_cli = typer.Typer(help="Make training labels and calibrate barriers.", no_args_is_help=True)
base.cli.add_typer(features_cli, name="features")
base.cli.add_typer(labels_cli, name="labels")

InputOption = Annotated[
    Path | None,
    typer.Option(
        "--input", help="Bars file (CSV/Parquet), checked like an ingest; default: the store."
    ),
]


@features_cli.command("build")
def features_build(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option(help="Parquet (or .csv) file to write.")],
    input_file: InputOption = None,
    symbol: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    calendar: CalendarOption = None,
    start: StartOption = None,
    end: EndOption = None,
    profile: Annotated[
        str | None, typer.Option(help="Feature profile: short, medium, long.")
    ] = None,
    overrides: SetOption = None,
) -> None:
    """Build a feature profile for stored bars or a bars file; write `symbol, ts, features...`."""
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
    with base.error_console.status("building features", spinner="dots"):
        features = research.build_feature_frame(settings, bars, profile)
    research.write_frame(features, output)
    base.print_plain(
        f"{len(features):,} rows x {features.shape[1]} features for "
        f"{len(features.index.get_level_values('symbol').unique())} symbol(s) -> {output} "
        f"({time.perf_counter() - began:.1f}s)"
    )


@labels_cli.command("build")
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
    calendar: CalendarOption = None,
    start: StartOption = None,
    end: EndOption = None,
    overrides: SetOption = None,
) -> None:
    """Make labels (each with `t1`, when its outcome is known) and write them.

    Triple-barrier labels use the multiples saved by `labels calibrate`, or --pt and --sl.
    """
    settings = base.settings_of(ctx, overrides)
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
    parsed = parse_horizons(horizons) if horizons else None
    if (pt is None) != (sl is None):
        raise typer.BadParameter("--pt and --sl go together")
    barriers = None
    if pt is not None and sl is not None:
        barriers = research.given_barriers(settings, pt, sl)
    labels = research.build_label_frame(settings, bars, kind, horizons=parsed, barriers=barriers)
    research.write_frame(labels, output)
    base.print_plain(f"{len(labels):,} rows x {labels.shape[1]} label columns -> {output}")


@labels_cli.command("calibrate")
def labels_calibrate(
    ctx: typer.Context,
    train_end: Annotated[
        str, typer.Option(help="Last date of the training period; later bars are never read.")
    ],
    input_file: InputOption = None,
    symbol: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    calendar: CalendarOption = None,
    start: StartOption = None,
    overrides: SetOption = None,
) -> None:
    """Choose triple-barrier multiples on training data only and save them."""
    settings = base.settings_of(ctx, overrides)
    loaded = research.load_input(
        settings,
        path=input_file,
        symbols=symbol or (),
        timeframe=timeframe,
        calendar=calendar,
        say=base.print_plain,
        start=start,
    )
    bars, settings = loaded.bars, loaded.settings
    choice = research.calibrate_barriers(settings, bars, train_end)
    shares = ", ".join(f"{name} {share:.1%}" for name, share in choice.class_shares.items())
    base.print_plain(
        f"pt = sl = {choice.pt:g} x volatility, horizon {choice.horizon} bars; "
        f"training class shares: {shares} -> {settings.labels.barriers_file}"
    )


def parse_horizons(text: str) -> list[int]:
    try:
        horizons = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"horizons must be whole numbers separated by commas: {text!r}"
        ) from None
    if not horizons or any(h < 1 for h in horizons):
        raise typer.BadParameter(f"horizons must be positive whole numbers: {text!r}")
    return horizons
