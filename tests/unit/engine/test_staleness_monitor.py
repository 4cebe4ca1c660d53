"""The staleness monitor bar by bar: equal to the one-shot assessment, point in time, cheap.

The oracle is :func:`~alphagate.engine.staleness.assess_model` given the
whole prediction log (outcomes computed from the closes in one batch) and the
whole feature frame: at every bar the monitor, fed one bar at a time, must
report what it reports. The truncation check removes later bars and asks the
earlier reports to stay the same.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from alphagate.config.trading import ModelStalenessConfig
from alphagate.domain.strategy import SymbolHistory
from alphagate.engine.drift import FeatureProfile, ProfileSet, psi
from alphagate.engine.staleness import (
    NO_PROFILES,
    Freshness,
    PredictionLog,
    StalenessReport,
    assess_model,
)
from alphagate.engine.staleness_monitor import FeatureWindow, StalenessMonitor, WatchedModel
from alphagate.features.pit import assert_point_in_time
from alphagate.testing import random_walk_bars

H = 3
COLUMN = f"m_h{H}"
SETTINGS = ModelStalenessConfig(
    max_age_days=200,
    psi_window=60,
    psi_min_rows=30,
    window=40,
    min_resolved=20,
    check_every_bars=1,
)
RNG = np.random.default_rng(5)
PROFILE = FeatureProfile.from_training(RNG.normal(0.0, 1.0, 20_000))


def momentum_features(bars: pd.DataFrame) -> pd.DataFrame:
    """``f``: a trailing 5-bar log return in volatility units, point in time by construction."""
    close = bars["close"]
    ret = np.log(close).groupby(level="symbol").diff(5)
    return pd.DataFrame({"f": ret / (0.02 * np.sqrt(5))}, index=bars.index)


def momentum_predictions(bars: pd.DataFrame) -> pd.DataFrame:
    """P(up) from the last bar's return: known at the bar, so point in time."""
    ret = np.log(bars["close"]).groupby(level="symbol").diff()
    return pd.DataFrame({COLUMN: 1 / (1 + np.exp(-40 * ret))}, index=bars.index)


