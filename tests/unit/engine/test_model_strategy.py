"""ModelStrategy in the real event loop: its trace, blocking steps, brackets, Kelly record, and
how it asks its predictor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphagate.backtest.runner import run_backtest
from alphagate.config.trading import ModelStalenessConfig
from alphagate.decision.settings import ArbitrateStep, DecisionSettings
from alphagate.decision.signals import signal_frame
from alphagate.domain.strategy import SymbolHistory
from alphagate.engine.drift import FeatureProfile
from alphagate.engine.staleness_monitor import FeatureWindow, StalenessMonitor, WatchedModel
from alphagate.models.prediction_table import PredictionTable
from alphagate.strategies.model import ModelStrategy
from alphagate.testing import bars_of, random_walk_bars

TS = pd.bdate_range("2021-01-04", periods=160, tz="UTC") + pd.Timedelta(hours=21)
SYMBOLS = ("AAA", "BBB")
WALK: dict[str, Any] = {"n": len(TS), "seed": 1, "start": TS[0], "freq": "B", "volatility": 0.01}
"""Random walks over ``TS``, 1 % a day: enough moves for the oracle's trades in a short test."""


def oracle(bars: pd.DataFrame, horizon: int = 5, seed: int = 2) -> pd.DataFrame:
    """P(up) that knows the next ``horizon`` bars, so that trades happen in a short test."""
    rng = np.random.default_rng(seed)
    close = bars["close"]
    future = close.groupby(level="symbol").shift(-horizon)
    edge = np.log(future / close).fillna(0.0).to_numpy()
    p = 1 / (1 + np.exp(-(30 * edge + rng.normal(0, 0.3, len(bars)))))
    return pd.DataFrame({f"oracle_h{horizon}": p}, index=bars.index)


def run(bars: pd.DataFrame, predictions: pd.DataFrame, settings: DecisionSettings) -> tuple:
    strategy = ModelStrategy(PredictionTable(predictions), settings)
    result = run_backtest(bars, strategy, cash=100_000.0, units="fractional")
    return strategy, result


def test_every_updated_symbol_gets_one_trace_row_per_bar_with_each_steps_numbers() -> None:
    bars = random_walk_bars(SYMBOLS, **WALK)
    strategy, result = run(bars, oracle(bars), DecisionSettings())
    decisions = strategy.decisions()
    assert len(decisions) == len(bars)
    assert not decisions.duplicated(["ts", "symbol"]).any()
    assert list(decisions.columns[:4]) == ["ts", "symbol", "action", "blocked_by"]
    for column in ("score:oracle_h5", "ic:oracle_h5", "conf:h5", "expected:h5", "cost:h5"):
        assert column in decisions.columns
    traded = decisions.loc[decisions["action"] == "enter"]
    assert len(traded) > 0 and traded["blocked_by"].isna().all()
    assert (traded["w_target"] != 0).all()
    assert len(result.fills) > 0


def test_the_trace_names_the_step_that_blocked_every_trade() -> None:
    bars = random_walk_bars(SYMBOLS, **WALK)
    costly = replace(DecisionSettings(), arbitrate=ArbitrateStep(k1=1000.0))
    strategy, result = run(bars, oracle(bars), costly)
    blocked = strategy.decisions()["blocked_by"]
    assert set(blocked) <= {"warmup", "no_prediction", "confidence", "cost"}
    assert (blocked == "cost").sum() > 50
    assert result.orders.empty
    wide = replace(DecisionSettings(), spread_bps=80.0).without("arbitrate")
    strategy, _ = run(bars, oracle(bars), wide)
    assert "gate:spread" in set(strategy.decisions()["blocked_by"])


def test_entries_are_bracketed_by_a_stop_and_a_take_profit_around_the_close() -> None:
    bars = random_walk_bars(SYMBOLS, **WALK)
    strategy, result = run(bars, oracle(bars), DecisionSettings())
    entries = strategy.decisions().query("action == 'enter'")
    long = entries.loc[entries["qty_target"] > 0].iloc[0]
    atr, close = long["atr"], long["close"]
    assert long["stop_loss"] == pytest.approx(close - 2 * atr)
    assert long["take_profit"] == pytest.approx(close + 3 * atr)
    assert {"stop", "limit", "market"} <= set(result.orders["order_type"])
    unprotected = run(bars, oracle(bars), DecisionSettings().without("protect"))[1]
    assert set(unprotected.orders["order_type"]) == {"market"}


