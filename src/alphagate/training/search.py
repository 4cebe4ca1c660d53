"""Hyperparameter search with Optuna, scored by purged cross-validated log loss.

Why these choices:

* **Purged k-fold, not a random split.** A random validation split on
  overlapping labels scores a model on returns it trained on; the search
  would then prefer whatever memorises best. The folds are those of
  ``alphagate.training.splits.purged_kfold``.
* **Log loss, minimised.** It is a proper scoring rule on the probability
  itself, which is what position sizing reads; accuracy is flat in most of
  the search space and would give the sampler nothing to follow.
* **TPE seeded, median pruning by fold.** The sampler is seeded so that the
  same data and seed propose the same trials; after each fold the trial
  reports its running mean loss, and a trial worse than the median of earlier
  trials at the same fold is stopped, saving most of the cost of bad regions.
* **Resumable storage.** With ``storage_url`` (e.g.
  ``sqlite:///runs/optuna.db``) and ``load_if_exists=True`` a second call
  with the same ``study_name`` adds trials to the same study, so an
  interrupted search loses only its running trial.
* **Parallel trials share that storage.** With ``workers > 1`` the trials
  are cut into one share per worker; each worker loads the same study from
  the storage (``optuna.load_study``) and runs its share, its sampler seeded
  by the number of its first trial. The fan-out is a ``task_map`` the caller
  passes (``alphagate.parallel.map``: processes or Ray; this ring may not
  import it), so an RDB storage every worker can reach is the only
  rendezvous: SQLite on one machine, PostgreSQL across several.

**What is reproducible.** With one worker, everything: the same data, seed
and storage state propose the same trials, score them the same and pick
the same best (this is the serial search, unchanged). With several, each
proposed set of parameters still scores the same (the folds and every model
are seeded), each worker's own random draws are seeded, and the study ends
with exactly ``n_trials`` more finished trials; but which parameters are
proposed is not reproducible: TPE proposes from the trials finished so far,
every worker's included, and which of them have finished when a worker asks
depends on timing. Median pruning compares a trial with those that reached
the same fold first, so which trials are pruned depends on timing too. So a
parallel search is not the serial search run faster, and two parallel runs
differ: its best is the best of the trials it ran, read back from the
storage, and is reproducible only as "these parameters score this".

The search spaces are per family and deliberately narrow: wide ones mostly
find noise on financial data.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import optuna

from alphagate.errors import AlphagateError
from alphagate.models.calibration_metrics import log_loss
from alphagate.models.factory import Family, make_model
from alphagate.training.dataset import TrainingSet
from alphagate.training.splits import purged_kfold

optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass(frozen=True)
class SearchResult:
    """The outcome of a (possibly resumed) study.

    Attributes
    ----------
    best_params
        The flat parameters of the best complete trial, ready for ``make_model``.
    best_score
        Its mean purged-CV log loss.
    n_trials
        Trials in the study, all runs together (pruned and failed included).
    study_name
        The study's name in its storage.
    """

    best_params: dict[str, Any]
    best_score: float
    n_trials: int
    study_name: str


def _logreg_space(trial: optuna.Trial) -> dict[str, Any]:
    return {"C": trial.suggest_float("C", 1e-3, 1e2, log=True)}


def _lightgbm_space(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "num_leaves": trial.suggest_int("num_leaves", 8, 128),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 10, 200),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-8, 10.0, log=True),
    }


def _catboost_space(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "depth": trial.suggest_int("depth", 3, 8),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
        "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 1.0, 10.0),
    }


def _deep_space(trial: optuna.Trial) -> dict[str, Any]:
    """Architecture sizes of the PyTorch families, kept small: 2 heads divide every width."""
    return {
        "window": trial.suggest_categorical("window", [8, 16, 32]),
        "hidden_size": trial.suggest_categorical("hidden_size", [8, 16, 32]),
        "layers": trial.suggest_int("layers", 1, 2),
        "dropout": trial.suggest_float("dropout", 0.0, 0.3),
        "learning_rate": trial.suggest_float("learning_rate", 1e-3, 1e-2, log=True),
    }


SEARCH_SPACES: dict[str, Callable[[optuna.Trial], dict[str, Any]]] = {
    "logreg": _logreg_space,
    "lightgbm": _lightgbm_space,
    "catboost": _catboost_space,
    "cnn_lstm": _deep_space,
    "tft": _deep_space,
    "nbeats": _deep_space,
}


def _objective(
    ts: TrainingSet,
    *,
    family: Family,
    seed: int,
    n_splits: int,
    embargo: float,
    fixed_params: Mapping[str, Any],
) -> Callable[[optuna.Trial], float]:
    """The trial function: fit each purged fold, report the running mean loss, maybe prune."""
    splits = purged_kfold(ts.t0, ts.t1, n_splits=n_splits, embargo=embargo)
    space = SEARCH_SPACES[family]

    def objective(trial: optuna.Trial) -> float:
        params = {**fixed_params, **space(trial)}
        losses: list[float] = []
        for step, split in enumerate(splits):
            model = make_model(family, seed=seed, params=params)
            model.fit(
                ts.X.iloc[split.train],
                ts.y.iloc[split.train],
                sample_weight=ts.weights.iloc[split.train],
            )
            p = model.predict_proba(ts.X.iloc[split.test])
            losses.append(log_loss(p, ts.y.iloc[split.test].to_numpy()))
            trial.report(float(np.mean(losses)), step)
            if trial.should_prune():
                raise optuna.TrialPruned
        return float(np.mean(losses))

    return objective


@dataclass(frozen=True)
class TrialJob:
    """What every worker of a parallel search needs, sent to each once (``shared``)."""

    ts: TrainingSet
    family: Family
    seed: int
    n_splits: int
    embargo: float
    fixed_params: Mapping[str, Any]
    study_name: str
    storage_url: str


@dataclass(frozen=True)
class TrialShare:
    """One worker's part of a search: how many trials, and its sampler's seed."""

    worker: int
    n_trials: int
    sampler_seed: int


@dataclass(frozen=True)
class ShareOutcome:
    """How a worker's share ended: ``error`` is ``None``, or the trial error that stopped it."""

    worker: int
    error: str | None


