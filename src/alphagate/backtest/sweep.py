"""A parameter grid over a rule strategy, each point scored on the vectorised path.

A sweep asks one question many times: how does the strategy do with these
parameters? Each point is one call of :func:`score_point`, a pure function
of the bars and the point, so points can run anywhere (``parallel.map``, in
this process, on a Ray cluster) and the table is the same whichever ran
what. The vectorised path is the event engine's semantics for one symbol
with next-open fills (tested equal to it), at a fraction of the cost.

A point the strategy refuses (``fast`` not below ``slow``) is a row with
its error, not the end of the sweep: the other points are kept.

Grid syntax, axes separated by commas: ``name=start:stop:step`` (stop
included when the steps land on it) or ``name=a|b|c``. Integers stay
integers, so ``fast=5:50:5`` passes ``5, 10, ... 50`` to an ``int`` parameter.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from alphagate.backtest.vector_run import target_signal
from alphagate.backtest.vectorized import run_vectorized
from alphagate.errors import AlphagateError, ConfigError
from alphagate.metrics.performance import max_drawdown, sharpe, total_return
from alphagate.strategies.loading import load_strategy

Number = int | float
METRICS: tuple[str, ...] = ("sharpe", "total_return", "max_drawdown", "trades", "final_equity")
"""The columns each point is scored on; ``--metric`` picks one for the heat map and the best."""

MAX_POINTS = 100_000


@dataclass(frozen=True)
class Axis:
    """One parameter and the values the sweep tries for it, in order."""

    name: str
    values: tuple[Number, ...]


def parse_grid(text: str) -> list[Axis]:
    """Parse ``fast=5:50:5,slow=20:200:10`` (or ``name=a|b|c``) into axes; see the module.

    Raises
    ------
    ConfigError
        For a part without ``=``, a range that is not ``start:stop:step`` of
        numbers with a positive step, an empty axis, a repeated name, or a
        grid of more than :data:`MAX_POINTS` points, each saying what was wrong.
    """
    axes: list[Axis] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, spec = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(f"--grid expects name=start:stop:step or name=a|b|c, got {part!r}")
        if any(axis.name == name for axis in axes):
            raise ConfigError(f"--grid names {name!r} twice")
        values = (
            _range(name, spec) if ":" in spec else tuple(_number(name, v) for v in spec.split("|"))
        )
        if not values:
            raise ConfigError(f"--grid axis {name!r} has no values")
        axes.append(Axis(name, values))
    if not axes:
        raise ConfigError("--grid is empty: give at least one axis, e.g. fast=5:50:5")
    size = math.prod(len(axis.values) for axis in axes)
    if size > MAX_POINTS:
        raise ConfigError(f"--grid has {size:,} points, more than {MAX_POINTS:,}: coarsen a step")
    return axes


def _number(name: str, text: str) -> Number:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"--grid axis {name!r}: {text!r} is not a number") from None


def _range(name: str, spec: str) -> tuple[Number, ...]:
    parts = spec.split(":")
    if len(parts) != 3:
        raise ConfigError(f"--grid axis {name!r}: a range is start:stop:step, got {spec!r}")
    start, stop, step = (_number(name, p) for p in parts)
    if step <= 0:
        raise ConfigError(f"--grid axis {name!r}: the step must be positive, got {step}")
    if all(isinstance(v, int) for v in (start, stop, step)):
        return tuple(range(int(start), int(stop) + 1, int(step)))
    count = math.floor((stop - start) / step + 1e-9) + 1
    return tuple(round(start + i * step, 12) for i in range(max(count, 0)))


def grid_points(axes: list[Axis]) -> list[dict[str, Number]]:
    """Every combination of the axes' values, the first axis varying slowest."""
    names = [axis.name for axis in axes]
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(a.values for a in axes))
    ]


@dataclass(frozen=True)
class SweepInput:
    """What every point shares: one symbol's bars, the strategy, the account and the year."""

    bars: pd.DataFrame
    strategy: str
    cash: float
    commission_bps: float
    units: Literal["whole", "fractional"]
    periods_per_year: float
    fixed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PointScore:
    """One point's parameters and its metrics, or the error the strategy raised."""

    params: dict[str, Number]
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def score_point(shared: SweepInput, params: dict[str, Number]) -> PointScore:
    """Run the strategy with ``params`` (over ``shared.fixed``) on the vectorised path."""
    try:
        strategy = load_strategy(shared.strategy, {**shared.fixed, **params})
        _, target = target_signal(strategy, shared.bars)
        run = run_vectorized(
            shared.bars,
            target,
            cash=shared.cash,
            commission_bps=shared.commission_bps,
            units=shared.units,
        )
    except (AlphagateError, ValueError) as error:
        return PointScore(params, error=str(error))
    equity = run.equity.to_numpy(np.float64)
    returns = equity[1:] / equity[:-1] - 1.0
    return PointScore(
        params,
        {
            "sharpe": sharpe(returns, shared.periods_per_year),
            "total_return": total_return(returns),
            "max_drawdown": max_drawdown(returns),
            "trades": float(run.trades),
            "final_equity": float(equity[-1]),
        },
    )


def score_table(scores: list[PointScore]) -> pd.DataFrame:
    """The sweep as one row per point: parameters, metrics, and the error if any."""
    rows = [{**s.params, **{m: s.metrics.get(m, math.nan) for m in METRICS}, "error": s.error or ""}
            for s in scores]  # fmt: skip
    return pd.DataFrame(rows)
