"""Composition of a backtest run for the CLI: bars, strategy, venue models, outputs, report.

Kept apart from ``research.py`` so each composition module stays one room.
The run itself is :func:`alphagate.backtest.runner.run_backtest`, the same
event loop paper and live trading will drive; this module only chooses its
edges (fill and commission models) from the user's words and writes files.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from alphagate.atomic import write_text_atomically
from alphagate.backtest.outputs import write_outputs
from alphagate.backtest.report import report_page
from alphagate.backtest.runner import BacktestResult, run_backtest
from alphagate.domain.strategy import Strategy
from alphagate.errors import ConfigError
from alphagate.execution.commission import BasisPoints, NoCommission
from alphagate.execution.fill_models import CloseFill, ConservativeFill, FillModel, NextOpenFill
from alphagate.strategies.loading import load_strategy

FillModelName = Literal["next_open", "close", "conservative"]


@dataclass(frozen=True)
class BacktestRequest:
    """What the user asked for, in the CLI's words.

    ``strategy`` is a built-in's name or a class of the user's as
    ``package.module:ClassName`` or ``path/to/file.py:ClassName``
    (:func:`~alphagate.strategies.loading.load_strategy`).
    """

    strategy: str
    params: Mapping[str, str]
    fill_model: FillModelName = "next_open"
    commission_bps: float = 0.0
    cash: float = 10_000.0
    units: Literal["whole", "fractional"] = "whole"
    engine: Literal["event", "vector"] = "event"


def parse_params(text: str | None) -> dict[str, str]:
    """Parse ``fast=10,slow=30`` into a mapping; the strategy converts the types.

    Raises
    ------
    ConfigError
        On a part without ``=`` or an empty name.
    """
    params: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ConfigError(
                f"--params expects name=value pairs separated by commas, got {part!r}"
            )
        params[name.strip()] = value.strip()
    return params


def fill_model_named(name: FillModelName) -> FillModel:
    """The fill model a name stands for, with its documented defaults."""
    models: dict[str, FillModel] = {
        "next_open": NextOpenFill(),
        "close": CloseFill(),
        "conservative": ConservativeFill(),
    }
    return models[name]


def run_backtest_request(
    bars: pd.DataFrame, request: BacktestRequest, output: Path, calendar: str | None
) -> BacktestResult:
    """Run one backtest and write its outputs and ``report.html`` into ``output``."""
    if request.cash <= 0:
        raise ConfigError(f"--cash must be positive, got {request.cash}")
    if request.commission_bps < 0:
        raise ConfigError(f"--commission-bps must not be negative, got {request.commission_bps}")
    strategy = load_strategy(request.strategy, request.params)
    if request.engine == "vector":
        result = _run_vector(bars, strategy, request, calendar)
    else:
        commission = (
            BasisPoints(request.commission_bps) if request.commission_bps else NoCommission()
        )
        result = run_backtest(
            bars,
            strategy,
            cash=request.cash,
            fill_model=fill_model_named(request.fill_model),
            commission=commission,
            units=request.units,
            calendar=calendar,
        )
    write_outputs_and_report(result, bars, request.strategy, output)
    return result


def write_outputs_and_report(
    result: BacktestResult, bars: pd.DataFrame, what: str, output: Path
) -> None:
    """:func:`write_outputs` into ``output``, then ``report.html`` there (see :func:`write_report`).

    The page is drawn while the files are written, on another thread: the
    equity curve, the largest file, is formatted and written by Arrow, which
    runs without holding the interpreter, so on a second core the two take
    little more than the longer of them. Files and failures are as if one
    followed the other: the page is written only once the outputs are in
    place, and an error in writing them wins over one in drawing the page.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="alphagate-outputs") as pool:
        written = pool.submit(write_outputs, result, output)
        try:
            page = _report_page(result, bars, what)
        finally:
            written.result()
    write_text_atomically(output / "report.html", page)


def write_report(result: BacktestResult, bars: pd.DataFrame, what: str, path: Path) -> None:
    """``report.html`` of a run, against the first symbol held from the first bar."""
    write_text_atomically(path, _report_page(result, bars, what))


def _report_page(result: BacktestResult, bars: pd.DataFrame, what: str) -> str:
    closes = _closes_by_symbol(bars)
    first = closes.columns[0]
    return report_page(
        equity=result.equity,
        benchmark=closes[first].reindex(result.equity.index).ffill(),
        trades=result.trades,
        prices=closes,
        metrics=result.metrics.to_json_dict(),
        title=f"{what} on {', '.join(map(str, closes.columns))}",
    )


def _closes_by_symbol(bars: pd.DataFrame) -> pd.DataFrame:
    """``bars["close"].unstack("symbol")``: one column of closes per symbol, indexed by ts.

    With one symbol whose stamps strictly increase (a loaded file's), the
    column is the closes as they are; unstacking would sort and reshape a
    million rows to arrive at the same frame.
    """
    index = bars.index
    if isinstance(index, pd.MultiIndex) and len(index.levels[0]) == 1 and len(bars):
        ts = pd.DatetimeIndex(index.get_level_values("ts"))
        stamps = ts.asi8
        if not ts.hasnans and bool(np.all(stamps[1:] > stamps[:-1])):
            symbols = pd.Index(index.levels[0], name="symbol")
            closes = bars["close"].to_numpy(copy=True).reshape(-1, 1)
            return pd.DataFrame(closes, index=ts, columns=symbols)
    return bars["close"].unstack("symbol")


def _run_vector(
    bars: pd.DataFrame, strategy: Strategy, request: BacktestRequest, calendar: str | None
) -> BacktestResult:
    """The vectorised path, or a one-line reason why this request needs the event engine."""
    if request.fill_model != "next_open":
        raise ConfigError(
            f"--engine vector fills at the next open only, not --fill-model {request.fill_model}; "
            "use --engine event"
        )
    # Imported here, not at the top: the vectorised path loads numba (a tenth of
    # a second or more), which the default event engine never needs.
    from alphagate.backtest.vector_run import run_vector_backtest

    try:
        return run_vector_backtest(
            bars,
            strategy,
            cash=request.cash,
            commission_bps=request.commission_bps,
            units=request.units,
            calendar=calendar,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