def drive(
    bars: pd.DataFrame,
    predictions: pd.DataFrame,
    monitor: StalenessMonitor,
    on_bar: Callable[[int, dict[str, float]], None] | None = None,
) -> None:
    """Feed the monitor one close at a time, as a strategy does."""
    ts_all = np.unique(pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8)
    series = {}
    for symbol, rows in bars.groupby(level="symbol"):
        flat = rows.droplevel("symbol")
        arrays = [flat[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")]
        stamps = pd.DatetimeIndex(flat.index).as_unit("ns").asi8
        p = predictions.xs(symbol, level="symbol")[COLUMN].to_numpy(np.float64)
        series[str(symbol)] = (stamps, arrays, p)
    for ts in ts_all:
        history: dict[str, SymbolHistory] = {}
        closing: list[str] = []
        predicted: dict[str, dict[str, float]] = {}
        for symbol, (stamps, arrays, p) in series.items():
            n = int(np.searchsorted(stamps, ts, side="right"))
            if n == 0:
                continue
            history[symbol] = SymbolHistory(stamps[:n], *(a[:n] for a in arrays))
            if stamps[n - 1] == ts:
                closing.append(symbol)
                predicted[symbol] = {COLUMN: float(p[n - 1])}
        multipliers = monitor.observe(int(ts), closing, history, predicted)
        if on_bar is not None:
            on_bar(int(ts), multipliers)


def batch_log(bars: pd.DataFrame, predictions: pd.DataFrame) -> PredictionLog:
    """Every prediction with its outcome over the next ``H`` bars, computed in one pass."""
    made, resolves, score, outcome = [], [], [], []
    for symbol, rows in bars.groupby(level="symbol"):
        stamps = pd.DatetimeIndex(rows.index.get_level_values("ts")).as_unit("ns").asi8
        close = rows["close"].to_numpy()
        p = predictions.xs(symbol, level="symbol")[COLUMN].to_numpy()
        for i in range(len(close) - H):
            if np.isfinite(p[i]):
                made.append(stamps[i])
                resolves.append(stamps[i + H])
                score.append(2 * p[i] - 1)
                outcome.append(np.log(close[i + H] / close[i]))
    return PredictionLog(
        np.array(made, dtype=np.int64),
        np.array(resolves, dtype=np.int64),
        np.array(score),
        np.array(outcome),
    )


def walk(n: int = 160, seed: int = 3) -> pd.DataFrame:
    return random_walk_bars({"AAA": 0, "BBB": 7}, n=n, seed=seed, volatility=0.02)


def watched(trained_ns: int, profiles: dict[str, FeatureProfile] | None) -> WatchedModel:
    return WatchedModel(COLUMN, H, trained_ns, profiles)


def first_ts(bars: pd.DataFrame) -> int:
    return int(pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8.min())


def values(report: StalenessReport) -> dict[str, float | None]:
    out: dict[str, float | None] = {c.name: c.value for c in report.checks}
    out["confidence"] = report.confidence
    out["n"] = float(report.n_resolved)
    return out


@pytest.mark.parametrize("every", [1, 4])
def test_each_bar_the_monitor_reports_what_a_one_shot_assessment_of_that_bar_reports(
    every: int,
) -> None:
    bars = walk()
    features = momentum_features(bars)
    predictions = momentum_predictions(bars)
    settings = SETTINGS.model_copy(update={"check_every_bars": every})
    trained = first_ts(bars)
    monitor = StalenessMonitor(
        [watched(trained, {"f": PROFILE})], FeatureWindow.of_frame(features), settings
    )
    log = batch_log(bars, predictions)
    seen: list[tuple[int, StalenessReport]] = []
    drive(bars, predictions, monitor, lambda ts, _: seen.append((ts, monitor.latest[COLUMN])))

    judged = 0
    for bar, (ts, report) in enumerate(seen):
        checked = seen[bar - bar % every][0]  # the slow checks stand from their last refresh
        oracle = assess_model(
            checked,
            trained_ns=trained,
            profiles={"f": PROFILE},
            features=features,
            predictions=log,
            settings=settings,
        )
        ours, theirs = values(report), values(oracle)
        assert ours.pop("age") == pytest.approx((ts - trained) / 86_400e9)
        for key in ("age", "confidence"):  # the age is the bar's own; the oracle's is older
            theirs.pop(key)
        ours.pop("confidence")
        assert ours == pytest.approx(theirs, abs=1e-12), ts
        judged += ours["psi"] is not None and ours["ic"] is not None
    assert judged > 50, "the test must reach bars where both the PSI and the IC are judged"


def monitored(bars: pd.DataFrame) -> pd.DataFrame:
    """Per bar row, the monitor's numbers at that bar, from these bars alone."""
    features = momentum_features(bars)
    predictions = momentum_predictions(bars)
    settings = SETTINGS.model_copy(update={"check_every_bars": 3})
    monitor = StalenessMonitor(
        [watched(first_ts(bars), {"f": PROFILE})], FeatureWindow.of_frame(features), settings
    )
    rows: dict[int, dict[str, float]] = {}

    def note(ts: int, multipliers: dict[str, float]) -> None:
        report = monitor.latest[COLUMN]
        found = {c.name: np.nan if c.value is None else c.value for c in report.checks}
        rows[ts] = {**found, "confidence": multipliers[COLUMN], "n": float(report.n_resolved)}

    drive(bars, predictions, monitor, note)
    stamps = pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8
    return pd.DataFrame([rows[int(t)] for t in stamps], index=bars.index)


def test_removing_later_bars_cannot_change_a_report_at_an_earlier_bar() -> None:
    assert_point_in_time(monitored, walk(), cuts=4)


def drifted(n: int = 200, at: int = 120, shift: float = 3.0) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Training-like ``f`` until bar ``at`` of each symbol, then shifted by ``shift`` sigmas."""
    bars = walk(n)
    rng = np.random.default_rng(9)
    rank = bars.groupby(level="symbol").cumcount().to_numpy()
    values = rng.normal(0.0, 1.0, len(bars)) + np.where(rank >= at, shift, 0.0)
    stamps = bars.index.get_level_values("ts")
    return pd.DataFrame({"f": values}, index=bars.index), pd.Timestamp(stamps[rank == at].min())


def knowing_predictions(bars: pd.DataFrame, seed: int = 2) -> pd.DataFrame:
    """P(up) that knows the next ``H`` bars: a model with skill, so only the drift can sour it."""
    rng = np.random.default_rng(seed)
    close = bars["close"]
    edge = np.log(close.groupby(level="symbol").shift(-H) / close).fillna(0.0).to_numpy()
    p = 1 / (1 + np.exp(-(30 * edge + rng.normal(0, 0.3, len(bars)))))
    return pd.DataFrame({COLUMN: p}, index=bars.index)


DRIFT_SETTINGS = SETTINGS.model_copy(
    update={
        "psi_window": 300,
        "psi_min_rows": 150,
        "psi_warn": 0.15,
        "psi_stale": 0.3,
        "max_age_days": 1000,
    }
)
"""A long window and thresholds above the PSI's sampling noise (about 9 / rows with deciles)."""


def test_a_shifted_feature_lowers_the_multiplier_after_the_shift_and_not_before() -> None:
    bars = walk(320)
    features, shift_at = drifted(320, at=200)
    predictions = knowing_predictions(bars)
    monitor = StalenessMonitor(
        [watched(first_ts(bars), {"f": PROFILE})],
        FeatureWindow.of_frame(features),
        DRIFT_SETTINGS,
    )
    multipliers: dict[pd.Timestamp, float] = {}

    def note(ts: int, found: dict[str, float]) -> None:
        multipliers[pd.Timestamp(ts, tz="UTC")] = found[COLUMN]
        if ts < shift_at.value and monitor.latest[COLUMN].psi:
            judged_before.append(ts)

    judged_before: list[int] = []
    drive(bars, predictions, monitor, note)

    series = pd.Series(multipliers)
    assert len(judged_before) > 30, "the PSI must be judged for a while before the shift"
    assert (series[series.index < shift_at] == 1.0).all()
    assert series.iloc[-1] == DRIFT_SETTINGS.stale_multiplier and monitor.retrain
    first = monitor.changes[0]
    assert pd.Timestamp(first.ts_ns, tz="UTC") >= shift_at
    assert first.reasons[0].startswith("psi ")
    stale = next(c for c in monitor.changes if c.verdict is Freshness.STALE)
    assert stale.retrain and stale.confidence == SETTINGS.stale_multiplier


def test_a_run_without_profiles_skips_the_psi_check_and_says_so_once() -> None:
    bars = walk(80)
    features, _ = drifted(80, at=0, shift=5.0)  # a drift the PSI would call stale
    monitor = StalenessMonitor(
        [watched(first_ts(bars), None)], FeatureWindow.of_frame(features), SETTINGS
    )
    drive(bars, knowing_predictions(bars), monitor)

    (psi_check,) = [c for c in monitor.latest[COLUMN].checks if c.name == "psi"]
    assert psi_check.value is None and psi_check.detail == NO_PROFILES
    assert len(monitor.notes) == 1 and COLUMN in monitor.notes[0]
    assert monitor.latest[COLUMN].verdict is Freshness.FRESH and monitor.changes == []


def test_a_model_ages_in_bar_time_from_the_end_of_its_training_data() -> None:
    bars = walk(120)
    settings = SETTINGS.model_copy(update={"max_age_days": 60, "check_every_bars": 10})
    stamps = pd.DatetimeIndex(bars.index.get_level_values("ts").unique()).sort_values()
    trained = stamps[5]
    limit = trained + pd.Timedelta(days=settings.max_age_days)
    monitor = StalenessMonitor([watched(trained.value, {"f": PROFILE})], None, settings)
    verdicts: dict[pd.Timestamp, Freshness] = {}
    drive(
        bars,
        momentum_predictions(bars) * np.nan,  # no forecasts: only the age can be judged
        monitor,
        lambda ts, _: verdicts.update({pd.Timestamp(ts, tz="UTC"): monitor.latest[COLUMN].verdict}),
    )

    # Checked at every bar, not every tenth: the first bar past the limit is stale.
    assert all(v is Freshness.FRESH for ts, v in verdicts.items() if ts <= limit)
    assert all(v is Freshness.STALE for ts, v in verdicts.items() if ts > limit)
    (change,) = monitor.changes
    assert pd.Timestamp(change.ts_ns, tz="UTC") == min(ts for ts in verdicts if ts > limit)
    assert change.retrain and change.reasons[0].startswith("age stale")


def test_a_prediction_is_scored_only_once_its_horizon_has_closed() -> None:
    bars = walk(40)
    monitor = StalenessMonitor([watched(first_ts(bars), None)], None, SETTINGS)
    counts: list[int] = []
    drive(
        bars,
        momentum_predictions(bars),
        monitor,
        lambda ts, _: counts.append(monitor.latest[COLUMN].n_resolved),
    )
    log = batch_log(bars, momentum_predictions(bars))
    stamps = np.unique(pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8)
    expected = [min(int(np.sum(log.resolves_ns <= t)), SETTINGS.window) for t in stamps]
    assert counts == expected
    assert counts[H] == 0  # the first predictions (bar 1 on) resolve H bars later


def test_stacked_profiles_give_each_features_own_psi() -> None:
    rng = np.random.default_rng(4)
    profiles = {
        "wide": FeatureProfile.from_training(rng.normal(size=3000)),
        "coarse": FeatureProfile.from_training(rng.integers(0, 4, 3000).astype(float), bins=5),
    }
    recent = np.column_stack([rng.normal(0.5, 1.2, 300), rng.integers(0, 6, 300).astype(float)])
    recent[:40, 0] = np.nan

    stacked = ProfileSet(profiles).psi(recent, min_rows=100, epsilon=1e-4)

    for column, (name, profile) in enumerate(profiles.items()):
        finite = recent[:, column][np.isfinite(recent[:, column])]
        one = psi(profile.shares, profile.bin_shares(finite), 1e-4)
        assert stacked[name] == pytest.approx(one, abs=1e-12)
    assert ProfileSet(profiles).psi(recent[:50], min_rows=100, epsilon=1e-4) == {}


def test_the_calibration_error_is_the_ece_of_the_latest_resolved_predictions() -> None:
    """Oracle: the latest ``window`` resolved predictions of a batch log, binned by hand."""
    bars = walk(220)
    predictions = momentum_predictions(bars)
    monitor = StalenessMonitor(
        [watched(first_ts(bars), None)], FeatureWindow.of_frame(momentum_features(bars)), SETTINGS
    )
    assert monitor.calibration_error(COLUMN) is None  # nothing seen yet
    drive(bars, predictions, monitor)
    log = batch_log(bars, predictions)
    last = int(pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8.max())
    known = log.resolves_ns <= last
    order = np.lexsort((log.made_ns[known], log.resolves_ns[known]))[-SETTINGS.window :]
    p = (log.score[known][order] + 1) / 2
    up = (log.outcome[known][order] > 0).astype(float)
    bins = np.minimum((p * 10).astype(int), 9)
    expected = sum(
        abs(up[bins == b].mean() - p[bins == b].mean()) * (bins == b).sum() / len(p)
        for b in np.unique(bins)
    )
    assert monitor.calibration_error(COLUMN) == pytest.approx(expected, abs=1e-12)
