"""Inside the subprocess: import a draft and run its checks; see :mod:`alphagate.drafts.child`.

Only :mod:`alphagate.drafts.child` imports this module, after it has blocked
the network; the parent process never does, so no generated code runs
there. The job file is written by :mod:`alphagate.drafts.sandbox`.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphagate.atomic import write_text_atomically
from alphagate.backtest.runner import BacktestResult, run_backtest
from alphagate.config import ExecutionConfig
from alphagate.domain.bars import symbols_of
from alphagate.drafts.records import PeriodMetrics, Stage, ValidationReport
from alphagate.engine.declared_indicators import declared_indicators
from alphagate.engine.market import MarketData
from alphagate.execution.commission import BasisPoints, CommissionModel, NoCommission
from alphagate.execution.fill_models import CloseFill, ConservativeFill, FillModel, NextOpenFill
from alphagate.metrics.performance import compute_metrics
from alphagate.strategies.loading import load_strategy

STAGE_FILE = "stage"
"""The file the subprocess writes the check it is in to, for a time-out's message."""


@dataclass(frozen=True)
class Job:
    """What the parent asks: a draft, bars, where the training period ends, the windows."""

    strategy: str  # path/to/file.py:ClassName
    bars: Path
    training_end_ns: int
    windows: tuple[tuple[int, int], ...]
    execution: ExecutionConfig
    calendar: str | None
    report: Path

    @classmethod
    def read(cls, path: Path) -> Job:
        """Read the job file the parent wrote."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            strategy=data["strategy"],
            bars=Path(data["bars"]),
            training_end_ns=int(data["training_end_ns"]),
            windows=tuple((int(a), int(b)) for a, b in data["windows"]),
            execution=ExecutionConfig.model_validate(data["execution"]),
            calendar=data.get("calendar"),
            report=Path(data["report"]),
        )


def run_job(job_file: str) -> None:
    """Run every check of the job in ``job_file``; write its report whatever happens."""
    job = Job.read(Path(job_file))
    stage_file = job.report.with_name(STAGE_FILE)
    stage = Stage.IMPORT
    training: PeriodMetrics | None = None
    windows: list[PeriodMetrics] = []
    try:
        write_text_atomically(stage_file, stage.value)
        strategy = load_strategy(job.strategy)
        bars = pd.read_parquet(job.bars)
        stage = Stage.LOOK_AHEAD
        write_text_atomically(stage_file, stage.value)
        market = MarketData.of_frame(bars)
        histories = {s: market.stored_history(s) for s in symbols_of(bars)}
        declared_indicators(strategy, histories, check_look_ahead=True)
        stage = Stage.BACKTEST
        write_text_atomically(stage_file, stage.value)
        ts = _stamps(bars)
        training = _period(job, bars, ts <= job.training_end_ns, strategy.warmup, first=True)
        stage = Stage.WALK_FORWARD
        write_text_atomically(stage_file, stage.value)
        for start, end in job.windows:
            inside = (ts >= start) & (ts <= end)
            windows.append(_period(job, bars, inside, strategy.warmup, first=False))
    except Exception as error:  # the draft's code may raise anything; the report says what
        described = _described(error, job.strategy.rpartition(":")[0])
        report = ValidationReport(stage, False, described, training, tuple(windows))
    else:
        report = ValidationReport(stage, True, None, training, tuple(windows))
    write_text_atomically(job.report, json.dumps(report.to_json(), allow_nan=False))


def _stamps(bars: pd.DataFrame) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8)


def _period(
    job: Job, bars: pd.DataFrame, inside: np.ndarray, warmup: int, *, first: bool
) -> PeriodMetrics:
    """Backtest a fresh instance over the period ``inside`` marks, with warm-up before it.

    The training period starts at the first bar, so its warm-up is its own
    first ``warmup`` bars; a later window is given the ``warmup`` distinct
    timestamps before it as history. Either way the metrics start at the
    first bar the strategy decides at.
    """
    ts = _stamps(bars)
    times = np.unique(ts)
    period_times = np.unique(ts[inside])
    first_time = int(period_times[0])
    position = int(np.searchsorted(times, first_time))
    if first:
        decide_from = int(times[min(warmup, len(period_times) - 1)])
        history_from = first_time
    else:
        decide_from = first_time
        history_from = int(times[max(0, position - warmup)])
    rows = (ts >= history_from) & (ts <= int(period_times[-1]))
    result = run_backtest(
        bars[rows],
        load_strategy(job.strategy),  # a fresh instance: no state carried between periods
        cash=job.execution.cash,
        fill_model=_fill_model(job.execution),
        commission=_commission(job.execution),
        units="fractional" if job.execution.units == "fractional" else "whole",
        sizing=job.execution.sizing,
        latency_bars=job.execution.latency_bars,
        calendar=job.calendar,
    )
    return _metrics(result, decide_from)


def _metrics(result: BacktestResult, decide_from: int) -> PeriodMetrics:
    equity = result.equity[result.equity.index >= pd.Timestamp(decide_from, tz="UTC")]
    trades = result.trades
    entered = trades[trades["entry_ts"] >= equity.index[0]] if len(trades) else trades
    closed = entered[entered["exit_ts"].notna()] if len(entered) else entered
    pnl = (closed["pnl"] - closed["fees"]).to_numpy(np.float64) if len(closed) else ()
    metrics = compute_metrics(
        equity, trade_pnl=pnl, periods_per_year=result.metrics.periods_per_year
    )
    sharpe = metrics.sharpe
    return PeriodMetrics(
        start=equity.index[0].isoformat(),
        end=equity.index[-1].isoformat(),
        bars=len(equity),
        sharpe=float(sharpe) if np.isfinite(sharpe) else None,
        total_return=float(metrics.total_return),
        max_drawdown=float(metrics.max_drawdown),
        trades=len(entered),
    )


def _fill_model(execution: ExecutionConfig) -> FillModel:
    """The fill model of the user's backtests (``app.backtest.fill_model_of``'s choice)."""
    if execution.fill_model == "close":
        return CloseFill()
    if execution.fill_model == "conservative":
        return ConservativeFill(**execution.conservative.model_dump())
    return NextOpenFill()


def _commission(execution: ExecutionConfig) -> CommissionModel:
    bps = execution.commission_bps or 0.0
    return BasisPoints(bps) if bps else NoCommission()


def _described(error: BaseException, draft_file: str) -> str:
    """The error in a model's terms: its type, message, and the draft's line if it raised there."""
    own = str(Path(draft_file).resolve())
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == own]
    where = f" (line {frames[-1].lineno}: {frames[-1].line})" if frames else ""
    cause = error.__cause__
    detail = f"{type(error).__name__}: {error}{where}"
    if cause is not None and str(cause) not in str(error):
        detail += f"; caused by {type(cause).__name__}: {cause}"
    return detail


def job_payload(
    *,
    strategy: str,
    bars: Path,
    training_end_ns: int,
    windows: list[tuple[int, int]],
    execution: ExecutionConfig,
    calendar: str | None,
    report: Path,
) -> Mapping[str, Any]:
    """The job file's content, as :meth:`Job.read` reads it (written by the parent)."""
    return {
        "strategy": strategy,
        "bars": str(bars),
        "training_end_ns": training_end_ns,
        "windows": [list(window) for window in windows],
        "execution": execution.model_dump(mode="json"),
        "calendar": calendar,
        "report": str(report),
    }