class TaskMap(Protocol):
    """``[fn(shared, item) for item in items]``, wherever the caller runs it.

    ``alphagate.parallel.map`` with its ``workers``/``backend`` bound fits;
    so does the in-process :func:`serial_map`.
    """

    def __call__(
        self,
        fn: Callable[[TrialJob, TrialShare], ShareOutcome],
        items: Sequence[TrialShare],
        /,
        *,
        shared: TrialJob,
    ) -> list[Any]: ...


def serial_map(
    fn: Callable[[TrialJob, TrialShare], ShareOutcome],
    items: Sequence[TrialShare],
    /,
    *,
    shared: TrialJob,
) -> list[Any]:
    """The shares one after another in this process: the default without a real fan-out."""
    return [fn(shared, item) for item in items]


def trial_shares(n_trials: int, workers: int, first_seed: int) -> list[TrialShare]:
    """``n_trials`` cut into at most ``workers`` shares that differ by at most one trial.

    Worker ``k``'s sampler is seeded with ``first_seed`` plus the number of
    trials before its share, so one worker gets exactly the serial search's
    seed and no two workers draw the same random start-up trials.
    """
    count = min(workers, n_trials)
    sizes = [n_trials // count + (1 if k < n_trials % count else 0) for k in range(count)]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return [
        TrialShare(k, size, first_seed + int(start))
        for k, (size, start) in enumerate(zip(sizes, starts, strict=True))
    ]


def _pruner() -> optuna.pruners.BasePruner:
    return optuna.pruners.MedianPruner()


def _storage(url: str) -> str | optuna.storages.BaseStorage:
    """The storage of ``url``; SQLite with a long lock timeout, for workers that write together.

    SQLite lets one writer in at a time; the driver's default 5 s wait is short
    when several processes finish trials together, so a worker waits longer
    rather than failing its trial with "database is locked".
    """
    if not url.startswith("sqlite"):
        return url
    return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})


def run_share(job: TrialJob, share: TrialShare) -> ShareOutcome:
    """Run one worker's share of trials on the shared study (a ``task_map`` task).

    A failing trial is stored by Optuna as failed and stops this share only;
    its error comes back in the outcome, so the other workers finish theirs.
    """
    study = optuna.load_study(
        study_name=job.study_name,
        storage=_storage(job.storage_url),
        sampler=optuna.samplers.TPESampler(seed=share.sampler_seed),
        pruner=_pruner(),
    )
    objective = _objective(
        job.ts,
        family=job.family,
        seed=job.seed,
        n_splits=job.n_splits,
        embargo=job.embargo,
        fixed_params=job.fixed_params,
    )
    try:
        study.optimize(objective, n_trials=share.n_trials)
    except Exception as error:  # reported per share by the caller, the others run on
        return ShareOutcome(share.worker, f"{type(error).__name__}: {error}")
    return ShareOutcome(share.worker, None)


_FINISHED = (
    optuna.trial.TrialState.COMPLETE,
    optuna.trial.TrialState.PRUNED,
    optuna.trial.TrialState.FAIL,
)


