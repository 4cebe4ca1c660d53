"""Gate 1's walk-forward check: the model retrained window by window must earn what it claimed.

The single backtest trades models trained once, before the out-of-sample
span. A lucky cut (a model that happens to suit the one span it is judged
on) passes it; the same recipe retrained as time moves on need not. So the
span is cut into successive windows and, before each, every horizon is
trained again on everything before the window: purged (no training label
ends inside the window) and embargoed (a gap of bars just before it), with
:func:`alphagate.training.splits.walk_forward` choosing the rows and
:func:`alphagate.training.trainer.train_horizon` fitting them exactly as
``alphagate train`` did (its holdout is the window, so its calibrator sees
no row of it). Each window is traded by its own models; the caller stitches
the windows' predictions into one backtest over the span.

**The rule.** The aggregate (the stitched backtest) is compared with the
single model's backtest on the same span, by total return and by Sharpe:

    gap = |walk_forward - single| / max(|single|, floor)

and each gap must be below ``tolerance`` (0.2: "within ±20 %"). Symmetric on
purpose: a walk-forward far *better* than the single backtest also says the
single backtest is not what this recipe earns. The ``floor``
(``return_floor``, ``sharpe_floor``) keeps a value near zero from turning a
negligible gap into an enormous relative one: a single Sharpe of 0.01 and a
walk-forward one of 0.05 differ by 400 %, but by 0.08 of a floor of 0.5. An
undefined value (a Sharpe without variation) fails, as every gate check does.

**In parallel.** Every (horizon, window) fit is independent of the others,
so they are tasks of a ``task_map`` the caller passes
(``alphagate.parallel.map``, which this ring may not import): the horizons'
samples and recipes go to each worker once, as the map's ``shared`` value,
and a task names only its rows. Each fit is seeded by its recipe, and the
map returns results in task order, so the windows and predictions are the
same bytes with one worker or many.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from alphagate.config.gates import WalkForwardConfig
from alphagate.errors import AlphagateError
from alphagate.gates.validation import Check, compare
from alphagate.metrics.performance import sharpe
from alphagate.models.calibration import CalibratorKind
from alphagate.models.factory import Family
from alphagate.training.dataset import TrainingSet
from alphagate.training.splits import walk_forward
from alphagate.training.trainer import train_horizon


@dataclass(frozen=True)
class Recipe:
    """How one horizon was trained, to train it again the same way."""

    family: Family
    seed: int
    params: Mapping[str, Any] | None
    calibration: CalibratorKind


@dataclass(frozen=True)
class WindowFit:
    """One horizon retrained for one window: its rows and its score on the window."""

    horizon: int
    n_train: int
    n_test: int
    evaluation: Mapping[str, float]


@dataclass(frozen=True)
class Window:
    """One out-of-sample window, first and last bar time, and its horizons' fits."""

    index: int
    start: pd.Timestamp
    end: pd.Timestamp
    fits: tuple[WindowFit, ...]


@dataclass(frozen=True, eq=False)
class Retrained:
    """Every window, and the calibrated P(up) its models gave on it (one column per horizon)."""

    windows: tuple[Window, ...]
    predictions: pd.DataFrame


@dataclass(frozen=True)
class Performance:
    """What the rule compares: a backtest's total return and annualised Sharpe."""

    total_return: float
    sharpe: float


@dataclass(frozen=True, eq=False)
class WindowTask:
    """One fit to make: horizon ``horizon``'s ``train`` rows, judged on window ``test``."""

    horizon: int
    train: np.ndarray
    test: np.ndarray


Fitted = tuple[pd.Timestamp, pd.Timestamp, WindowFit, pd.Series]
"""A fit's window (first and last bar time), its score, and its calibrated P(up) there."""

Shared = Mapping[int, tuple[TrainingSet, Recipe]]
"""Per horizon, its samples (clipped to the span) and how it was trained: sent once."""