def test_a_stop_out_is_recorded_as_a_loss_in_the_kelly_posterior() -> None:
    n = 60
    close = 100 * 1.004 ** np.arange(n) * (1 + 0.002 * np.sin(np.arange(n)))
    open_ = np.r_[100.0, close[:-1]]
    high, low = np.maximum(open_, close) * 1.003, np.minimum(open_, close) * 0.997
    crash = 45
    low[crash], close[crash] = open_[crash] * 0.85, open_[crash] * 0.9
    bars = bars_of(close, opens=open_, highs=high, lows=low, volume=1e6, stamps=TS[:n])
    predictions = pd.DataFrame({"up_h5": 0.9}, index=bars.index)
    settings = DecisionSettings().without("standardise").without("confidence")
    strategy, result = run(bars, predictions, settings.without("arbitrate"))
    decisions = strategy.decisions().set_index("ts")
    assert decisions.loc[TS[crash - 1], "qty_held"] > 0
    stop = decisions.loc[TS[crash - 1], "stop_loss"]
    assert low[crash] < stop
    assert decisions.loc[TS[crash], "qty_held"] == 0  # the stop closed it on the crash bar
    assert decisions.loc[TS[crash], "kelly_losses"] == 1
    assert decisions.loc[TS[crash - 1], "kelly_losses"] == 0
    stops = result.orders.loc[result.orders["order_type"] == "stop"]
    assert (stops["status"] == "filled").sum() == 1


def test_a_symbol_without_predictions_never_trades() -> None:
    bars = random_walk_bars(SYMBOLS, **WALK)
    predictions = oracle(bars).loc[["AAA"]]
    strategy, result = run(bars, predictions, DecisionSettings())
    other = strategy.decisions().query("symbol == 'BBB'")
    assert set(other["blocked_by"]) <= {"warmup", "no_prediction"}
    assert "BBB" not in set(result.orders["symbol"])


def test_the_indicators_served_are_the_bar_series_the_point_in_time_checker_verifies() -> None:
    bars = random_walk_bars(["AAA"], **WALK)
    predictions = oracle(bars)
    strategy = ModelStrategy(PredictionTable(predictions))
    rows = bars.xs("AAA", level="symbol")
    history = SymbolHistory(
        pd.DatetimeIndex(rows.index).as_unit("ns").asi8,
        *(rows[c].to_numpy() for c in ("open", "high", "low", "close", "volume")),
    )
    served = strategy.indicators("AAA", history)
    assert set(served) == {"sigma", "atr", "adv"}
    frame = signal_frame(bars, predictions, strategy.settings)
    for name, values in served.items():
        np.testing.assert_array_equal(values, frame[name].to_numpy(), err_msg=name)


def test_the_prediction_series_decided_on_are_the_frame_the_checker_verifies() -> None:
    bars = random_walk_bars(SYMBOLS, **WALK)
    predictions = oracle(bars)
    predictions.iloc[::9] = np.nan  # bars without a prediction are carried forward
    strategy, _ = run(bars, predictions, DecisionSettings())
    decided = strategy.decisions().set_index(["symbol", "ts"]).sort_index()
    frame = signal_frame(bars, predictions, strategy.settings).reindex(decided.index)
    for name in ("p:oracle_h5", "score:oracle_h5", "ic:oracle_h5", "age:oracle_h5"):
        np.testing.assert_array_equal(decided[name].to_numpy(np.float64), frame[name], name)


class CountingPredictor:
    """Answers 0.6 for every symbol asked about, and remembers what it was asked and shown."""

    columns = ("fixed_h5",)

    def __init__(self) -> None:
        self.calls: list[tuple[int, tuple[str, ...], dict[str, int]]] = []

    def predict(
        self, ts: int, symbols: Sequence[str], history: Mapping[str, SymbolHistory]
    ) -> dict[str, dict[str, float]]:
        shown = {s: int(h.ts[-1]) for s, h in history.items()}
        self.calls.append((ts, tuple(symbols), shown))
        return {s: {"fixed_h5": 0.6} for s in symbols}


