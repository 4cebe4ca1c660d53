"""The Optuna-study watcher: a study's new best trial becomes a trained, submitted candidate.

Each pass of ``alphagate gates run`` (``--once`` or ``--daemon``) polls the
study storage (``runs/optuna.db``) through Optuna's public API. A study the
training command made (named ``<family>-h<h>-<config hash>-<data hash[:12]>``)
whose bars are the ones the gates trade now, and whose best complete trial is
not a candidate yet, gets that trial trained into a run by the training
composition itself (:func:`alphagate.app.train.run_training` with the
trial's parameters as ``searched``: one trainer, never a second), and the run
is submitted.

**Once per (study, trial).** The candidate's id (and run id) is derived
from the study's name and the trial's number, and the registration records
both (``origin`` in its evidence). The database refuses a second
registration of the same id, so two watchers, or a watcher restarted after
a crash, make one candidate of a trial; a crash between training and
submitting leaves the run, which the next pass submits without training
again. Why not a table of its own: the registration is the one write that
makes a candidate, so recording its origin there leaves no moment at which
a table and the candidates disagree.

A study on other bars is skipped: its trials were scored on data the gates
would not judge the candidate on. Only the current best is looked at: a
best superseded between two passes was never the study's answer.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from alphagate.app.gates import Step, submit
from alphagate.app.trading_db import open_trading_store
from alphagate.config import Settings
from alphagate.errors import AlphagateError
from alphagate.gates.candidates import GateState
from alphagate.ports import Notifier
from alphagate.runs import find_run

STUDIES = "optuna.db"
_NAME = re.compile(r"^(?P<family>[a-z_]+)-h(?P<horizon>\d+)-[0-9a-f]+-(?P<data>[0-9a-f]{12})$")

log = logging.getLogger("alphagate.gates")


@dataclass(frozen=True)
class BestTrial:
    """A study's best complete trial, as the watcher found it."""

    study_name: str
    family: str
    horizon: int
    data_tag: str
    number: int
    value: float
    params: dict[str, Any]
    n_trials: int

    @property
    def candidate_id(self) -> str:
        """``optuna-<family>-h<h>-<digest of the study's name>-t<trial number>``."""
        digest = hashlib.sha256(self.study_name.encode()).hexdigest()[:10]
        return f"optuna-{self.family}-h{self.horizon}-{digest}-t{self.number}"

    def origin(self) -> dict[str, Any]:
        """What the registration records of where the candidate came from."""
        return {
            "source": "optuna",
            "study": self.study_name,
            "trial": self.number,
            "trial_value": self.value,
            "trial_params": self.params,
            "study_trials": self.n_trials,
        }


def best_trials(runs_dir: Path) -> list[BestTrial]:
    """The best complete trial of every study named by the training command, by study name."""
    path = runs_dir / STUDIES
    if not path.is_file():
        return []
    import optuna

    from alphagate.training.search import SEARCH_SPACES

    found = []
    storage = f"sqlite:///{path}"
    for summary in optuna.get_all_study_summaries(storage=storage, include_best_trial=True):
        named = _NAME.match(summary.study_name)
        best = summary.best_trial
        if named is None or named["family"] not in SEARCH_SPACES or best is None:
            continue  # not a training study, or nothing finished yet
        found.append(
            BestTrial(
                study_name=summary.study_name,
                family=named["family"],
                horizon=int(named["horizon"]),
                data_tag=named["data"],
                number=best.number,
                value=float(best.value) if best.value is not None else float("nan"),
                params=dict(best.params),
                n_trials=summary.n_trials,
            )
        )
    return sorted(found, key=lambda b: b.study_name)


def watch(
    settings: Settings,
    runs_dir: Path,
    bars: Callable[[], pd.DataFrame],
    *,
    dry_run: bool = False,
    notifier: Notifier | None = None,
) -> list[Step]:
    """Turn every study's new best trial into a candidate; one :class:`Step` per new one.

    ``bars`` are loaded only when a best trial is not a candidate yet; a
    study whose data tag is not theirs is skipped. ``dry_run`` trains and
    records nothing and says what it would do.
    """
    store = open_trading_store(settings)
    try:
        new = [b for b in best_trials(runs_dir) if not store.transitions(b.candidate_id)]
    finally:
        store.close()
    if not new:
        return []
    from alphagate.app.train import data_hash

    tag = data_hash(bars())[:12]
    steps = []
    for best in new:
        if best.data_tag != tag:
            log.debug("study %s is on other bars than the gates' (%s); skipped", best, tag)
            continue
        what = f"best trial {best.number} of study {best.study_name}"
        if dry_run:
            steps.append(Step(best.candidate_id, GateState.REGISTERED, f"would train {what}"))
            continue
        trained = _train(settings, runs_dir, bars(), best)
        move = submit(settings, runs_dir, best.candidate_id, notifier, best.origin())
        action = f"{what} {'trained' if trained else 'found trained'} and submitted"
        steps.append(Step(best.candidate_id, GateState.REGISTERED, action, move))
    return steps


def _train(settings: Settings, runs_dir: Path, bars: pd.DataFrame, best: BestTrial) -> bool:
    """Train ``best``'s parameters into run ``best.candidate_id``; False when it was already."""
    try:
        find_run(runs_dir, best.candidate_id).training_manifest()
    except AlphagateError:
        pass
    else:
        return False  # a pass that crashed after training: submit what it left
    from alphagate.app.train import run_training

    search = {
        "best_params": best.params,
        "best_score": best.value,
        "n_trials": best.n_trials,
        "study_name": best.study_name,
        "best_trial": best.number,
    }
    run_training(
        settings,
        bars,
        family=best.family,  # type: ignore[arg-type]  # checked against SEARCH_SPACES
        horizons=(best.horizon,),
        seed=settings.pipeline.seed,
        calibration=settings.pipeline.calibration_methods[0],
        runs_dir=runs_dir,
        run_id=best.candidate_id,
        searched={best.horizon: search},
    )
    return True