class TaskMap(Protocol):
    """``[fn(shared, task) for task in tasks]`` in task order, wherever the caller runs it."""

    def __call__(
        self,
        fn: Callable[[Shared, WindowTask], Fitted],
        items: Sequence[WindowTask],
        /,
        *,
        shared: Shared,
    ) -> list[Any]: ...


def serial_map(
    fn: Callable[[Shared, WindowTask], Fitted],
    items: Sequence[WindowTask],
    /,
    *,
    shared: Shared,
) -> list[Any]:
    """The fits one after another in this process."""
    return [fn(shared, item) for item in items]


def fit_task(shared: Shared, task: WindowTask) -> Fitted:
    """One (horizon, window) fit, a ``task_map`` task: its samples come from ``shared``."""
    ts, recipe = shared[task.horizon]
    return _fit_window(ts, task.train, task.test, recipe)


def window_count(n_times: int, config: WalkForwardConfig) -> int:
    """Windows for a span of ``n_times`` bar times: ``config.windows``, fewer if they'd be short.

    Below 2 the span cannot be walked forward (one window is the single
    backtest again); the caller fails the check.
    """
    return min(config.windows, n_times // config.min_window_bars)


def span_times(samples: Mapping[int, TrainingSet], first: pd.Timestamp) -> pd.DatetimeIndex:
    """The bar times from ``first`` on at which every horizon has a sample.

    The longest horizon's labels end first, so the span ends there: a window
    must be traded by a model of every horizon.
    """
    common: pd.DatetimeIndex | None = None
    for ts in samples.values():
        times = pd.DatetimeIndex(ts.t0.unique())
        times = times[times >= first]
        common = times if common is None else common.intersection(times)
    if common is None:
        raise AlphagateError("no horizon to walk forward: the run has no trained horizon")
    return common.sort_values()


def retrain_windows(
    samples: Mapping[int, TrainingSet],
    recipes: Mapping[int, Recipe],
    columns: Mapping[int, str],
    *,
    first: pd.Timestamp,
    windows: int,
    embargo: float,
    task_map: TaskMap = serial_map,
) -> Retrained:
    """Retrain every horizon before each of ``windows`` windows from ``first`` on; predict each.

    The windows are the last ``windows * (n // windows)`` of the ``n`` span
    times (:func:`span_times`), so a remainder of fewer than ``windows`` bars
    at the span's start is left out, for every horizon alike. The fits run
    through ``task_map`` (module docstring); the result does not depend on it.

    Raises
    ------
    AlphagateError
        When the horizons' samples do not share the windows' bar times, or
        a window has no training row left after purging.
    """
    times = span_times(samples, first)
    size = len(times) // windows
    if windows < 2 or size < 1:
        raise AlphagateError(f"{len(times)} bar time(s) cannot make {windows} windows")
    last = times[-1]
    shared: dict[int, tuple[TrainingSet, Recipe]] = {}
    tasks: list[WindowTask] = []
    for h, ts in samples.items():
        clipped = ts.take(np.flatnonzero(np.asarray(pd.DatetimeIndex(ts.t0) <= last)))
        try:
            splits = walk_forward(
                clipped.t0, clipped.t1, n_splits=windows, test_size=size, embargo=embargo
            )
        except ValueError as error:
            raise AlphagateError(f"h{h}: cannot walk forward: {error}") from None
        shared[h] = (clipped, recipes[h])
        tasks.extend(WindowTask(h, s.train, s.test) for s in splits)
    found: dict[int, list[Fitted]] = {h: [] for h in samples}
    for task, fitted in zip(tasks, task_map(fit_task, tasks, shared=shared), strict=True):
        found[task.horizon].append(fitted)
    bounds = {h: [(start, end) for start, end, _, _ in fits] for h, fits in found.items()}
    if len({tuple(b) for b in bounds.values()}) != 1:
        raise AlphagateError(
            "the horizons' samples do not share bar times inside the out-of-sample span, so "
            f"their windows differ ({bounds}); check the bars for gaps in one symbol"
        )
    spans = next(iter(bounds.values()))
    result = tuple(
        Window(k, start, end, tuple(found[h][k][2] for h in sorted(found)))
        for k, (start, end) in enumerate(spans)
    )
    predictions = pd.DataFrame(
        {columns[h]: pd.concat([p for _, _, _, p in fits]) for h, fits in found.items()}
    )
    return Retrained(result, predictions.sort_index())


def _fit_window(ts: TrainingSet, train: np.ndarray, test: np.ndarray, recipe: Recipe) -> Fitted:
    """Train on ``train`` with ``test`` as the trainer's holdout; its calibrated P(up) on ``test``.

    ``train_horizon`` cuts its holdout as the last ``ceil(f * T)`` of the
    ``T`` bar times it is given; ``f = (k - 1/2) / T`` makes that exactly the
    window's ``k`` bar times, whatever the rounding of ``k / T`` would do.
    """
    rows = np.union1d(train, test)
    subset = ts.take(rows)
    test_times = pd.DatetimeIndex(ts.t0.iloc[test].unique())
    n_times = pd.DatetimeIndex(subset.t0.unique()).size
    fitted = train_horizon(
        subset,
        family=recipe.family,
        seed=recipe.seed,
        params=recipe.params,
        calibration=recipe.calibration,
        holdout_fraction=(test_times.size - 0.5) / n_times,
    )
    if fitted.holdout_positions.size != test.size:
        raise AlphagateError(
            f"h{ts.horizon}: the trainer held out {fitted.holdout_positions.size} row(s) where "
            f"the window has {test.size}; the window and the trainer's holdout disagree"
        )
    fit = WindowFit(ts.horizon, int(fitted.train_positions.size), int(test.size), fitted.evaluation)
    return test_times.min(), test_times.max(), fit, fitted.holdout_calibrated


def relative_gap(value: float, reference: float, floor: float) -> float | None:
    """``|value - reference| / max(|reference|, floor)``; ``None`` when either is undefined."""
    if not (math.isfinite(value) and math.isfinite(reference)):
        return None
    return abs(value - reference) / max(abs(reference), floor)


def walk_forward_checks(
    walked: Performance, single: Performance, config: WalkForwardConfig
) -> list[Check]:
    """The two checks of the rule (module docstring): return and Sharpe, each within tolerance."""
    checks = []
    for name, floor in (("total_return", config.return_floor), ("sharpe", config.sharpe_floor)):
        value, reference = getattr(walked, name), getattr(single, name)
        detail = (
            f"walk-forward {name} {value:.4g} vs single backtest {reference:.4g} on the same "
            f"span; gap / max(|single|, {floor:g})"
        )
        gap = relative_gap(value, reference, floor)
        checks.append(compare(f"walk_forward_{name}", gap, config.tolerance, "<", detail))
    return checks


def too_short_checks(n_times: int, config: WalkForwardConfig) -> list[Check]:
    """The rule's checks, failed: the span holds fewer than two windows of the least length."""
    why = (
        f"the out-of-sample span has {n_times} bar time(s), fewer than 2 windows of "
        f"gates.walk_forward.min_window_bars ({config.min_window_bars})"
    )
    return [
        compare(f"walk_forward_{name}", None, config.tolerance, "<", why)
        for name in ("total_return", "sharpe")
    ]


def window_performance(
    equity: pd.Series, windows: Sequence[Window], ppy: float
) -> list[Performance]:
    """Each window's return and Sharpe on an equity curve over the whole span.

    A window's returns are the bar-to-bar returns of its bars (the first
    window's first bar has none), so the windows' returns compound to the
    span's.
    """
    returns = equity.pct_change()
    index = pd.DatetimeIndex(returns.index)
    found = []
    for window in windows:
        part = returns[(index >= window.start) & (index <= window.end)].dropna()
        values = np.asarray(part, dtype=np.float64)
        found.append(Performance(float(np.prod(1.0 + values) - 1.0), sharpe(values, ppy)))
    return found
