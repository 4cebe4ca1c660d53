"""Every family: bit-identical for a seed, canonical consistent bars, and fit windows that hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphagate.domain.bars import check_bars_frame
from alphagate.stress.families import garch
from alphagate.stress.families.base import check_fit_window
from alphagate.stress.families.fitted import training_set
from alphagate.stress.families.jitter import jitter_multipliers
from alphagate.stress.scenarios import (
    FAMILIES,
    FitWindowError,
    ScenarioError,
    ScenarioSpec,
    build,
    default_library,
)

FITTING = ("bootstrap", "garch", "regime")
SPECS = default_library(3 * len(FAMILIES), seed=11)


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_a_scenario_is_bit_identical_for_its_seed(
    spec: ScenarioSpec, history: pd.DataFrame, train_end: pd.Timestamp
) -> None:
    first = build(spec, history, train_end=train_end)
    again = build(spec, history.copy(), train_end=train_end)
    pd.testing.assert_frame_equal(first.bars, again.bars, check_exact=True)
    if first.spread_bps is not None:
        assert again.spread_bps is not None
        pd.testing.assert_series_equal(first.spread_bps, again.spread_bps, check_exact=True)
    assert first.execution == again.execution
    assert first.strategy_params == again.strategy_params


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_scenario_bars_are_canonical_consistent_and_trade(
    spec: ScenarioSpec, history: pd.DataFrame, train_end: pd.Timestamp
) -> None:
    bars = build(spec, history, train_end=train_end).bars
    check_bars_frame(bars)
    pd.testing.assert_index_equal(bars.index, history.index)
    values = bars.to_numpy()
    assert np.isfinite(values).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] > 0).all() and (bars["volume"] > 0).all()


@pytest.mark.parametrize("family", FAMILIES)
def test_no_bar_after_the_training_end_reaches_a_fitted_generator_or_the_past(
    family: str, history: pd.DataFrame, train_end: pd.Timestamp
) -> None:
    spec = next(s for s in SPECS if s.family == family)
    later = history.index.get_level_values("ts") > train_end
    tampered = history.copy()
    tampered.loc[later, ["open", "high", "low", "close"]] *= 1.7
    tampered.loc[later, "volume"] *= 3.0
    honest = build(spec, history, train_end=train_end).bars
    other = build(spec, tampered, train_end=train_end).bars
    if family in FITTING:
        # The whole path is synthetic: it owes the later bars nothing at all.
        pd.testing.assert_frame_equal(honest, other, check_exact=True)
        return
    # The others leave the training period as it was stored (a zero volume floored, see below).
    traded = history["volume"] > 0
    pd.testing.assert_frame_equal(
        honest[~later], history[~later].where(traded, honest), check_exact=True
    )
    pd.testing.assert_frame_equal(other[~later], honest[~later], check_exact=True)


def test_fitting_on_a_bar_after_the_training_end_names_that_bar(
    history: pd.DataFrame, train_end: pd.Timestamp
) -> None:
    with pytest.raises(FitWindowError, match=r"\^GSPC 2016-01-04 21:00:00\+00:00"):
        check_fit_window(history, train_end, minimum=10)


def test_a_fit_on_too_few_training_bars_says_how_to_fix_it(history: pd.DataFrame) -> None:
    early = pd.Timestamp("2015-01-20", tz="UTC")
    with pytest.raises(ScenarioError, match="move the training end later"):
        training_set(history, early, minimum=30)


def test_garch_fit_ignores_the_bars_after_the_training_end(
    history: pd.DataFrame, train_end: pd.Timestamp
) -> None:
    training = training_set(history, train_end, minimum=100)
    stored = history.xs("^GSPC", level="symbol")
    expected = np.diff(np.log(stored.loc[stored.index <= train_end, "close"].to_numpy()))
    np.testing.assert_allclose(training.shapes["^GSPC"].returns[1:], expected, atol=1e-12)
    fitted, _ = garch.fit(training.shapes["^GSPC"].returns[1:])
    assert 0.0 < fitted.persistence < 1.0


def test_an_overlay_without_room_after_the_training_end_says_so(history: pd.DataFrame) -> None:
    spec = next(s for s in SPECS if s.family == "crash")
    with pytest.raises(ScenarioError, match="move the training end earlier"):
        build(spec, history, train_end=pd.Timestamp("2016-06-25", tz="UTC"))


def test_a_train_end_without_time_zone_is_refused(history: pd.DataFrame) -> None:
    with pytest.raises(ScenarioError, match="UTC"):
        build(SPECS[0], history, train_end=pd.Timestamp("2015-12-31"))


def test_an_unknown_family_in_a_spec_is_refused(history: pd.DataFrame) -> None:
    spec = ScenarioSpec("x-0000", "crsh", 1, {})
    with pytest.raises(ScenarioError, match="did you mean 'crash'"):
        build(spec, history, train_end=pd.Timestamp("2015-12-31", tz="UTC"))


def test_a_missing_parameter_is_named(history: pd.DataFrame, train_end: pd.Timestamp) -> None:
    spec = ScenarioSpec("crash-9999", "crash", 1, {"depth": 0.2})
    with pytest.raises(ScenarioError, match="'days'"):
        build(spec, history, train_end=train_end)


def test_correlation_on_one_symbol_leaves_the_history_with_a_note(
    history: pd.DataFrame, train_end: pd.Timestamp
) -> None:
    one = history.loc[["^GSPC"]]
    spec = next(s for s in SPECS if s.family == "correlation")
    scenario = build(spec, one, train_end=train_end)
    pd.testing.assert_frame_equal(scenario.bars, one, check_exact=True)
    assert "one symbol" in scenario.note


def test_cost_shock_multiplies_execution_and_leaves_bars(
    history: pd.DataFrame, train_end: pd.Timestamp
) -> None:
    spec = next(s for s in SPECS if s.family == "cost_shock")
    scenario = build(spec, history, train_end=train_end)
    traded = history["volume"] > 0
    pd.testing.assert_frame_equal(scenario.bars[traded], history[traded], check_exact=True)
    assert set(scenario.execution) == {"commission", "slippage", "latency_bars"}
    assert 2.0 <= scenario.execution["commission"] <= 5.0
    assert scenario.execution["latency_bars"] in {0.0, 1.0, 2.0, 3.0}


def test_jitter_moves_each_parameter_10_to_20_percent_whatever_the_others(
    history: pd.DataFrame, train_end: pd.Timestamp
) -> None:
    spec = next(s for s in SPECS if s.family == "jitter")
    scenario = build(spec, history, train_end=train_end, parameters=["fast", "slow"])
    assert scenario.strategy_params is not None
    assert set(scenario.strategy_params) == {"fast", "slow"}
    assert all(0.10 <= abs(m - 1.0) <= 0.20 for m in scenario.strategy_params.values())
    assert jitter_multipliers(spec, ["slow"])["slow"] == scenario.strategy_params["slow"]
    many = [jitter_multipliers(s, ["p"])["p"] for s in default_library(300) if s.family == "jitter"]
    assert min(many) < 1.0 < max(many)


def test_a_zero_volume_bar_trades_at_the_symbols_smallest_training_volume(
    history: pd.DataFrame, train_end: pd.Timestamp
) -> None:
    nasdaq = history.xs("^IXIC", level="symbol")["volume"]
    zero = nasdaq[nasdaq == 0].index
    assert len(zero) == 1  # the bundled series has one such bar in 2015
    smallest = nasdaq[(nasdaq > 0) & (nasdaq.index <= train_end)].min()
    spec = next(s for s in SPECS if s.family == "cost_shock")
    bars = build(spec, history, train_end=train_end).bars
    assert bars.loc[("^IXIC", zero[0]), "volume"] == smallest
