"""A deep model's stream (one row per symbol per bar) gives its batch predictions.

The batch path windows each row over the frame it is given; the stream must
remember each symbol's rows itself. The oracle is the batch
``predict_proba`` on the same rows, which the point-in-time tests of
``test_deep_models.py`` already hold to the past only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from alphagate.features import build_features
from alphagate.labels.fixed_horizon import fixed_horizon_labels
from alphagate.models.deep.model import DeepModel, make_deep_model
from alphagate.models.ensemble import EnsembleModel
from alphagate.models.factory import make_model
from alphagate.models.online import StreamingModel
from alphagate.testing import synthetic_bars
from alphagate.training.dataset import make_dataset

FAMILIES = ("cnn_lstm", "tft", "nbeats")
TINY: dict[str, Any] = {
    "window": 5,
    "hidden_size": 4,
    "heads": 2,
    "epochs": 2,
    "batch_size": 64,
    "device": "cpu",
}


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """One intra-op thread: the suite shares its cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def panel(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Two symbols, BBB starting 7 bars after AAA and skipping one bar, so windows differ."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2020-01-01", periods=60, tz="UTC")
    keys = [("AAA", t) for t in stamps] + [("BBB", t) for t in stamps[7:] if t != stamps[30]]
    index = pd.MultiIndex.from_tuples(keys, names=["symbol", "ts"])
    features = pd.DataFrame(rng.normal(size=(len(index), 3)), index=index, columns=["a", "b", "c"])
    target = pd.Series((features["a"] > 0).astype("int64"), index=index)
    return features, target


def feed(stream: Any, frame: pd.DataFrame) -> pd.Series:
    """Show ``stream`` the rows of ``frame`` one timestamp at a time, as the online predictor."""
    parts = []
    for ts, rows in frame.groupby(level="ts", sort=True):
        one = rows.droplevel("ts")
        p = stream.predict_proba(pd.Timestamp(ts).value, one)
        parts.append(pd.Series(p, index=rows.index))
    return pd.concat(parts).reindex(frame.index)


@pytest.fixture(scope="module")
def fitted(one_thread: None) -> dict[str, DeepModel]:
    X, y = panel()  # noqa: N806
    return {f: make_deep_model(f, seed=1, params=TINY).fit(X, y) for f in FAMILIES}  # type: ignore[arg-type]


@pytest.mark.parametrize("family", FAMILIES)
def test_the_stream_gives_the_batch_probabilities_bar_by_bar(
    fitted: dict[str, DeepModel], family: str
) -> None:
    model = fitted[family]
    X, _ = panel(seed=9)  # noqa: N806
    assert isinstance(model, StreamingModel)
    online = feed(model.stream(), X)
    batch = model.predict_proba(X)
    assert np.ptp(batch) > 1e-6  # the net is not constant, so equality means something
    np.testing.assert_allclose(online.to_numpy(), batch, rtol=0, atol=1e-12)


def test_a_stream_started_later_pads_as_a_batch_cut_at_the_same_bar(
    fitted: dict[str, DeepModel],
) -> None:
    model = fitted["cnn_lstm"]
    X, _ = panel(seed=4)  # noqa: N806
    later = X.loc[X.index.get_level_values("ts") >= X.index.get_level_values("ts")[20]]
    online = feed(model.stream(), later)
    np.testing.assert_allclose(online.to_numpy(), model.predict_proba(later), rtol=0, atol=1e-12)
    # and the padding matters: the full history gives other numbers for the first rows
    whole = pd.Series(model.predict_proba(X), index=X.index).loc[later.index]
    assert np.abs(whole.to_numpy() - online.to_numpy()).max() > 1e-9


def test_a_stream_refuses_bars_out_of_time_order_and_a_repeated_symbol(
    fitted: dict[str, DeepModel],
) -> None:
    model = fitted["nbeats"]
    X, _ = panel()  # noqa: N806
    stream = model.stream()
    first = X.xs(X.index.get_level_values("ts")[10], level="ts")
    stream.predict_proba(10, first)
    with pytest.raises(ValueError, match="time order"):
        stream.predict_proba(10, first)
    with pytest.raises(ValueError, match="one row per symbol"):
        stream.predict_proba(11, pd.concat([first, first]))


def test_an_ensemble_with_a_deep_member_streams_its_batch_numbers() -> None:
    bars = synthetic_bars(["AAA", "BBB"], "2016-01-01", "2017-12-31")
    samples = make_dataset(build_features(bars, "short"), fixed_horizon_labels(bars, (5,)), 5)
    train = samples.take(np.arange(500))
    nbeats = {"family": "nbeats", "params": TINY}
    model = make_model("ensemble", seed=3, params={"members": ["logreg", nbeats], "horizon": 5})
    assert isinstance(model, EnsembleModel)
    model.fit(train.X, train.y, sample_weight=train.weights)
    rows = samples.X.iloc[500:]
    trace = model.explain(rows)
    assert np.ptp(trace.members[:, 1]) > 1e-6
    online = feed(model.stream(), rows)
    np.testing.assert_allclose(online.to_numpy(), trace.p, rtol=0, atol=1e-12)
