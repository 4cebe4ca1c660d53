"""The decision path's per-bar series: point in time, realised outcomes only, hand-checked rows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from alphagate.decision.confidence import rolling_ic, spearman, stability
from alphagate.decision.settings import ConfidenceStep, DecisionSettings
from alphagate.decision.signals import (
    ModelColumn,
    model_columns,
    signal_frame,
    symbol_signals,
)
from alphagate.decision.standardise import rolling_zscore
from alphagate.domain.strategy import SymbolHistory
from alphagate.features import PointInTimeError, assert_point_in_time
from alphagate.testing import random_walk_bars


def random_predictions(bars: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "m_h1": rng.uniform(0.3, 0.7, len(bars)),
            "m_h5": rng.uniform(0.3, 0.7, len(bars)),
        },
        index=bars.index,
    )
    frame.iloc[::7] = np.nan  # some bars without a prediction
    return frame


def history(close: np.ndarray) -> SymbolHistory:
    n = len(close)
    ts = pd.date_range("2023-01-02 21:00", periods=n, freq="D", tz="UTC").as_unit("ns").asi8
    return SymbolHistory(ts, close, close * 1.01, close * 0.99, close, np.full(n, 1e6))


SETTINGS = DecisionSettings()


def test_the_standardiser_and_the_ic_estimate_pass_the_point_in_time_checker() -> None:
    bars = random_walk_bars(["AAA", "BBB"], 260)
    predictions = random_predictions(bars)

    def build(cut: pd.DataFrame) -> pd.DataFrame:
        return signal_frame(cut, predictions, SETTINGS)

    assert_point_in_time(build, bars, cuts=6)


def test_an_ic_scored_on_outcomes_not_yet_known_fails_the_checker() -> None:
    bars = random_walk_bars(["AAA"], 120)
    predictions = random_predictions(bars)
    leaky = replace(SETTINGS, confidence=ConfidenceStep(ic_window=20, ic_min_periods=10))

    def build(cut: pd.DataFrame) -> pd.DataFrame:
        # Pretends every outcome is known at its own bar: the look-ahead rolling_ic prevents.
        close = cut["close"].to_numpy()
        realised = np.r_[np.log(close[5:] / close[:-5]), np.full(5, np.nan)]
        scores = signal_frame(cut, predictions, leaky)["score:m_h5"].to_numpy()
        both = pd.DataFrame({"s": scores, "r": realised}, index=cut.index)
        return both["s"].rolling(20, min_periods=10).corr(both["r"]).to_frame("ic")

    with pytest.raises(PointInTimeError):
        assert_point_in_time(build, bars, cuts=3)


def test_the_first_ic_needs_min_periods_outcomes_known_h_bars_after_their_prediction() -> None:
    close = 100.0 * np.exp(np.cumsum(np.r_[0.0, np.tile([0.01, -0.02, 0.015], 20)]))
    p = np.r_[0.5 + 10 * np.log(close[2:] / close[:-2]), [0.5, 0.5]]
    settings = replace(
        SETTINGS.without("standardise"), confidence=ConfidenceStep(ic_window=10, ic_min_periods=5)
    )
    out = symbol_signals(history(close), {"m_h2": p}, settings)
    ic = out["ic:m_h2"]
    # Predictions 0..4 are resolved at bars 2..6: the first IC is at bar 6 (= 5 + 2 - 1).
    assert np.isnan(ic[:6]).all()
    assert np.isfinite(ic[6])
    # These probabilities rise with the realised 2-bar move: a perfect ranking.
    assert ic[6] == pytest.approx(1.0)
    assert out["score:m_h2"] == pytest.approx(2 * p - 1)


def test_a_missing_prediction_is_carried_forward_and_its_age_counted() -> None:
    close = np.linspace(100, 110, 8)
    p = np.array([np.nan, 0.6, np.nan, np.nan, 0.4, np.nan, np.nan, np.nan])
    out = symbol_signals(history(close), {"m_h1": p}, SETTINGS)
    np.testing.assert_array_equal(out["p:m_h1"], [np.nan, 0.6, 0.6, 0.6, 0.4, 0.4, 0.4, 0.4])
    np.testing.assert_array_equal(out["age:m_h1"], [np.nan, 0, 1, 2, 0, 1, 2, 3])


def test_volatility_is_the_sample_std_of_log_returns_over_the_window() -> None:
    close = 100.0 * np.exp(np.cumsum(np.r_[0.0, np.tile([0.01, -0.01], 15)]))
    out = symbol_signals(history(close), {"m_h1": np.full(31, 0.5)}, SETTINGS)
    returns = np.tile([0.01, -0.01], 10)
    assert out["sigma"][20] == pytest.approx(np.std(returns, ddof=1))
    assert np.isnan(out["sigma"][19])


def test_prediction_columns_must_name_a_horizon() -> None:
    assert model_columns(["lightgbm_h5", "p_peak", "logreg_h20"]) == (
        ModelColumn("lightgbm_h5", 5),
        ModelColumn("logreg_h20", 20),
    )
    with pytest.raises(ValueError, match="<model>_h<horizon>"):
        model_columns(["lightgbm"])
    with pytest.raises(ValueError, match="at least one"):
        model_columns(["p_peak"])


def test_the_tapes_series_equal_the_decision_units_computed_on_the_whole_series() -> None:
    """Independent oracle: the pandas-based units of ``standardise`` and ``confidence``."""
    settings = replace(SETTINGS, confidence=ConfidenceStep(ic_window=30, ic_min_periods=10))
    bars = random_walk_bars(["AAA"], 300)
    predictions = random_predictions(bars)
    rows = bars.xs("AAA", level="symbol")
    close = rows["close"].to_numpy()
    index = pd.DatetimeIndex(rows.index)
    out = symbol_signals(
        history_of(rows), {c: predictions[c].to_numpy() for c in predictions}, settings
    )
    for column, h in (("m_h1", 1), ("m_h5", 5)):
        p = pd.Series(predictions[column].to_numpy(), index=index)
        step = settings.standardise
        z = rolling_zscore(p, step.window, z_max=step.z_max, min_periods=step.min_periods)
        realised = pd.Series(np.r_[np.log(close[h:] / close[:-h]), np.full(h, np.nan)], index=index)
        known = pd.Series(pd.NaT, index=index, dtype=index.dtype)
        known.iloc[:-h] = index[h:]
        conf = settings.confidence
        ic = rolling_ic(z, realised, known, conf.ic_window, min_periods=conf.ic_min_periods)
        steady = stability(ic, conf.stability_window, min_periods=conf.stability_min_periods)
        assert ic.notna().sum() > 200
        np.testing.assert_allclose(out[f"score:{column}"], z.ffill(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(out[f"ic:{column}"], ic, rtol=0, atol=1e-12)
        np.testing.assert_allclose(out[f"stability:{column}"], steady, rtol=0, atol=1e-12)


def history_of(rows: pd.DataFrame) -> SymbolHistory:
    return SymbolHistory(
        pd.DatetimeIndex(rows.index).as_unit("ns").asi8,
        *(rows[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")),
    )


def test_the_tapes_score_ic_and_stability_are_the_numpy_formulas_to_the_bit() -> None:
    """The tape's compiled arithmetic against the NumPy formulas it replaced, on seeded series.

    Every prediction present, so each bar's score pairs with its own outcome;
    predictions rounded to 0.01 so that the IC's ranks are full of ties. The
    IC is scored by ``spearman`` over the resolved pairs recomputed here; that
    ``spearman`` equals the NumPy formula to the bit is tested beside it.
    """
    rng = np.random.default_rng(18)
    n, h = 400, 5
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    p = np.round(rng.uniform(0.3, 0.7, n), 2)
    out = symbol_signals(history(close), {"m_h5": p}, SETTINGS)
    step, conf = SETTINGS.standardise, SETTINGS.confidence
    score = np.full(n, np.nan)
    for i in range(step.min_periods - 1, n):
        window = p[max(0, i - step.window + 1) : i + 1]
        sigma = float(np.std(window, ddof=1))
        z = 0.0 if sigma == 0 else (p[i] - float(np.mean(window))) / sigma
        score[i] = min(max(z, -step.z_max), step.z_max)
    outcome = np.log(close[h:] / close[:-h])
    ic = np.full(n, np.nan)
    for i in range(n):
        made = [j for j in range(i - h + 1) if np.isfinite(score[j])][-conf.ic_window :]
        if len(made) >= conf.ic_min_periods:
            ic[i] = spearman(score[made], outcome[made])
    steady = np.full(n, np.nan)
    for i in range(n):
        known = ic[max(0, i - conf.stability_window + 1) : i + 1]
        known = known[np.isfinite(known)]
        if len(known) >= conf.stability_min_periods:
            steady[i] = 1.0 / (1.0 + float(np.std(known, ddof=1)))
    assert np.isfinite(ic).sum() > 300
    np.testing.assert_array_equal(out["score:m_h5"], score)
    np.testing.assert_array_equal(out["ic:m_h5"], ic)
    np.testing.assert_array_equal(out["stability:m_h5"], steady)
