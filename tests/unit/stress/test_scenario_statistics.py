"""The generator's statistics, checked against independent computations (numpy, scipy, arch)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from arch import arch_model
from scipy import stats

from alphagate.stress.families.overlay import overlay_window
from alphagate.stress.scenarios import ScenarioSpec, build, default_library
from alphagate.testing import bundled_bars


def log_returns(bars: pd.DataFrame, symbol: str) -> np.ndarray:
    """Close-to-close log returns of one symbol."""
    return np.diff(np.log(bars.xs(symbol, level="symbol")["close"].to_numpy()))


def test_the_bootstrap_keeps_the_return_distributions_moments(
    history: pd.DataFrame, train_end: pd.Timestamp
) -> None:
    stored = history.xs("^GSPC", level="symbol")
    training = np.diff(np.log(stored.loc[stored.index <= train_end, "close"].to_numpy()))
    drawn = np.concatenate(
        [
            log_returns(build(spec, history, train_end=train_end).bars, "^GSPC")
            for spec in default_library(400, seed=2, families=["bootstrap"])
        ]
    )
    assert drawn.mean() == pytest.approx(training.mean(), abs=0.2 * training.std() / 10)
    assert drawn.std() == pytest.approx(training.std(), rel=0.05)
    assert stats.skew(drawn) == pytest.approx(stats.skew(training), abs=0.15)


def test_garch_paths_reproduce_the_fitted_persistence() -> None:
    long = bundled_bars(("^GSPC",))
    train_end = pd.Timestamp("2012-12-31", tz="UTC")
    stored = long.xs("^GSPC", level="symbol")
    training = np.diff(np.log(stored.loc[stored.index <= train_end, "close"].to_numpy()))
    fitted = arch_model(100 * training, vol="GARCH", p=1, q=1, dist="t").fit(disp="off")
    expected = fitted.params["alpha[1]"] + fitted.params["beta[1]"]
    spec = ScenarioSpec("garch-0000", "garch", 123, {"model": "garch11-t"})
    simulated = log_returns(build(spec, long, train_end=train_end).bars, "^GSPC")
    refit = arch_model(100 * simulated, vol="GARCH", p=1, q=1, dist="t").fit(disp="off")
    assert len(simulated) > 4000
    assert refit.params["alpha[1]"] + refit.params["beta[1]"] == pytest.approx(expected, abs=0.02)


def test_garch_keeps_the_symbols_correlated(history: pd.DataFrame, train_end: pd.Timestamp) -> None:
    stored = [log_returns(history[history.index.get_level_values("ts") <= train_end], s)
              for s in ("^GSPC", "^IXIC")]  # fmt: skip
    target = np.corrcoef(stored)[0, 1]
    spec = ScenarioSpec("garch-0001", "garch", 9, {"model": "garch11-t"})
    bars = build(spec, history, train_end=train_end).bars
    seen = np.corrcoef(log_returns(bars, "^GSPC"), log_returns(bars, "^IXIC"))[0, 1]
    assert seen == pytest.approx(target, abs=0.1)


@pytest.mark.parametrize("spec", default_library(80, seed=4, families=["correlation"])[:8])
def test_correlation_breaks_reach_their_target_correlation(
    spec: ScenarioSpec, history: pd.DataFrame, train_end: pd.Timestamp
) -> None:
    bars = build(spec, history, train_end=train_end).bars
    window = overlay_window(
        spec, history, train_end,
        start_fraction=float(spec.params["start_fraction"]), length=int(spec.params["bars"]),
    )  # fmt: skip
    closes = [np.log(bars.xs(s, level="symbol")["close"]) for s in ("^GSPC", "^IXIC")]
    returns = [c.diff().loc[window].to_numpy() for c in closes]
    assert np.corrcoef(returns)[0, 1] == pytest.approx(float(spec.params["target"]), abs=1e-9)
    before = [
        np.log(history.xs(s, level="symbol")["close"]).diff().loc[window]
        for s in ("^GSPC", "^IXIC")
    ]
    assert np.std(returns[0]) == pytest.approx(np.std(before[0]), rel=1e-9)


@pytest.mark.parametrize("spec", default_library(300, seed=8, families=["crash"])[:12])
def test_crash_scenarios_reach_their_drawdown(
    spec: ScenarioSpec, history: pd.DataFrame, train_end: pd.Timestamp
) -> None:
    bars = build(spec, history, train_end=train_end).bars
    depth = float(spec.params["depth"])
    for symbol in ("^GSPC", "^IXIC"):
        close = bars.xs(symbol, level="symbol")["close"].to_numpy()
        drawdown = 1.0 - close / np.maximum.accumulate(close)
        assert drawdown.max() >= depth - 1e-9


def test_gap_opens_move_the_open_by_the_gap(history: pd.DataFrame, train_end: pd.Timestamp) -> None:
    spec = ScenarioSpec(
        "gap-0000", "gap", 1,
        {"gaps": 2, "spacing": 5, "start_fraction": 0.3, "gap_0": -0.1, "gap_1": 0.05},
    )  # fmt: skip
    bars = build(spec, history, train_end=train_end).bars.xs("^GSPC", level="symbol")
    stored = history.xs("^GSPC", level="symbol")
    gapped = bars["open"] / bars["close"].shift() / (stored["open"] / stored["close"].shift())
    moved = gapped[(gapped - 1.0).abs() > 1e-9]
    np.testing.assert_allclose(moved.to_numpy(), [0.9, 1.05], rtol=1e-9)


def test_a_flash_crash_touches_its_low_and_recovers(
    history: pd.DataFrame, train_end: pd.Timestamp
) -> None:
    spec = ScenarioSpec(
        "flash_crash-0000", "flash_crash", 1,
        {"drop": 0.15, "recovery": 0.6, "recovery_bars": 3, "start_fraction": 0.5},
    )  # fmt: skip
    bars = build(spec, history, train_end=train_end).bars.xs("^GSPC", level="symbol")
    stored = history.xs("^GSPC", level="symbol")
    worst = (bars["low"] / bars["open"]).min()
    assert worst == pytest.approx(0.85, rel=1e-9)
    assert bars["close"].iloc[-1] == pytest.approx(stored["close"].iloc[-1], rel=1e-9)


def test_a_liquidity_drought_thins_volume_and_widens_spreads_together(
    history: pd.DataFrame, train_end: pd.Timestamp
) -> None:
    spec = next(s for s in default_library(20, seed=3) if s.family == "liquidity")
    scenario = build(spec, history, train_end=train_end)
    assert scenario.spread_bps is not None
    thinned = (scenario.bars["volume"] / history["volume"]).round(12) == 0.2
    wide = scenario.spread_bps > 10.0
    assert thinned.sum() == 2 * int(spec.params["bars"])
    assert (thinned == wide).all()
    expected = 10.0 * float(spec.params["spread_multiplier"])
    assert np.allclose(scenario.spread_bps[wide], expected)
