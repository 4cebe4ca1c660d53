"""Model staleness: is a trained model still the model of this market?

A model learns one period's relations; markets move on. Three symptoms say
it has aged, each checked against thresholds in ``health.model``
(:class:`~alphagate.config.trading.ModelStalenessConfig`):

``age``
    Days from the end of the model's training data (the training manifest's
    ``train_end``: the last bar a training sample read) to the bar being
    judged: bar time, never the wall clock, so a backtest and a replay age a
    model as live trading would have.
``psi``
    The population stability index of each feature's recent values against
    its training distribution (:mod:`alphagate.engine.drift`): the inputs no
    longer look like what the model learnt from.
``ic`` and ``accuracy``
    The rolling Spearman IC and hit rate of *resolved* predictions only. A
    prediction made at ``t`` with horizon ``h`` has an outcome at ``t + h``
    and is scored from then on, never before: a report at ``now`` reads
    nothing that happened after ``now``, so removing later rows cannot change
    it (point in time, like the decision path's own rolling IC).

Each check is fresh, warn or stale. The worst one sets the report's
confidence multiplier (1, ``warn_multiplier`` or ``stale_multiplier``), which
the decision path multiplies into the model's confidence; any stale check
raises ``retrain``. The worst rather than the product, so three mild warnings
do not add up to a stale model. A check without enough data (too few
resolved predictions, too few feature rows) is fresh and says so: a new
model is not punished for being new.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphagate.config.trading import ModelStalenessConfig
from alphagate.decision.confidence import spearman
from alphagate.domain.instants import NS_PER_DAY, check_ns
from alphagate.engine.drift import FeatureProfile, ProfileSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Freshness(IntEnum):
    """One check's verdict, ordered so that ``max`` is the worst."""

    FRESH = 0
    WARN = 1
    STALE = 2


@dataclass(frozen=True, slots=True)
class StalenessCheck:
    """One symptom: its measured value (``None`` without enough data) and verdict."""

    name: str
    value: float | None
    verdict: Freshness
    detail: str


@dataclass(frozen=True, slots=True)
class StalenessReport:
    """Every check at ``now_ns``, the confidence multiplier in [0, 1] and the retrain flag."""

    now_ns: int
    checks: tuple[StalenessCheck, ...]
    psi: Mapping[str, float]
    n_resolved: int
    confidence: float
    retrain: bool

    @property
    def verdict(self) -> Freshness:
        """The worst check's verdict."""
        return max((c.verdict for c in self.checks), default=Freshness.FRESH)

    @property
    def reasons(self) -> tuple[str, ...]:
        """One line per check that is not fresh, worst first."""
        ordered = sorted((c for c in self.checks if c.verdict), key=lambda c: -c.verdict)
        return tuple(f"{c.name} {c.verdict.name.lower()}: {c.detail}" for c in ordered)


@dataclass(frozen=True, slots=True)
class PredictionLog:
    """A model's predictions and, once known, their outcomes, as parallel arrays.

    Parameters
    ----------
    made_ns
        When each prediction was made (int64 ns UTC).
    resolves_ns
        When its outcome becomes known: ``made_ns + horizon`` (the label's
        ``t1``); never before ``made_ns``.
    score
        The signed forecast: above 0 means "up" (e.g. ``2p - 1`` of a
        probability, or a predicted return).
    outcome
        The realised return; NaN while unknown.
    """

    made_ns: IntArray
    resolves_ns: IntArray
    score: FloatArray
    outcome: FloatArray

    def __post_init__(self) -> None:
        n = len(self.made_ns)
        if not len(self.resolves_ns) == len(self.score) == len(self.outcome) == n:
            raise ValueError("a prediction log needs arrays of one length")
        if np.any(np.asarray(self.resolves_ns) < np.asarray(self.made_ns)):
            raise ValueError("a prediction cannot resolve before it was made")

    def resolved(self, now_ns: int, window: int) -> tuple[FloatArray, FloatArray]:
        """Scores and outcomes of the latest ``window`` predictions resolved by ``now_ns``.

        Latest by resolution time, ties by the time made, so the window is the
        same whatever order the rows were logged in.
        """
        made = np.asarray(self.made_ns, dtype=np.int64)
        resolves = np.asarray(self.resolves_ns, dtype=np.int64)
        score = np.asarray(self.score, dtype=np.float64)
        outcome = np.asarray(self.outcome, dtype=np.float64)
        known = (resolves <= now_ns) & np.isfinite(score) & np.isfinite(outcome)
        order = np.lexsort((made[known], resolves[known]))[-window:]
        return score[known][order], outcome[known][order]


