"""Composition of a traded run's staleness monitor, and what its changes leave behind.

One plan per run (:func:`plan_model_health`), built where the run's
out-of-sample bars are prepared, so a backtest, its ablation variants, a
paper session, its shadow backtest and each stress scenario get a fresh
:class:`~alphagate.engine.staleness_monitor.StalenessMonitor` from the same
models, profiles and settings (:meth:`ModelHealthPlan.monitor`). Each column
is judged from its horizon's training end (``train_end`` in the training
manifest) and feature profiles (``feature_profiles.json``, read through
:mod:`alphagate.runs`). What a run lacks is said once, as a warning, and
kept in the plan's notes for the reports.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from alphagate.config.trading import ModelStalenessConfig
from alphagate.engine.staleness import Freshness, trained_ns_from_manifest
from alphagate.engine.staleness_monitor import (
    FeatureWindow,
    StalenessChange,
    StalenessMonitor,
    WatchedModel,
)
from alphagate.errors import AlphagateError
from alphagate.runs import horizon_name, read_feature_profiles
from alphagate.strategies.model import ModelStrategy

_log = logging.getLogger("alphagate.staleness")

CHANGE_COLUMNS = ("ts", "column", "verdict", "confidence", "retrain", "reasons")


@dataclass(frozen=True, eq=False)
class ModelHealthPlan:
    """What every monitor of one run shares: the watched columns, settings, feature rows, notes."""

    models: tuple[WatchedModel, ...]
    settings: ModelStalenessConfig
    features: FeatureWindow | None
    notes: tuple[str, ...]

    @property
    def feature_names(self) -> frozenset[str]:
        """Every feature some column's PSI reads."""
        return frozenset(name for m in self.models for name in (m.profiles or {}))

    def window_of(self, features: pd.DataFrame) -> FeatureWindow:
        """The rows of ``features`` the PSI reads (only the profiled columns)."""
        return FeatureWindow.of_frame(features, sorted(self.feature_names))

    def monitor(self, features: FeatureWindow | None = None) -> StalenessMonitor:
        """A fresh monitor for one run, over ``features`` (default: the plan's own rows)."""
        return StalenessMonitor(
            self.models, features if features is not None else self.features, self.settings
        )


def plan_model_health(
    settings: ModelStalenessConfig,
    *,
    manifest: Mapping[str, Any],
    train_dir: Path,
    family: str,
    cuts: Mapping[int, pd.Timestamp],
    features: pd.DataFrame | None,
) -> ModelHealthPlan | None:
    """The monitor plan of a run's columns ``<family>_h<h>``; ``None`` when switched off.

    A run trained before ``train_end`` was kept is aged from its first
    holdout bar (``cuts``), the earliest bar it could have been trained to;
    one without profiles is not checked for drift. Both are said once.

    Raises
    ------
    AlphagateError
        When the manifest's ``train_end`` is not a tz-aware time, or a
        profile file is damaged, naming the file and what to do.
    """
    if not settings.enabled:
        return None
    models: list[WatchedModel] = []
    notes: list[str] = []
    for h, cut in sorted(cuts.items()):
        try:
            trained = trained_ns_from_manifest(manifest, h)
        except ValueError as error:
            raise AlphagateError(f"{train_dir}: {error}") from None
        if trained is None:
            trained = pd.Timestamp(cut).as_unit("ns").value
            notes.append(
                f"h{h}: the training manifest has no train_end (trained before it was kept); "
                f"the model is aged from its first holdout bar, {pd.Timestamp(cut).isoformat()}"
            )
        profiles = read_feature_profiles(train_dir / horizon_name(h))
        models.append(WatchedModel(f"{family}_h{h}", h, trained, profiles))
    plan = ModelHealthPlan(tuple(models), settings, None, ())
    notes.extend(plan.monitor().notes)
    for note in notes:
        _log.warning("model staleness: %s", note)
    window = plan.window_of(features) if features is not None and plan.feature_names else None
    return ModelHealthPlan(plan.models, settings, window, tuple(notes))


def monitor_of(strategy: ModelStrategy) -> StalenessMonitor | None:
    """The staleness monitor a model strategy consulted, if any."""
    return strategy.health if isinstance(strategy.health, StalenessMonitor) else None


def changes_frame(changes: list[StalenessChange]) -> pd.DataFrame:
    """One row per verdict change: when, which column, to what, the multiplier, the flag, why."""
    rows = [
        {
            "ts": pd.Timestamp(c.ts_ns, tz="UTC"),
            "column": c.column,
            "verdict": c.verdict.name.lower(),
            "confidence": c.confidence,
            "retrain": c.retrain,
            "reasons": "; ".join(c.reasons),
        }
        for c in changes
    ]
    return pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))


def staleness_summary(monitor: StalenessMonitor | None, notes: tuple[str, ...]) -> dict[str, Any]:
    """Per column: when it first warned and first went stale (and why), and its verdict at the end.

    ``{"enabled": False}`` without a monitor.
    """
    if monitor is None:
        return {"enabled": False}
    columns: dict[str, dict[str, Any]] = {}
    for column, report in sorted(monitor.latest.items()):
        entry: dict[str, Any] = {
            "verdict": report.verdict.name.lower(),
            "retrain": report.retrain,
            "reasons": list(report.reasons),
        }
        for level in (Freshness.WARN, Freshness.STALE):
            first = next(
                (c for c in monitor.changes if c.column == column and c.verdict >= level), None
            )
            entry[f"first_{level.name.lower()}"] = None if first is None else first.to_dict()
        columns[column] = entry
    return {
        "enabled": True,
        "retrain": monitor.retrain,
        "columns": columns,
        "changes": len(monitor.changes),
        "notes": list(notes),
    }