class _TrialCounter:
    """Calls ``on_trial(done, total)`` as trials finish in a study other processes write to.

    The workers' trials are visible to this process only through the storage,
    so a thread reads the count of finished trials there every ``interval``
    seconds; a parallel map has no per-trial event to hook instead.
    """

    def __init__(
        self,
        study: optuna.Study,
        total: int,
        on_trial: Callable[[int, int], None],
        interval: float = 0.5,
    ) -> None:
        self._study, self._total, self._on_trial = study, total, on_trial
        self._before = self._finished()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="trial-counter", daemon=True)

    def _finished(self) -> int:
        return len(self._study.get_trials(deepcopy=False, states=_FINISHED))

    def report(self) -> None:
        """Tell ``on_trial`` the trials finished since this search began."""
        self._on_trial(min(self._finished() - self._before, self._total), self._total)

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            self.report()

    def __enter__(self) -> _TrialCounter:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.report()


def search_hyperparameters(
    ts: TrainingSet,
    *,
    family: Family,
    n_trials: int,
    seed: int,
    study_name: str,
    storage_url: str | None = None,
    n_splits: int = 5,
    embargo: float = 0.01,
    fixed_params: Mapping[str, Any] | None = None,
    workers: int = 1,
    task_map: TaskMap = serial_map,
    on_trial: Callable[[int, int], None] | None = None,
) -> SearchResult:
    """Run ``n_trials`` more trials of ``family``'s search space and return the best so far.

    Parameters
    ----------
    ts
        The samples to cross-validate on (the training part only: never
        search on the holdout that will judge the result).
    family
        A family of ``SEARCH_SPACES``.
    n_trials
        Trials to add in this call.
    seed
        Seeds the sampler and every model.
    study_name
        Name of the study; an existing one in ``storage_url`` is resumed.
    storage_url
        An Optuna storage URL, or ``None`` for an in-memory study.
    n_splits, embargo
        The purged k-fold.
    fixed_params
        Parameters every trial shares, under the searched ones (the deep
        families' epochs, patience, device from ``pipeline.deep``).
    workers
        Workers sharing the trials through ``storage_url`` (module
        docstring: what stays reproducible with more than one).
    task_map
        Runs the workers' shares (:func:`run_share`): ``alphagate.parallel.map``
        with its workers and backend bound, or :func:`serial_map`.
    on_trial
        Called with ``(finished, n_trials)`` as this call's trials finish,
        for a progress bar.

    Raises
    ------
    ValueError
        Unknown family, ``n_trials < 1`` or ``workers < 1``, or several
        workers without a storage to share.
    AlphagateError
        With several workers, when a trial failed: every worker's error is
        named; the trials that finished stay in the storage, and a second
        call resumes the study. (One worker raises the trial's own error.)
    """
    if family not in SEARCH_SPACES:
        raise ValueError(f"no search space for family {family!r}; known: {sorted(SEARCH_SPACES)}")
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if workers > 1 and storage_url is None:
        raise ValueError(
            "an in-memory study cannot be shared by workers; give a storage_url "
            "(sqlite:///... on one machine, postgresql+psycopg://... across several)"
        )
    study = optuna.create_study(
        storage=_storage(storage_url) if storage_url is not None else None,
        pruner=_pruner(),
        study_name=study_name,
        direction="minimize",
        load_if_exists=True,
    )
    # A resumed study would replay the first call's random start-up trials if its
    # sampler restarted from ``seed``; offsetting by the trials already stored
    # keeps a resume deterministic without repeating them.
    first_seed = seed + len(study.trials)
    job = TrialJob(
        ts, family, seed, n_splits, embargo, dict(fixed_params or {}), study_name, storage_url or ""
    )
    if workers == 1:
        _run_here(study, job, TrialShare(0, n_trials, first_seed), on_trial)
    else:
        with _TrialCounter(study, n_trials, on_trial or (lambda _done, _total: None)):
            outcomes = task_map(run_share, trial_shares(n_trials, workers, first_seed), shared=job)
        errors = [f"worker {o.worker}: {o.error}" for o in outcomes if o.error is not None]
        if errors:
            raise AlphagateError(
                f"study {study_name!r}: a trial failed ({'; '.join(errors)}); the finished "
                "trials are stored, and running the search again resumes the study"
            )
    best = study.best_trial
    return SearchResult(
        best_params=dict(best.params),
        best_score=float(best.value) if best.value is not None else float("nan"),
        n_trials=len(study.trials),
        study_name=study_name,
    )


def _run_here(
    study: optuna.Study,
    job: TrialJob,
    share: TrialShare,
    on_trial: Callable[[int, int], None] | None,
) -> None:
    """The serial search, in this process, on ``study`` as created (in memory or stored).

    A failing trial's error propagates as it is, as it always did here.
    """
    study.sampler = optuna.samplers.TPESampler(seed=share.sampler_seed)
    objective = _objective(
        job.ts,
        family=job.family,
        seed=job.seed,
        n_splits=job.n_splits,
        embargo=job.embargo,
        fixed_params=job.fixed_params,
    )
    done = [0]

    def count(_study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
        done[0] += 1
        if on_trial is not None:
            on_trial(done[0], share.n_trials)

    study.optimize(objective, n_trials=share.n_trials, callbacks=[count])