def trained_ns_from_manifest(manifest: Mapping[str, object], horizon: int) -> int | None:
    """When a horizon's training data ends, in int64 ns; ``None`` for a run older than that record.

    Read from the training manifest's ``per_horizon.<h>.train_end`` (the
    latest ``t1`` of the samples the final model was fitted on), else the
    run's ``train_end``.

    Raises
    ------
    ValueError
        When the value is there but is not a tz-aware time: an unknown age
        cannot be judged, so retrain the run rather than guess.
    """
    entry = manifest.get("per_horizon")
    raw: object = None
    if isinstance(entry, Mapping) and isinstance(entry.get(str(horizon)), Mapping):
        raw = entry[str(horizon)].get("train_end")
    if raw is None:
        raw = manifest.get("train_end")
    if raw is None:
        return None
    try:
        stamp = pd.Timestamp(str(raw))
    except ValueError:
        stamp = None
    if stamp is None or stamp.tzinfo is None:
        raise ValueError(
            f"the training manifest's train_end {raw!r} is not a tz-aware time; "
            "retrain the run or write train_end in ISO 8601 with its offset"
        )
    return int(stamp.tz_convert("UTC").as_unit("ns").value)


def assess_model(
    now_ns: int,
    *,
    trained_ns: int,
    profiles: Mapping[str, FeatureProfile],
    features: pd.DataFrame | None,
    predictions: PredictionLog,
    settings: ModelStalenessConfig,
) -> StalenessReport:
    """Judge one model at ``now_ns`` from its age, feature drift and resolved predictions.

    Parameters
    ----------
    now_ns
        The evaluation time (int64 ns UTC); the caller's clock, never read here.
    trained_ns
        When the model was trained (:func:`trained_ns_from_manifest`).
    profiles
        Each feature's training distribution (:func:`~alphagate.engine.drift.profile_features`).
    features
        Recent feature values, one column per feature, with a tz-aware ``ts``
        index level (or a ``DatetimeIndex``); rows after ``now_ns`` are ignored
        and the latest ``psi_window`` rows up to it are compared.
    predictions
        The model's prediction log.
    settings
        Thresholds and windows (``health.model``).
    """
    now = check_ns(now_ns, "now_ns")
    drift = _feature_psi(now, profiles, features, settings)
    score, outcome = predictions.resolved(now, settings.window)
    checks = (
        age_check(now, check_ns(trained_ns, "trained_ns"), settings),
        psi_check(drift, settings),
        *prediction_checks(score, outcome, settings),
    )
    return report_of(now, checks, drift, len(score), settings)


def report_of(
    now_ns: int,
    checks: tuple[StalenessCheck, ...],
    drift: Mapping[str, float],
    n_resolved: int,
    settings: ModelStalenessConfig,
) -> StalenessReport:
    """The report of checks made at ``now_ns``: the worst sets the multiplier and the flag.

    Kept apart from :func:`assess_model` so a monitor that refreshes the
    costlier checks every few bars combines them by the same rule.
    """
    worst = max((c.verdict for c in checks), default=Freshness.FRESH)
    multiplier = {
        Freshness.FRESH: 1.0,
        Freshness.WARN: settings.warn_multiplier,
        Freshness.STALE: settings.stale_multiplier,
    }[worst]
    return StalenessReport(
        now_ns=now_ns,
        checks=checks,
        psi=drift,
        n_resolved=n_resolved,
        confidence=multiplier,
        retrain=worst is Freshness.STALE,
    )


def age_check(now: int, trained: int, settings: ModelStalenessConfig) -> StalenessCheck:
    """Stale once more than ``max_age_days`` separate ``now`` from the end of training."""
    days = (now - trained) / NS_PER_DAY
    verdict = Freshness.STALE if days > settings.max_age_days else Freshness.FRESH
    trained_at = _iso_seconds(trained)
    return StalenessCheck(
        "age",
        days,
        verdict,
        f"training data ends {trained_at}, {days:.1f} days before; "
        f"stale after {settings.max_age_days:g}",
    )


@functools.lru_cache(maxsize=64)
def _iso_seconds(ns: int) -> str:
    """An instant in ISO 8601 to the second; cached, as a monitor names one end of training."""
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).isoformat(timespec="seconds")