def test_the_predictor_is_asked_once_per_bar_for_the_symbols_that_closed_and_sees_no_future() -> (
    None
):
    bars = random_walk_bars(SYMBOLS, **WALK)
    late = bars.drop(index=[("BBB", TS[0]), ("BBB", TS[1])])  # BBB starts two bars later
    predictor = CountingPredictor()
    run_backtest(late, ModelStrategy(predictor), cash=100_000.0, units="fractional")
    assert [ts for ts, _, _ in predictor.calls] == [t.value for t in TS]
    assert [symbols for _, symbols, _ in predictor.calls[:3]] == [
        ("AAA",),
        ("AAA",),
        ("AAA", "BBB"),
    ]
    for ts, _, shown in predictor.calls:
        assert max(shown.values()) == ts  # the history ends at the bar that just closed


def drifting_features(bars: pd.DataFrame, from_bar: int | None) -> pd.DataFrame:
    """A feature drawn from its training distribution, shifted 4 sigmas from ``from_bar`` on."""
    rng = np.random.default_rng(11)
    rank = bars.groupby(level="symbol").cumcount().to_numpy()
    shift = 0.0 if from_bar is None else np.where(rank >= from_bar, 4.0, 0.0)
    return pd.DataFrame({"f": rng.normal(0.0, 1.0, len(bars)) + shift}, index=bars.index)


def test_a_drifted_feature_lowers_confidence_after_the_drift_only_and_the_orders_shrink() -> None:
    bars = random_walk_bars(SYMBOLS, **WALK)
    predictions = oracle(bars)
    profile = FeatureProfile.from_training(np.random.default_rng(12).normal(size=20_000))
    settings = ModelStalenessConfig(
        max_age_days=10_000, psi_window=200, psi_min_rows=120, psi_warn=0.25, psi_stale=0.5,
        window=60, min_resolved=20, check_every_bars=1,
    )  # fmt: skip
    drift_bar = 100

    def traded(features: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        model = WatchedModel("oracle_h5", 5, TS[0].value, {"f": profile})
        monitor = StalenessMonitor([model], FeatureWindow.of_frame(features), settings)
        strategy = ModelStrategy(PredictionTable(predictions), health=monitor)
        result = run_backtest(bars, strategy, cash=100_000.0, units="fractional")
        return strategy.decisions().set_index(["ts", "symbol"]), result.orders

    calm, calm_orders = traded(drifting_features(bars, None))
    drifted, drifted_orders = traded(drifting_features(bars, drift_bar))

    before = calm.index.get_level_values("ts") < TS[drift_bar]
    assert (calm["stale:oracle_h5"].dropna() == 1.0).all()
    pd.testing.assert_frame_equal(drifted.loc[before], calm.loc[before])
    later = drifted.loc[~before, "stale:oracle_h5"].dropna()
    assert later.iloc[-1] == settings.stale_multiplier and (later < 1).mean() > 0.5
    # The multiplier scales the confidence and nothing else.
    both = drifted["conf:oracle_h5"].notna() & calm["conf:oracle_h5"].notna() & ~before
    ratio = drifted.loc[both, "conf:oracle_h5"] / calm.loc[both, "conf:oracle_h5"]
    np.testing.assert_allclose(ratio.dropna(), drifted.loc[both, "stale:oracle_h5"][ratio.notna()])
    # And smaller confidence means smaller proposals and fewer, smaller orders after the drift.
    after_calm = calm.loc[~before, "w_proposed"].abs().sum()
    assert drifted.loc[~before, "w_proposed"].abs().sum() < 0.5 * after_calm
    late = TS[drift_bar].value

    def sent_after(orders: pd.DataFrame) -> pd.DataFrame:
        ts = pd.DatetimeIndex(orders["ts_created"]).as_unit("ns").asi8
        return orders.loc[(ts >= late) & (orders["order_type"] == "market")]  # not protective

    calm_late, drifted_late = sent_after(calm_orders), sent_after(drifted_orders)
    assert len(drifted_late) <= len(calm_late)
    assert drifted_late["qty"].abs().sum() < calm_late["qty"].abs().sum()
