"""Model staleness: age, feature drift, resolved IC and accuracy, point in time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy.stats import spearmanr

from alphagate.config.trading import ModelStalenessConfig
from alphagate.engine.drift import FeatureProfile
from alphagate.engine.staleness import (
    Freshness,
    PredictionLog,
    StalenessReport,
    assess_model,
    trained_ns_from_manifest,
)
from alphagate.features.pit import PointInTimeError, assert_point_in_time

DAY = 86_400 * 10**9
NOW = pd.Timestamp("2024-06-03", tz="UTC").value
SETTINGS = ModelStalenessConfig(window=40, min_resolved=20, psi_window=200, psi_min_rows=50)


def empty_log() -> PredictionLog:
    none = np.array([], dtype=np.int64)
    return PredictionLog(none, none, np.array([]), np.array([]))


def assess(
    predictions: PredictionLog | None = None,
    *,
    now: int = NOW,
    trained: int = NOW - 10 * DAY,
    profiles: dict[str, FeatureProfile] | None = None,
    features: pd.DataFrame | None = None,
    settings: ModelStalenessConfig = SETTINGS,
) -> StalenessReport:
    return assess_model(
        now,
        trained_ns=trained,
        profiles=profiles or {},
        features=features,
        predictions=predictions if predictions is not None else empty_log(),
        settings=settings,
    )


def check(report: StalenessReport, name: str) -> tuple[float | None, Freshness]:
    (found,) = [c for c in report.checks if c.name == name]
    return found.value, found.verdict


def daily_log(score: np.ndarray, outcome: np.ndarray, horizon_days: int = 1) -> PredictionLog:
    """Predictions made on consecutive days before NOW, each resolving ``horizon_days`` later."""
    n = len(score)
    made = NOW - (n + horizon_days - np.arange(n)) * DAY
    return PredictionLog(made, made + horizon_days * DAY, score, outcome)


# ----------------------------------------------------------------- age and the report


def test_a_model_older_than_the_limit_is_stale_and_asks_for_retraining() -> None:
    old = assess(trained=NOW - 91 * DAY)
    young = assess(trained=NOW - 89 * DAY)

    age, verdict = check(old, "age")
    assert age == pytest.approx(91.0) and verdict is Freshness.STALE
    assert old.retrain and old.confidence == SETTINGS.stale_multiplier
    assert old.reasons[0].startswith("age stale: training data ends")
    assert "91.0 days before" in old.reasons[0]
    assert check(young, "age")[1] is Freshness.FRESH
    assert not young.retrain and young.confidence == 1.0
    assert young.reasons == ()


def test_without_enough_data_a_new_model_is_fresh_and_says_why() -> None:
    report = assess(daily_log(np.ones(5), np.ones(5)))

    assert report.n_resolved == 5
    assert check(report, "ic") == (None, Freshness.FRESH)
    assert check(report, "psi") == (None, Freshness.FRESH)
    assert "5 resolved predictions, 20 needed" in report.checks[2].detail
    assert report.confidence == 1.0


def test_the_worst_check_sets_the_confidence_not_the_product() -> None:
    rng = np.random.default_rng(5)
    profile = FeatureProfile.from_training(rng.normal(size=4000))
    drifted_a_little = pd.DataFrame(
        {"f": rng.normal(0.45, 1.0, size=200)},
        index=pd.DatetimeIndex(pd.to_datetime(NOW - np.arange(200)[::-1] * DAY, utc=True)),
    )

    warn = assess(profiles={"f": profile}, features=drifted_a_little)
    both = assess(profiles={"f": profile}, features=drifted_a_little, trained=NOW - 200 * DAY)

    psi_value, verdict = check(warn, "psi")
    assert psi_value is not None and 0.1 <= psi_value < 0.25
    assert verdict is Freshness.WARN
    assert warn.confidence == SETTINGS.warn_multiplier and not warn.retrain
    assert both.confidence == SETTINGS.stale_multiplier and both.retrain


# ----------------------------------------------------------------- IC and accuracy


def test_the_ic_is_spearmans_rho_of_the_latest_resolved_window() -> None:
    rng = np.random.default_rng(3)
    n = 90
    score = np.round(rng.normal(size=n), 1)  # rounded: ties test the average ranks
    outcome = np.round(0.3 * score + rng.normal(size=n), 1)
    log = daily_log(score, outcome)

    report = assess(log)

    frame = pd.DataFrame({"resolves": log.resolves_ns, "s": score, "o": outcome})
    latest = frame.sort_values("resolves").tail(SETTINGS.window)
    oracle = spearmanr(latest["s"], latest["o"]).statistic
    assert check(report, "ic")[0] == pytest.approx(oracle, abs=1e-12)
    assert report.n_resolved == SETTINGS.window


def test_accuracy_counts_direction_calls_and_leaves_flat_ones_out() -> None:
    score = np.tile([0.5, -0.2, 0.1, 0.0, -0.3], 5)
    outcome = np.tile([0.01, 0.02, -0.01, 0.05, -0.02], 5)
    # Per block: row 3 is flat (left out); rows 0 and 4 right, rows 1 and 2 wrong -> 2 / 4.

    report = assess(daily_log(score, outcome))

    assert check(report, "accuracy") == (0.5, Freshness.WARN)


def test_a_model_whose_ranks_turned_against_it_is_stale() -> None:
    score = np.linspace(-1, 1, 30)

    report = assess(daily_log(score, -score))

    ic, verdict = check(report, "ic")
    assert ic == pytest.approx(-1.0) and verdict is Freshness.STALE
    assert check(report, "accuracy") == (0.0, Freshness.STALE)
    assert report.retrain and report.verdict is Freshness.STALE


# ----------------------------------------------------------------- point in time


def test_a_prediction_is_not_scored_before_it_resolves() -> None:
    made = np.array([NOW - 5 * DAY, NOW - 2 * DAY])
    log = PredictionLog(made, made + 3 * DAY, np.array([0.5, 0.5]), np.array([0.1, 0.1]))

    # They resolve at NOW - 2d and NOW + 1d.
    assert assess(log, now=NOW - 2 * DAY - 1).n_resolved == 0
    assert assess(log, now=NOW - 2 * DAY).n_resolved == 1  # known the instant it resolves
    assert assess(log, now=NOW + DAY - 1).n_resolved == 1
    assert assess(log, now=NOW + DAY).n_resolved == 2


HORIZON = 5


def prediction_frame(n: int = 160) -> pd.DataFrame:
    """Daily scores and closes of one symbol, as a (symbol, ts) frame like bars."""
    rng = np.random.default_rng(1)
    days = pd.date_range("2023-01-02", periods=n, freq="D", tz="UTC")
    index = pd.MultiIndex.from_product([["M"], days], names=["symbol", "ts"])
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, size=n)))
    ahead = np.concatenate([close[HORIZON:] / close[:-HORIZON] - 1, np.full(HORIZON, np.nan)])
    score = 0.2 * np.nan_to_num(ahead) + rng.normal(0, 0.01, size=n)
    return pd.DataFrame({"score": score, "close": close}, index=index)


def reports_per_row(frame: pd.DataFrame, *, leak: bool = False) -> pd.DataFrame:
    """The report at each row's time, outcomes built from the closes the frame holds.

    Each outcome is the return over the next ``HORIZON`` rows, so it exists
    only where the frame reaches ``t + HORIZON``: as a live log would have it.
    ``leak`` pretends each outcome is known when the prediction is made.
    """
    ts = pd.DatetimeIndex(frame.index.get_level_values("ts")).as_unit("ns").asi8
    close = frame["close"].to_numpy()
    outcome = np.full(len(close), np.nan)
    outcome[:-HORIZON] = close[HORIZON:] / close[:-HORIZON] - 1
    resolves = ts if leak else ts + HORIZON * DAY
    log = PredictionLog(ts, resolves, frame["score"].to_numpy(), outcome)
    rows = [assess(log, now=int(t)) for t in ts]
    return pd.DataFrame(
        {
            "ic": [check(r, "ic")[0] for r in rows],
            "accuracy": [check(r, "accuracy")[0] for r in rows],
            "n": [float(r.n_resolved) for r in rows],
        },
        index=frame.index,
        dtype=float,
    )


def test_removing_later_rows_does_not_change_an_earlier_report() -> None:
    assert_point_in_time(reports_per_row, prediction_frame(), cuts=4)


def test_the_truncation_check_would_catch_scoring_a_prediction_when_made() -> None:
    """The control: a log that claims each outcome is known when predicted reads the future."""
    with pytest.raises(PointInTimeError):
        assert_point_in_time(lambda f: reports_per_row(f, leak=True), prediction_frame(), cuts=3)


def test_feature_rows_after_now_are_ignored() -> None:
    rng = np.random.default_rng(2)
    profile = FeatureProfile.from_training(rng.normal(size=4000))
    stamps = pd.to_datetime(NOW + (np.arange(300) - 199) * DAY, utc=True)  # 100 rows after NOW
    values = np.concatenate([rng.normal(size=200), rng.normal(5.0, 1.0, size=100)])
    features = pd.DataFrame({"f": values}, index=pd.DatetimeIndex(stamps))

    full = assess(profiles={"f": profile}, features=features)
    cut = assess(profiles={"f": profile}, features=features.iloc[:200])

    later = assess(profiles={"f": profile}, features=features, now=NOW + 100 * DAY)

    assert full.psi == cut.psi
    assert full.psi["f"] < SETTINGS.psi_stale
    assert later.psi["f"] > SETTINGS.psi_stale  # the shifted rows do count once they are past


# ----------------------------------------------------------------- inputs


def test_the_training_end_is_read_per_horizon_then_for_the_run() -> None:
    manifest = {
        "train_end": "2024-01-05T00:00:00+00:00",
        "per_horizon": {"5": {"train_end": "2024-01-02T03:04:05+00:00"}, "1": {}},
    }

    assert trained_ns_from_manifest(manifest, 5) == pd.Timestamp("2024-01-02 03:04:05Z").value
    assert trained_ns_from_manifest(manifest, 1) == pd.Timestamp("2024-01-05", tz="UTC").value
    assert trained_ns_from_manifest({"created_at": "2024-01-02T03:04:05+00:00"}, 5) is None
    for bad in ({"train_end": "2024-01-02T03:04:05"}, {"train_end": "yesterday"}):
        with pytest.raises(ValueError, match="train_end"):
            trained_ns_from_manifest(bad, 5)


def test_a_prediction_cannot_resolve_before_it_is_made() -> None:
    with pytest.raises(ValueError, match="resolve before"):
        PredictionLog(np.array([NOW]), np.array([NOW - 1]), np.array([1.0]), np.array([1.0]))


def test_thresholds_out_of_order_are_refused_naming_both_keys() -> None:
    with pytest.raises(ValidationError, match="psi_warn < psi_stale"):
        ModelStalenessConfig(psi_warn=0.3)
    with pytest.raises(ValidationError, match="ic_stale < ic_warn"):
        ModelStalenessConfig(ic_stale=0.1)