def _feature_psi(
    now: int,
    profiles: Mapping[str, FeatureProfile],
    features: pd.DataFrame | None,
    settings: ModelStalenessConfig,
) -> dict[str, float]:
    """PSI of each profiled feature over its latest rows up to ``now``; too few rows: left out."""
    if features is None or features.empty or not profiles:
        return {}
    index = features.index
    stamps = index if isinstance(index, pd.DatetimeIndex) else index.get_level_values("ts")
    ts = pd.DatetimeIndex(stamps).as_unit("ns").asi8
    past = np.flatnonzero(ts <= now)
    # Stable by time, so rows of one instant keep their order and the window is reproducible.
    window = past[np.argsort(ts[past], kind="stable")][-settings.psi_window :]
    recent = {
        name: features[name].to_numpy(dtype=np.float64)[window]
        for name in profiles
        if name in features.columns
    }
    return feature_psi(profiles, recent, settings)


def feature_psi(
    profiles: Mapping[str, FeatureProfile],
    recent: Mapping[str, FloatArray],
    settings: ModelStalenessConfig,
) -> dict[str, float]:
    """PSI of each profiled feature's ``recent`` values (the window already cut at ``now``).

    Non-finite values (a feature's warm-up) are left out; a feature with
    fewer than ``psi_min_rows`` left is not judged.
    """
    names = [name for name in profiles if name in recent]
    if not names:
        return {}
    stacked = ProfileSet({name: profiles[name] for name in names})
    values = np.column_stack([np.asarray(recent[name], dtype=np.float64) for name in names])
    return stacked.psi(values, min_rows=settings.psi_min_rows, epsilon=settings.psi_epsilon)


NO_PROFILES = "the run has no feature profiles (trained before they were saved): PSI not checked"


def psi_check(
    drift: Mapping[str, float], settings: ModelStalenessConfig, *, profiled: bool = True
) -> StalenessCheck:
    """The worst feature's PSI against the thresholds; fresh without profiles or enough rows."""
    if not profiled:
        return StalenessCheck("psi", None, Freshness.FRESH, NO_PROFILES)
    if not drift:
        return StalenessCheck("psi", None, Freshness.FRESH, "too few feature rows to judge")
    worst = max(drift, key=lambda name: drift[name])
    value = drift[worst]
    verdict = _above(value, settings.psi_warn, settings.psi_stale)
    return StalenessCheck(
        "psi",
        value,
        verdict,
        f"worst feature {worst} PSI {value:.3f} (warn {settings.psi_warn:g}, "
        f"stale {settings.psi_stale:g})",
    )


def prediction_checks(
    score: FloatArray, outcome: FloatArray, settings: ModelStalenessConfig
) -> tuple[StalenessCheck, StalenessCheck]:
    """The rolling IC and hit rate of resolved (score, outcome) pairs; fresh while too few."""
    n = len(score)
    if n < settings.min_resolved:
        detail = f"{n} resolved predictions, {settings.min_resolved} needed to judge"
        return (
            StalenessCheck("ic", None, Freshness.FRESH, detail),
            StalenessCheck("accuracy", None, Freshness.FRESH, detail),
        )
    ic = spearman(score, outcome)
    ic_check = StalenessCheck(
        "ic",
        ic,
        _below(ic, settings.ic_warn, settings.ic_stale),
        f"rolling IC {ic:.3f} over {n} resolved (warn <= {settings.ic_warn:g}, "
        f"stale <= {settings.ic_stale:g})",
    )
    # A flat forecast or a flat outcome is neither right nor wrong: left out of the hit rate.
    called = (score != 0) & (outcome != 0)
    if not called.any():
        return ic_check, StalenessCheck("accuracy", None, Freshness.FRESH, "no directional calls")
    accuracy = float(np.mean((score[called] > 0) == (outcome[called] > 0)))
    return ic_check, StalenessCheck(
        "accuracy",
        accuracy,
        _below(accuracy, settings.accuracy_warn, settings.accuracy_stale),
        f"hit rate {accuracy:.1%} over {int(called.sum())} calls (warn <= "
        f"{settings.accuracy_warn:.0%}, stale <= {settings.accuracy_stale:.0%})",
    )


def _above(value: float, warn: float, stale: float) -> Freshness:
    if value >= stale:
        return Freshness.STALE
    return Freshness.WARN if value >= warn else Freshness.FRESH


def _below(value: float, warn: float, stale: float) -> Freshness:
    if value <= stale:
        return Freshness.STALE
    return Freshness.WARN if value <= warn else Freshness.FRESH
