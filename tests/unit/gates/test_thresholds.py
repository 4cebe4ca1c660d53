"""Gate 1 tightens with the trial count, and the count follows its documented rule."""

from __future__ import annotations

import itertools
from pathlib import Path

from alphagate.config import ValidationConfig
from alphagate.config.gates import GatesConfig
from alphagate.gates.deflated_sharpe import ReturnMoments, deflated_sharpe_ratio
from alphagate.gates.thresholds import count_trials, phase_of, thresholds_for, validation_limits

HASH = "abcdef0123456789" * 4


def test_phases_change_at_their_bounds() -> None:
    config = GatesConfig(mid_from_trials=5, late_from_trials=20, mature_from_trials=100)
    assert [phase_of(n, config) for n in (1, 4, 5, 19, 20, 99, 100, 10_000)] == [
        "early", "early", "mid", "mid", "late", "late", "mature", "mature",
    ]  # fmt: skip


def test_every_threshold_tightens_phase_by_phase() -> None:
    config = GatesConfig()
    counts = [1, config.mid_from_trials, config.late_from_trials, config.mature_from_trials]
    steps = [thresholds_for(n, config)[1] for n in counts]
    for looser, stricter in itertools.pairwise(steps):
        assert stricter.min_sharpe > looser.min_sharpe
        assert stricter.max_drawdown < looser.max_drawdown
        assert stricter.min_win_rate > looser.min_win_rate
        assert stricter.min_deflated_sharpe > looser.min_deflated_sharpe


def test_the_deflated_sharpe_of_one_record_falls_as_trials_grow() -> None:
    moments = ReturnMoments(sharpe=0.1, n_obs=250, skewness=0.0, kurtosis=3.0)
    values = [deflated_sharpe_ratio(moments, n) for n in (1, 10, 100, 1000)]
    assert values == sorted(values, reverse=True) and values[0] > 0.9 > values[-1]


def test_trials_count_studies_of_the_data_and_runs_that_did_not_search() -> None:
    studies = {
        f"logreg-h1-cfg-{HASH[:12]}": 30,
        f"logreg-h5-cfg-{HASH[:12]}": 30,
        "logreg-h1-cfg-000000000000": 500,  # other data: not counted
    }
    manifests = [
        {"data_hash": HASH, "trials": 0},
        {"data_hash": HASH, "trials": 30},  # counted through its studies
        {"data_hash": "other", "trials": 0},
        {"data_hash": HASH},
    ]
    count = count_trials(HASH, studies, manifests, extra=5)
    assert (count.optuna_trials, count.default_runs, count.extra, count.total) == (60, 2, 5, 67)


def test_no_record_still_counts_one_trial() -> None:
    assert count_trials(HASH, {}, []).total == 1


def test_validation_limits_take_the_phase_thresholds() -> None:
    _, phase = thresholds_for(1, GatesConfig())
    limits = validation_limits(phase, ValidationConfig())
    assert (limits.min_sharpe, limits.max_drawdown, limits.min_deflated_sharpe) == (
        phase.min_sharpe, phase.max_drawdown, phase.min_deflated_sharpe,
    )  # fmt: skip


def test_every_finished_trial_of_every_study_in_the_runs_optuna_db_is_counted(
    tmp_path: Path,
) -> None:
    import optuna

    from alphagate.app.gate_checks import _study_trials

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for name, n in (("study-a", 3), ("study-b", 2)):
        study = optuna.create_study(study_name=name, storage=storage)
        study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=n)
    running = optuna.load_study(study_name="study-b", storage=storage).ask()  # never told
    assert running.number == 2
    assert _study_trials(tmp_path) == {"study-a": 3, "study-b": 2}
