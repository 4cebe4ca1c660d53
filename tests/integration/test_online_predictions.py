"""Online predictions (features, model and calibrator bar by bar) equal the batch ones.

A small logistic run is trained on a slice of the bundled ^GSPC bars; the
batch path predicts the whole frame at once (``out_of_sample_predictions``),
the online predictor is shown the bars one close at a time, as a live
engine shows them, and must give the same numbers, pass the point-in-time
checker, and drive a model backtest to the same orders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphagate.app.model_backtest import (
    ModelBacktestRequest,
    TrainedRun,
    holdout_cuts,
    load_trained_run,
    online_predictor,
    out_of_sample_predictions,
    run_model_backtest,
    training_bars,
)
from alphagate.app.model_store import RunFolderModelStore
from alphagate.app.research import build_feature_frame
from alphagate.app.train import run_training
from alphagate.config import Settings
from alphagate.domain.strategy import SymbolHistory
from alphagate.errors import AlphagateError
from alphagate.features import assert_point_in_time
from alphagate.models.online import OnlinePredictor
from alphagate.testing import bundled_bars

HORIZONS = (1, 5)
SYMBOL = "^GSPC"


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """The staleness monitor runs with every threshold out of reach: this small model trades a
    few times only, and any stale verdict (its feature PSI is above 1 from the first holdout
    bar, an ATR in points on a rising index) would leave no order to compare."""
    data = settings.model_dump()
    data["health"]["model"].update(
        max_age_days=10_000, psi_warn=5.0, psi_stale=10.0, ic_warn=-0.9, ic_stale=-0.95,
        accuracy_warn=0.1, accuracy_stale=0.05,
    )  # fmt: skip
    return Settings.model_validate(data)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return bundled_bars([SYMBOL], start="2012-01-01", end="2016-06-30")


@pytest.fixture(scope="module")
def trained(workspace: Path, settings: Settings, bars: pd.DataFrame) -> TrainedRun:
    runs = workspace / "runs"
    run_training(settings, bars, family="logreg", horizons=HORIZONS, runs_dir=runs, run_id="gspc")
    return load_trained_run(runs, "gspc")


def histories(bars: pd.DataFrame) -> list[tuple[int, dict[str, SymbolHistory]]]:
    """Per bar close, each symbol's bars up to it: what the engine hands a strategy."""
    ts = pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8
    columns = [bars[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")]
    return [
        (int(t), {SYMBOL: SymbolHistory(ts[: i + 1], *(c[: i + 1] for c in columns))})
        for i, t in enumerate(ts)
    ]


def online_frame(predictor: OnlinePredictor, bars: pd.DataFrame) -> pd.DataFrame:
    """The predictor shown ``bars`` one close at a time, its answers on the bars' index."""
    rows = [predictor.predict(ts, [SYMBOL], seen)[SYMBOL] for ts, seen in histories(bars)]
    return pd.DataFrame(rows, index=bars.index, columns=list(predictor.columns), dtype=np.float64)


def test_online_predictions_equal_the_batch_ones_on_every_bar_the_batch_predicts(
    settings: Settings, bars: pd.DataFrame, trained: TrainedRun
) -> None:
    features = build_feature_frame(settings, bars, None)
    cuts = holdout_cuts(settings, training_bars(bars, trained.manifest), features, trained)
    batch = out_of_sample_predictions(trained, features, cuts)
    start = min(cuts.values())
    ts = bars.index.get_level_values("ts")
    predictor = online_predictor(settings, trained, cuts)
    predictor.warm_up(bars.loc[ts < start])
    online = online_frame(predictor, bars.loc[ts >= start])
    expected = batch.loc[online.index]
    assert list(online.columns) == list(expected.columns) == ["logreg_h1", "logreg_h5"]
    for column in expected.columns:
        made = expected[column].notna().to_numpy()
        assert made.sum() > 100
        np.testing.assert_array_equal(online[column].notna().to_numpy(), made, column)
        gap = np.abs(online[column].to_numpy()[made] - expected[column].to_numpy()[made])
        assert gap.max() <= 1e-12, column


def test_online_predictions_pass_the_point_in_time_checker(
    settings: Settings, bars: pd.DataFrame, trained: TrainedRun
) -> None:
    recent = bars.iloc[-260:]

    def build(cut: pd.DataFrame) -> pd.DataFrame:
        return online_frame(online_predictor(settings, trained), cut)

    assert_point_in_time(build, recent, cuts=3)


def test_a_model_backtest_gives_the_same_orders_with_either_predictor(
    workspace: Path, settings: Settings, bars: pd.DataFrame, trained: TrainedRun
) -> None:
    runs = workspace / "runs"
    outcomes = {
        kind: run_model_backtest(
            settings,
            bars,
            ModelBacktestRequest(run_id="gspc", runs_dir=runs, predictor=kind),
            workspace / f"out-{kind}",
            "XNYS",
            trained=trained,
        )
        for kind in ("batch", "online")
    }
    batch, online = outcomes["batch"].result, outcomes["online"].result
    assert len(batch.orders) > 0
    pd.testing.assert_frame_equal(online.orders, batch.orders)
    pd.testing.assert_frame_equal(online.trades, batch.trades)
    decided = outcomes["batch"].decisions
    pd.testing.assert_frame_equal(outcomes["online"].decisions, decided, rtol=0, atol=1e-12)


def test_the_run_folder_store_serves_the_runs_models_and_names_a_missing_run(
    workspace: Path, settings: Settings, trained: TrainedRun
) -> None:
    store = RunFolderModelStore(workspace / "runs", settings)
    predictor = store.predictor("gspc")
    assert predictor.columns == ("logreg_h1", "logreg_h5")
    with pytest.raises(AlphagateError, match="no-such-run"):
        store.predictor("no-such-run")
