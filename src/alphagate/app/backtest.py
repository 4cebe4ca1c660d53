"""Composition of a backtest run for the CLI: bars, strategy, venue models, outputs, report.

Kept apart from ``research.py`` so each composition module stays one room.
The run itself is :func:`alphagate.backtest.runner.run_backtest`, the same
event loop paper and live trading will drive; this module only chooses its
edges (fill and commission models, the risk guard) from the settings'
``execution`` and ``risk`` sections and the user's flags, and writes files,
``manifest.json`` among them: what names the run (config, data and code).
The model path (``model_backtest.py``) builds its edges with the same functions.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import ValidationError

import alphagate
from alphagate.atomic import write_text_atomically
from alphagate.backtest.outputs import write_outputs
from alphagate.backtest.report import report_page
from alphagate.backtest.runner import BacktestResult, run_backtest
from alphagate.config import ExecutionConfig, FillModelName, Settings, config_hash
from alphagate.domain.strategy import Strategy
from alphagate.errors import ConfigError
from alphagate.execution.commission import (
    BasisPoints,
    CommissionModel,
    MakerTaker,
    NoCommission,
    PerShare,
)
from alphagate.execution.fill_models import CloseFill, ConservativeFill, FillModel, NextOpenFill
from alphagate.features.cache import data_hash
from alphagate.pipeline.manifest import write_manifest
from alphagate.risk.events import RiskEvent
from alphagate.risk.guard import EventSink, RiskGuard, RiskSettings
from alphagate.risk.kill_switch import KillSwitch
from alphagate.risk.limits import RiskLimits
from alphagate.strategies.loading import load_strategy

Units = Literal["whole", "fractional"]

RULE_EXECUTION: Mapping[str, object] = {
    "fill_model": "next_open",
    "commission_bps": 0.0,
    "units": "whole",
}
"""What ``execution``'s null keys mean for a rule-based strategy: what other backtesters do."""


@dataclass(frozen=True)
class BacktestRequest:
    """What the user asked for, in the CLI's words; ``None`` leaves a knob to the settings.

    ``strategy`` is a built-in's name or a class of the user's as
    ``package.module:ClassName`` or ``path/to/file.py:ClassName``
    (:func:`~alphagate.strategies.loading.load_strategy`).
    """

    strategy: str
    params: Mapping[str, str]
    fill_model: FillModelName | None = None
    commission_bps: float | None = None
    cash: float | None = None
    units: Units | None = None
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


def effective_settings(
    settings: Settings, defaults: Mapping[str, object], flags: Mapping[str, object | None]
) -> Settings:
    """``settings`` as this run uses them: ``execution``'s nulls filled, then the flags applied.

    ``defaults`` are the kind of run's meanings of the null keys
    (:data:`RULE_EXECUTION`, or the model path's); ``flags`` the command
    line's values, ``None`` where not given. The result is what the run's
    config hash is taken of, so ``--commission-bps 5`` and
    ``--set execution.commission_bps=5`` name the same run.

    Raises
    ------
    ConfigError
        When a flag's value is invalid for its key (a non-positive ``--cash``
        or a negative ``--commission-bps`` named as the flag).
    """
    cash, commission_bps = flags.get("cash"), flags.get("commission_bps")
    if isinstance(cash, int | float) and cash <= 0:
        raise ConfigError(f"--cash must be positive, got {cash}")
    if isinstance(commission_bps, int | float) and commission_bps < 0:
        raise ConfigError(f"--commission-bps must not be negative, got {commission_bps}")
    execution = settings.execution.model_dump()
    for key, value in defaults.items():
        if execution[key] is None:
            execution[key] = value
    execution.update({key: value for key, value in flags.items() if value is not None})
    try:
        resolved = ExecutionConfig.model_validate(execution)
    except ValidationError as error:
        problems = "; ".join(
            f"execution.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()
        )
        raise ConfigError(f"invalid execution settings: {problems}") from None
    return settings.model_copy(update={"execution": resolved})


def fill_model_of(execution: ExecutionConfig) -> FillModel:
    """The fill model ``execution.fill_model`` names, with ``execution.conservative``'s costs.

    Raises
    ------
    ConfigError
        When the fill model is still unresolved (null) or its costs do not fit together.
    """
    if execution.fill_model == "next_open":
        return NextOpenFill()
    if execution.fill_model == "close":
        return CloseFill()
    if execution.fill_model == "conservative":
        try:
            return ConservativeFill(**execution.conservative.model_dump())
        except ValueError as error:
            raise ConfigError(f"invalid execution.conservative: {error}") from None
    raise ConfigError("execution.fill_model is not set; name next_open, close or conservative")


def commission_of(execution: ExecutionConfig) -> CommissionModel:
    """The commission model ``execution.commission_model`` names, at its rates."""
    if execution.commission_model == "per_share":
        return PerShare(execution.per_share_rate, execution.per_share_minimum)
    if execution.commission_model == "maker_taker":
        return MakerTaker(execution.maker_bps, execution.taker_bps)
    bps = execution.commission_bps or 0.0
    return BasisPoints(bps) if bps else NoCommission()


