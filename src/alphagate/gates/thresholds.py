"""Gate 1's thresholds for a trial count, and how that count is taken.

**The trial count** is every configuration evaluated on the same data, since
each one was a chance for luck to pass as skill:

* every Optuna trial in a study of that data (``runs/optuna.db``; a study's
  name ends with the first 12 hex digits of the data hash, see
  ``app.train``), of any state but "running" (a pruned or failed trial was
  still looked at);
* plus every training or pipeline run on that data hash that did *not*
  search (``trials: 0``): its one default configuration is a trial too;
* plus ``gates.extra_trials``, what was tried outside alphagate's records.

A run that searched, or that trained a study's best trial (``from_study``,
the gates' study watcher), is counted through its study's trials, not again
as a run. Horizons count separately (each has its own study), which overcounts
when the horizons share a configuration; the error is on the strict side.
The count is never below 1.

**Phases.** ``early`` below ``mid_from_trials``, then ``mid``, ``late`` and
``mature`` from their bounds on; each phase's thresholds are stricter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from alphagate.config import ValidationConfig
from alphagate.config.gates import GatesConfig, PhaseThresholds

Phase = Literal["early", "mid", "late", "mature"]


@dataclass(frozen=True)
class TrialCount:
    """How many configurations were tried on one data hash, and from where."""

    optuna_trials: int
    default_runs: int
    extra: int

    @property
    def total(self) -> int:
        """The count every multiple-testing correction uses; at least 1."""
        return max(1, self.optuna_trials + self.default_runs + self.extra)

    def to_json_dict(self) -> dict[str, int]:
        """The count's parts, as recorded in a transition's evidence."""
        return {
            "optuna_trials": self.optuna_trials,
            "default_runs": self.default_runs,
            "extra": self.extra,
            "total": self.total,
        }


def count_trials(
    data_hash: str,
    study_trials: Mapping[str, int],
    manifests: Iterable[Mapping[str, Any]],
    extra: int = 0,
) -> TrialCount:
    """Count the configurations tried on ``data_hash`` (see the module doc for the rule).

    ``study_trials`` maps each Optuna study's name to its finished trials;
    ``manifests`` are the training manifests of every run found.
    """
    tag = data_hash[:12]
    optuna = sum(n for name, n in study_trials.items() if tag and name.endswith(f"-{tag}"))
    defaults = sum(
        1
        for manifest in manifests
        if manifest.get("data_hash") == data_hash
        and not manifest.get("trials")
        and not manifest.get("from_study")  # a study's trial, counted with its study
    )
    return TrialCount(optuna, defaults, extra)


def phase_of(trials: int, config: GatesConfig) -> Phase:
    """The phase a trial count falls in."""
    if trials >= config.mature_from_trials:
        return "mature"
    if trials >= config.late_from_trials:
        return "late"
    if trials >= config.mid_from_trials:
        return "mid"
    return "early"


def thresholds_for(trials: int, config: GatesConfig) -> tuple[Phase, PhaseThresholds]:
    """The phase of ``trials`` and its thresholds."""
    phase = phase_of(trials, config)
    thresholds: PhaseThresholds = getattr(config, phase)
    return phase, thresholds


def validation_limits(thresholds: PhaseThresholds, base: ValidationConfig) -> ValidationConfig:
    """``base`` with gate 1's phase thresholds, for the validation checks to apply."""
    return base.model_copy(
        update={
            "min_sharpe": thresholds.min_sharpe,
            "max_drawdown": thresholds.max_drawdown,
            "min_win_rate": thresholds.min_win_rate,
            "min_deflated_sharpe": thresholds.min_deflated_sharpe,
        }
    )
