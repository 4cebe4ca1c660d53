"""A traded model's staleness, judged bar by bar where the decision path runs.

:func:`~alphagate.engine.staleness.assess_model` judges a model once, from a
prediction log and a feature frame. A strategy needs that judgement at every
bar close, cheaply, and the same in a backtest, a paper replay and a stress
scenario, or the shadow backtest would stray. :class:`StalenessMonitor` is
that judgement kept up to date as the bars arrive (it is the
:class:`~alphagate.strategies.model.ModelHealth` a
:class:`~alphagate.strategies.model.ModelStrategy` consults):

* **Bar time only.** Every check is made at the close being decided, from
  what is known by then: the model's age is the bar's time minus the end of
  its training data; a prediction is scored once the bar ``h`` bars after it
  has closed (its outcome ``log(close[t+h] / close[t])``, as the decision
  path's own IC); the PSI reads the latest ``psi_window`` feature rows at or
  before the bar. Nothing reads the wall clock, so the same bars give the
  same reports wherever they are replayed, and removing later bars cannot
  change a report (the tests cut the bars to prove it).
* **Cheap per bar.** The age is checked at every bar; the PSI and the
  resolved IC and hit rate, which cost a pass over their windows, every
  ``check_every_bars`` bars (counted from the first bar the monitor sees,
  the same first bar in a backtest and in its replay). Between two such
  checks the last verdicts stand, and the worst verdict sets the multiplier
  as :func:`~alphagate.engine.staleness.report_of` does.
* **Changes are kept.** Each time a column's verdict moves (fresh, warn,
  stale), a :class:`StalenessChange` records the bar, the multiplier, the
  retrain flag and the reasons, so a report can say when the model went
  stale and why, and a paper session can raise its retrain flag.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphagate.config.trading import ModelStalenessConfig
from alphagate.domain.strategy import SymbolHistory
from alphagate.engine.drift import FeatureProfile, ProfileSet
from alphagate.engine.staleness import (
    Freshness,
    PredictionLog,
    StalenessCheck,
    StalenessReport,
    age_check,
    prediction_checks,
    psi_check,
    report_of,
)
from alphagate.models.calibration_metrics import expected_calibration_error

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class WatchedModel:
    """One prediction column to judge: its horizon, when its training data ends, its profiles.

    ``profiles`` is ``None`` for a run trained before profiles were saved:
    its PSI is not checked, and the monitor says so once (:attr:`StalenessMonitor.notes`).
    """

    column: str
    horizon: int
    trained_ns: int
    profiles: Mapping[str, FeatureProfile] | None


class FeatureWindow:
    """Feature rows in time order, read only up to a given bar.

    Rows of one instant keep the order they had in the frame, as
    :func:`~alphagate.engine.staleness.assess_model` orders them, so the two
    cut the same window.
    """

    def __init__(self, ts: IntArray, names: Sequence[str], values: FloatArray) -> None:
        if np.any(np.diff(ts) < 0):
            raise ValueError("a feature window's rows must be in time order")
        if values.shape != (len(ts), len(names)):
            raise ValueError(
                f"a feature window needs {len(ts)} rows x {len(names)} columns, got {values.shape}"
            )
        self._ts = ts
        self.names = tuple(names)
        self._values = values

    @classmethod
    def of_frame(cls, features: pd.DataFrame, names: Iterable[str] | None = None) -> FeatureWindow:
        """The ``names`` columns (default all) of a feature frame with a ``ts`` index level."""
        index = features.index
        stamps = index if isinstance(index, pd.DatetimeIndex) else index.get_level_values("ts")
        ts = pd.DatetimeIndex(stamps).as_unit("ns").asi8
        order = np.argsort(ts, kind="stable")
        wanted = [str(c) for c in features.columns] if names is None else list(names)
        kept = [name for name in wanted if name in features.columns]
        values = features[kept].to_numpy(dtype=np.float64, na_value=np.nan)[order]
        return cls(np.ascontiguousarray(ts[order]), kept, np.ascontiguousarray(values))

    def latest(self, now_ns: int, count: int) -> FloatArray:
        """The last ``count`` rows at or before ``now_ns`` (a view, oldest first, :attr:`names`)."""
        end = int(np.searchsorted(self._ts, now_ns, side="right"))
        return self._values[max(0, end - count) : end]


@dataclass(frozen=True, slots=True)
class StalenessChange:
    """A column's verdict moved at bar ``ts_ns``: to what, the multiplier, the flag and why."""

    ts_ns: int
    column: str
    verdict: Freshness
    confidence: float
    retrain: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready record (time in ISO 8601 UTC, verdict in lower case)."""
        return {
            "ts": pd.Timestamp(self.ts_ns, tz="UTC").isoformat(),
            "column": self.column,
            "verdict": self.verdict.name.lower(),
            "confidence": self.confidence,
            "retrain": self.retrain,
            "reasons": list(self.reasons),
        }


class _Resolutions:
    """One column's predictions waiting for their outcome, and the latest resolved ones.

    The resolved ones are kept in arrays (resolution time, time made, score,
    outcome) that are compacted to the latest ``2 * keep`` when full, so a
    check reads views instead of converting rows. Twice the window: ties at
    one resolution time are chosen by the time made
    (:meth:`~alphagate.engine.staleness.PredictionLog.resolved`), so a few
    more than the window are kept to choose from.
    """

    def __init__(self, horizon: int, keep: int) -> None:
        self.horizon = horizon
        # Per symbol, its predictions in row order: (row, time made, score).
        self.pending: dict[str, deque[tuple[int, int, float]]] = {}
        self._keep = 2 * keep
        size = 4 * keep
        self._resolves = np.empty(size, dtype=np.int64)
        self._made = np.empty(size, dtype=np.int64)
        self._score = np.empty(size, dtype=np.float64)
        self._outcome = np.empty(size, dtype=np.float64)
        self._length = 0

    def advance(self, symbol: str, history: SymbolHistory, p: float) -> None:
        """Score what the symbol's latest bar resolves, then hold its new prediction.

        Predictions wait in row order, so those due are at the front: a bar
        costs what it resolves, not what waits.
        """
        pending = self.pending.get(symbol)
        if pending is None:
            pending = self.pending[symbol] = deque()
        row = len(history) - 1
        h = self.horizon
        while pending and pending[0][0] + h <= row:
            made, made_ns, score = pending.popleft()
            outcome = math.log(float(history.close[made + h]) / float(history.close[made]))
            if math.isfinite(outcome):
                self._append(int(history.ts[made + h]), made_ns, score, outcome)
        if math.isfinite(p):
            pending.append((row, int(history.ts[row]), 2.0 * p - 1.0))

    def _append(self, resolves: int, made: int, score: float, outcome: float) -> None:
        if self._length == len(self._made):
            start, keep = self._length - self._keep, self._keep
            for array in (self._resolves, self._made, self._score, self._outcome):
                array[:keep] = array[start : self._length]
            self._length = keep
        i = self._length
        self._resolves[i], self._made[i] = resolves, made
        self._score[i], self._outcome[i] = score, outcome
        self._length += 1

    def log(self) -> PredictionLog:
        """The latest resolved predictions kept, as a prediction log (views)."""
        part = slice(max(0, self._length - self._keep), self._length)
        return PredictionLog(
            self._made[part], self._resolves[part], self._score[part], self._outcome[part]
        )


class StalenessMonitor:
    """Judges each watched column at every bar; its multipliers enter the decision path.

    Parameters
    ----------
    models
        The prediction columns to judge.
    features
        The feature rows the PSI reads (``None``: no PSI for any column).
    settings
        ``health.model``: thresholds, windows and ``check_every_bars``.
    """

    def __init__(
        self,
        models: Sequence[WatchedModel],
        features: FeatureWindow | None,
        settings: ModelStalenessConfig,
    ) -> None:
        self._models = tuple(models)
        self._features = features
        self._settings = settings
        self._psi = {m.column: _stacked(m.profiles, features) for m in models}
        self._resolutions = {m.column: _Resolutions(m.horizon, settings.window) for m in models}
        self._slow: dict[str, tuple[tuple[StalenessCheck, ...], dict[str, float], int]] = {}
        self._latest: dict[str, StalenessReport] = {}
        self._last_ts: int | None = None
        self._verdicts: dict[str, Freshness] = {m.column: Freshness.FRESH for m in models}
        self._bars = 0
        self.changes: list[StalenessChange] = []
        """Every verdict change so far, in bar order."""
        self.notes: tuple[str, ...] = ()
        """What the monitor cannot judge, to be said once."""
        unprofiled = ", ".join(m.column for m in models if m.profiles is None)
        if unprofiled:
            self.notes = (
                f"{unprofiled}: the run has no feature profiles, so the PSI check is skipped; "
                "retrain the run to save them",
            )

    @property
    def latest(self) -> Mapping[str, StalenessReport]:
        """Each column's report at the latest bar observed."""
        return self._latest

    @property
    def retrain(self) -> bool:
        """Whether any column is stale now."""
        return any(r.retrain for r in self._latest.values())

    def observe(
        self,
        ts: int,
        symbols: Sequence[str],
        history: Mapping[str, SymbolHistory],
        predicted: Mapping[str, Mapping[str, float]],
    ) -> dict[str, float]:
        """Take the bar closing at ``ts``; return each column's confidence multiplier there.

        ``symbols`` are those whose bar closed at ``ts``; ``predicted`` their
        calibrated P(up) per column (missing or NaN: no prediction).
        """
        self._last_ts = ts
        for symbol in sorted(symbols):
            made = predicted.get(symbol, {})
            for column, resolutions in self._resolutions.items():
                resolutions.advance(symbol, history[symbol], float(made.get(column, math.nan)))
        if self._bars % self._settings.check_every_bars == 0:
            for model in self._models:
                self._slow[model.column] = self._slow_checks(ts, model)
        self._bars += 1
        multipliers: dict[str, float] = {}
        for model in self._models:
            checks, drift, n_resolved = self._slow[model.column]
            age = age_check(ts, model.trained_ns, self._settings)
            report = report_of(ts, (age, *checks), drift, n_resolved, self._settings)
            self._latest[model.column] = report
            multipliers[model.column] = report.confidence
            verdict = report.verdict
            if verdict is not self._verdicts[model.column]:
                self._verdicts[model.column] = verdict
                self.changes.append(
                    StalenessChange(
                        ts, model.column, verdict, report.confidence, report.retrain,
                        report.reasons,
                    )
                )  # fmt: skip
        return multipliers

    def calibration_error(self, column: str) -> float | None:
        """ECE of the column's latest resolved predictions; ``None`` while fewer than judged.

        The forecast is the calibrated P(up) (``(score + 1) / 2``), the outcome
        whether the price rose over the horizon; bars where it did not move
        are left out, as the hit rate leaves them out. Read by the monitor
        (``alphagate serve``), never by trading: it changes no multiplier.
        """
        if self._last_ts is None or column not in self._resolutions:
            return None
        settings = self._settings
        log = self._resolutions[column].log()
        score, outcome = log.resolved(self._last_ts, settings.window)
        moved = outcome != 0.0
        if int(moved.sum()) < settings.min_resolved:
            return None
        up = (outcome[moved] > 0.0).astype(np.float64)
        return expected_calibration_error((score[moved] + 1.0) / 2.0, up)

    def summary(self) -> str:
        """One line for a panel: the worst column's verdict, and the retrain flag."""
        if not self._latest:
            return "not judged yet"
        column, report = max(self._latest.items(), key=lambda item: item[1].verdict)
        if report.verdict is Freshness.FRESH:
            return "fresh"
        flag = "; retrain" if report.retrain else ""
        return f"{report.verdict.name.lower()} ({column}: {report.reasons[0]}){flag}"

    def _slow_checks(
        self, ts: int, model: WatchedModel
    ) -> tuple[tuple[StalenessCheck, ...], dict[str, float], int]:
        """The PSI, IC and hit-rate checks at ``ts``, with the PSI per feature and the count."""
        settings = self._settings
        drift: dict[str, float] = {}
        stacked = self._psi[model.column]
        if stacked is not None and self._features is not None:
            profiles, columns = stacked
            recent = self._features.latest(ts, settings.psi_window)[:, columns]
            drift = profiles.psi(
                recent, min_rows=settings.psi_min_rows, epsilon=settings.psi_epsilon
            )
        score, outcome = self._resolutions[model.column].log().resolved(ts, settings.window)
        checks = (
            psi_check(drift, settings, profiled=model.profiles is not None),
            *prediction_checks(score, outcome, settings),
        )
        return checks, drift, len(score)


def _stacked(
    profiles: Mapping[str, FeatureProfile] | None, features: FeatureWindow | None
) -> tuple[ProfileSet, IntArray] | None:
    """The profiles of the features the window holds, stacked, and their columns in it."""
    if profiles is None or features is None:
        return None
    position = {name: i for i, name in enumerate(features.names)}
    names = [name for name in profiles if name in position]
    stacked = ProfileSet({name: profiles[name] for name in names})
    return stacked, np.array([position[name] for name in names], dtype=np.int64)
