"""Composition of the research steps the CLI exposes: bars in, features and labels out.

Kept apart from ``app.py`` (ingest, store, database) so each composition
module stays one room; both sit in ring 8 and only wire lower rings together.
Every step reads bars either from the store or from a file (``--input``), so
anyone can check a step from outside on data they hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from alphagate.app.data import SourceRequest, open_source, open_store, parse_instant
from alphagate.config import Settings
from alphagate.data.ingest import read_source
from alphagate.data.refusal import refuse
from alphagate.domain.quality_report import (
    Action,
    DataValidationError,
    QualityReport,
    Rule,
    Violation,
)
from alphagate.errors import DataError

if TYPE_CHECKING:
    from alphagate.labels.calibrate import BarrierChoice

# Features and labels are imported by the functions that build them: the CLI
# imports this module for ``load_bars`` on every command (a backtest among
# them), which needs neither.

LabelKind = Literal["fixed", "triple"]


@dataclass(frozen=True)
class LoadedBars:
    """Bars a command works on, the settings they were read under, and what to tell the user.

    ``settings`` has ``data.timeframe`` and ``data.calendar`` as the bars were
    read (inferred from a file where the user left them open), so the steps
    after the read (features, metrics) follow the same calendar.
    """

    bars: pd.DataFrame
    settings: Settings
    inferred: str | None = None
    gaps: list[Violation] = field(default_factory=list)
    gap_count: int = 0


GAP_POLICY = (
    "the run goes on over the bars as they are: no bar is invented, indicators count bars, "
    "and an order waits for the next bar that exists (set data.quality.gaps=repair to fill "
    "short gaps, or error to refuse them)"
)
"""What ``backtest --data`` does about missing bars inside sessions (docs/data.md)."""


def load_bars(
    settings: Settings,
    *,
    path: Path | None = None,
    symbols: Sequence[str] = (),
    timeframe: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> pd.DataFrame:
    """Bars from a file (checked like an ingest) or from the store, cut to ``[start, end]``.

    ``symbols`` may hold comma-separated lists (``--symbols AAA,BBB`` and
    ``--symbol AAA --symbol BBB`` mean the same).

    Raises
    ------
    DataError
        When no bars match, naming what was asked and what exists.
    """
    loaded = load_input(
        settings, path=path, symbols=symbols, timeframe=timeframe, start=start, end=end
    )
    return loaded.bars


def load_input(
    settings: Settings,
    *,
    path: Path | None = None,
    symbols: Sequence[str] = (),
    timeframe: str | None = None,
    calendar: str | None = None,
    start: str | None = None,
    end: str | None = None,
    tolerate_gaps: bool = False,
    say: Callable[[str], None] | None = None,
) -> LoadedBars:
    """:func:`load_bars`, with the settings the bars were read under and what was inferred.

    A file's bar size, calendar and symbol come from the arguments, then the
    user's settings, then the file itself (see ``data.inference``). One
    ``symbols`` entry names the rows of a file without a symbol column.
    ``tolerate_gaps`` (``backtest --data``) reads missing bars inside
    sessions as warnings, counted in the result, unless the user set
    ``data.quality.gaps``: see :data:`GAP_POLICY`. ``say`` receives the line
    telling what was inferred as soon as it is known, before the file is
    checked, so it shows even when the file is refused.

    Raises
    ------
    DataValidationError
        When the file breaks a rule: the readable refusal (counts per rule,
        first rows, the likely fix, the full list's file).
    DataError
        When no bars match, naming what was asked and what exists.
    """
    symbols = [part.strip() for item in symbols for part in item.split(",") if part.strip()]
    frame_timeframe = timeframe or settings.data.timeframe
    inferred: str | None = None
    report = QualityReport(source=str(path))
    if path is not None:
        request = SourceRequest(
            path=path,
            timeframe=timeframe,
            calendar=calendar,
            symbol=symbols[0] if len(symbols) == 1 else None,
        )
        opened = open_source(settings, request)
        if opened.inference is not None:
            inferred = opened.inference.line()
            if say is not None and inferred:
                say(inferred)
        policy = settings.data.quality
        if tolerate_gaps and "gaps" not in policy.model_fields_set and policy.gaps == "error":
            policy = policy.model_copy(update={"gaps": "warn"})
        try:
            bars = read_source(opened.source, policy, report)
        except DataValidationError as error:
            raise refuse(error, opened.inference) from None
        if opened.inference is not None:
            frame_timeframe = opened.inference.timeframe.name
            data = settings.data.model_copy(
                update={"timeframe": frame_timeframe, "calendar": opened.inference.calendar}
            )
            settings = settings.model_copy(update={"data": data})
        first, last = parse_instant(start), parse_instant(end, end_of_day=True)
        if symbols or first is not None or last is not None:  # else every row stays: no copy
            ts = bars.index.get_level_values("ts")
            keep = np.ones(len(bars), dtype=bool)
            if symbols:
                keep &= bars.index.get_level_values("symbol").isin(list(symbols))
            if first is not None:
                keep &= ts >= first
            if last is not None:
                keep &= ts <= last
            bars = bars.loc[keep]
    else:
        store = open_store(settings)
        bars = store.read(
            list(symbols) or None,
            frame_timeframe,
            parse_instant(start),
            parse_instant(end, end_of_day=True),
        )
    if bars.empty:
        where = str(path) if path is not None else f"the store ({settings.data.dir})"
        wanted = ", ".join(symbols) if symbols else "any symbol"
        raise DataError(
            f"no {frame_timeframe} bars for {wanted} in {where}"
            + (f" between {start or '…'} and {end or '…'}" if start or end else "")
            + "; see `alphagate data list`"
        )
    gaps = [v for v in report.violations if v.rule is Rule.GAPS and v.action is Action.WARNED]
    gap_count = report.counts[(Rule.GAPS, Action.WARNED)]
    return LoadedBars(bars, settings, inferred, gaps, gap_count)


def build_feature_frame(
    settings: Settings, bars: pd.DataFrame, profile: str | None
) -> pd.DataFrame:
    """Features of ``profile`` for ``bars``, through the content-keyed cache."""
    from alphagate.features.cache import FeatureCache

    cache = FeatureCache(settings.features.cache_dir)
    return cache.get_or_build(
        bars, profile or settings.features.profile, calendar=settings.data.calendar
    )


def build_label_frame(
    settings: Settings,
    bars: pd.DataFrame,
    kind: LabelKind,
    *,
    horizons: Sequence[int] | None = None,
    barriers: BarrierChoice | None = None,
) -> pd.DataFrame:
    """Fixed-horizon labels, or triple-barrier labels with calibrated (or given) barriers.

    Raises
    ------
    DataError
        For triple-barrier labels without barriers: run ``labels calibrate`` first.
    """
    from alphagate.labels.fixed_horizon import fixed_horizon_labels
    from alphagate.labels.triple_barrier import triple_barrier_labels

    if kind == "fixed":
        return fixed_horizon_labels(bars, horizons or settings.labels.horizons)
    choice = barriers or _saved_barriers(settings)
    return triple_barrier_labels(
        bars,
        pt=choice.pt,
        sl=choice.sl,
        horizon=choice.horizon,
        vol_span=choice.vol_span,
        min_vol=choice.min_vol,
    )


def calibrate_barriers(settings: Settings, bars: pd.DataFrame, train_end: str) -> BarrierChoice:
    """Choose barrier multiples on bars up to ``train_end`` only, and save them.

    The cut is explicit and required: a barrier chosen on the whole history
    would let the test period shape its own labels.
    """
    from alphagate.labels.calibrate import choose_barriers

    cut = parse_instant(train_end, end_of_day=True)
    train = bars.loc[bars.index.get_level_values("ts") <= cut]
    if train.empty:
        raise DataError(f"no bars on or before --train-end {train_end}")
    choice = choose_barriers(
        train,
        horizon=settings.labels.barrier_horizon,
        target_balance=settings.labels.target_balance,
        vol_span=settings.labels.vol_span,
    )
    settings.labels.barriers_file.parent.mkdir(parents=True, exist_ok=True)
    choice.save(settings.labels.barriers_file)
    return choice


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    """Write a ``(symbol, ts)``-indexed frame as Parquet (or CSV by suffix), atomically.

    The columns start with ``symbol, ts``; the file appears whole or not at all.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = frame.reset_index()
    temporary = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        if path.suffix.lower() == ".csv":
            flat.to_csv(temporary, index=False)
        else:
            flat.to_parquet(temporary, index=False)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def given_barriers(settings: Settings, pt: float, sl: float) -> BarrierChoice:
    """Barrier multiples chosen by hand, with the configured horizon and volatility span."""
    if pt <= 0 or sl <= 0:
        raise DataError(f"--pt and --sl must be positive, got {pt} and {sl}")
    from alphagate.labels.calibrate import BarrierChoice

    return BarrierChoice(
        pt=pt,
        sl=sl,
        horizon=settings.labels.barrier_horizon,
        vol_span=settings.labels.vol_span,
        min_vol=1e-8,
        class_shares={},
    )


def _saved_barriers(settings: Settings) -> BarrierChoice:
    path = settings.labels.barriers_file
    if not path.is_file():
        raise DataError(
            f"no barrier multiples at {path}; run `alphagate labels calibrate --train-end DATE` "
            "first, or pass --pt and --sl"
        )
    from alphagate.labels.calibrate import BarrierChoice

    return BarrierChoice.load(path)