@contextmanager
def guard_of(
    risk: RiskSettings, kill_file: Path | None, sink: EventSink, *, baseline: float | None = None
) -> Iterator[RiskGuard]:
    """A fresh :class:`RiskGuard` whose kill-switch state lives only as long as the run.

    The state file is the run's own, so a trip in one backtest never halts
    the next; ``kill_file`` is the operator's trigger file (``risk.kill_switch_file``).
    """
    with tempfile.TemporaryDirectory(prefix="alphagate-kill-") as state:
        kill_switch = KillSwitch(Path(state) / "kill_switch.json", kill_file)
        yield RiskGuard.from_settings(risk, kill_switch, sink, baseline=baseline)


def write_run_manifest(
    output: Path,
    settings: Settings,
    bars: pd.DataFrame,
    *,
    strategy: str,
    params: Mapping[str, Any],
) -> None:
    """Write ``manifest.json``: what a backtest ran, so it can be named and repeated.

    The hashes are of the effective settings (:func:`effective_settings`, secrets
    left out) and of the bars the run consumed, with the code version; the
    writer is the pipeline stages' own (fsynced, no NaN).
    """
    ts = bars.index.get_level_values("ts")
    manifest = {
        "kind": "backtest",
        "strategy": strategy,
        "params": dict(params),
        "config_hash": config_hash(settings),
        "data_hash": data_hash(bars),
        "code_version": alphagate.code_version(),
        "bars": {
            "rows": len(bars),
            "symbols": sorted(map(str, bars.index.get_level_values("symbol").unique())),
            "start": ts.min().isoformat(),
            "end": ts.max().isoformat(),
        },
        "execution": settings.execution.model_dump(mode="json"),
    }
    write_manifest(output, manifest)


def run_backtest_request(
    bars: pd.DataFrame,
    request: BacktestRequest,
    output: Path,
    calendar: str | None,
    settings: Settings | None = None,
) -> BacktestResult:
    """Run one backtest; write its outputs, ``report.html`` and ``manifest.json`` to ``output``.

    ``settings`` supplies the ``execution`` and ``risk`` sections (the
    built-in defaults when ``None``); the request's flags win over them.
    """
    flags = {
        "fill_model": request.fill_model,
        "commission_bps": request.commission_bps,
        "cash": request.cash,
        "units": request.units,
    }
    effective = effective_settings(settings or Settings(), RULE_EXECUTION, flags)
    strategy = load_strategy(request.strategy, request.params)
    if request.engine == "vector":
        result = _run_vector(bars, strategy, effective, calendar)
    else:
        result = _run_event(bars, strategy, effective, calendar)
    write_outputs_and_report(result, bars, request.strategy, output)
    write_run_manifest(
        output,
        effective,
        bars,
        strategy=request.strategy,
        params={**request.params, "engine": request.engine},
    )
    return result


def _run_event(
    bars: pd.DataFrame, strategy: Strategy, settings: Settings, calendar: str | None
) -> BacktestResult:
    """The event engine, guarded when ``risk.guard_rule_strategies`` says so."""
    execution, risk = settings.execution, settings.risk
    units: Units = "fractional" if execution.units == "fractional" else "whole"

    def run(guard: RiskGuard | None) -> BacktestResult:
        return run_backtest(
            bars,
            strategy,
            cash=execution.cash,
            fill_model=fill_model_of(execution),
            commission=commission_of(execution),
            units=units,
            sizing=execution.sizing,
            latency_bars=execution.latency_bars,
            calendar=calendar,
            guard=guard,
        )

    if not risk.guard_rule_strategies:
        return run(None)
    # A rule-based strategy may hold its whole equity in one symbol: that is
    # what null limits allow it, and the order notional the starting cash.
    fallback = RiskLimits(
        max_position_weight=1.0,
        max_gross_exposure=1.0,
        max_net_exposure=1.0,
        max_order_notional=execution.cash,
        max_orders_per_day=risk.max_orders_per_day,
        price_collar_pct=risk.price_collar_pct,
    )
    events: list[RiskEvent] = []
    limits = RiskSettings.from_config(risk, fallback=fallback)
    with guard_of(limits, risk.kill_switch_file, events.append) as guard:
        return run(guard)


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
    bars: pd.DataFrame, strategy: Strategy, settings: Settings, calendar: str | None
) -> BacktestResult:
    """The vectorised path, or a one-line reason why this request needs the event engine."""
    execution = settings.execution
    unsupported = {
        f"--fill-model {execution.fill_model}": execution.fill_model != "next_open",
        f"execution.commission_model={execution.commission_model}": (
            execution.commission_model != "bps"
        ),
        f"execution.latency_bars={execution.latency_bars}": execution.latency_bars != 0,
        f"execution.sizing={execution.sizing}": execution.sizing != "next_open",
        "risk.guard_rule_strategies=true": settings.risk.guard_rule_strategies,
    }
    refused = [what for what, given in unsupported.items() if given]
    if refused:
        raise ConfigError(
            "--engine vector fills at the next open, sized there, without latency, a guard or "
            f"commission other than bps; not {', '.join(refused)}: use --engine event"
        )
    # Imported here, not at the top: the vectorised path loads numba (a tenth of
    # a second or more), which the default event engine never needs.
    from alphagate.backtest.vector_run import run_vector_backtest

    try:
        return run_vector_backtest(
            bars,
            strategy,
            cash=execution.cash,
            commission_bps=execution.commission_bps or 0.0,
            units="fractional" if execution.units == "fractional" else "whole",
            calendar=calendar,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
