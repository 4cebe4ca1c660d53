"""The ensemble family: member fits, point-in-time adaptive weights, the penalty, persistence."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from alphagate.features import assert_point_in_time, build_features
from alphagate.labels.fixed_horizon import fixed_horizon_labels
from alphagate.models.ensemble import CombineSettings, EnsembleModel, parse_members
from alphagate.models.ensemble.combine import Outcome, Prior, SymbolState, combine
from alphagate.models.factory import load_model, make_model
from alphagate.testing import synthetic_bars
from alphagate.training.dataset import TrainingSet, make_dataset

HORIZON = 5


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return synthetic_bars(["AAA", "BBB"], "2016-01-01", "2018-12-31")


@pytest.fixture(scope="module")
def samples(bars: pd.DataFrame) -> TrainingSet:
    labels = fixed_horizon_labels(bars, (HORIZON,))
    return make_dataset(build_features(bars, "short"), labels, HORIZON)


@pytest.fixture(scope="module")
def fitted(samples: TrainingSet) -> EnsembleModel:
    train = samples.take(np.arange(800))
    params = {"members": ["logreg", "lightgbm"], "horizon": HORIZON}
    model = make_model("ensemble", seed=7, params=params)
    assert isinstance(model, EnsembleModel)
    return model.fit(train.X, train.y, sample_weight=train.weights)


def later(samples: TrainingSet) -> pd.DataFrame:
    return samples.X.iloc[800:]


def test_weights_sum_to_one_on_every_row(fitted: EnsembleModel, samples: TrainingSet) -> None:
    trace = fitted.explain(later(samples))
    np.testing.assert_allclose(trace.weights.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (trace.weights >= 0).all()
    assert trace.weights.std(axis=0).max() > 0, "the weights should move with recent losses"


def test_weights_are_point_in_time(fitted: EnsembleModel, bars: pd.DataFrame) -> None:
    def build(cut: pd.DataFrame) -> pd.DataFrame:
        features = build_features(cut, "short")
        finite = np.isfinite(features.to_numpy(np.float64)).all(axis=1)
        rows = features.loc[finite]
        trace = fitted.explain(rows).frame(rows.index, fitted.member_names)
        return trace.drop(columns="regime").reindex(features.index)

    assert_point_in_time(build, bars.iloc[-400:], cuts=3)


def test_two_identical_members_give_the_members_probability_exactly(
    samples: TrainingSet,
) -> None:
    train = samples.take(np.arange(600))
    pair = EnsembleModel(["logreg", "logreg"], horizon=HORIZON).fit(train.X, train.y)
    alone = make_model("logreg", seed=7).fit(train.X, train.y)
    trace = pair.explain(later(samples))
    np.testing.assert_array_equal(trace.p, alone.predict_proba(later(samples)))
    assert (trace.disagreement == 0).all()


def _feed(state: SymbolState, truth: list[bool], good: float, bad: float) -> list[np.ndarray]:
    """One-bar predictions of ``truth[t]`` (the next bar's move), settled by the next row.

    Member 0 puts ``good`` on the true side, member 1 ``bad``; row ``t`` carries
    the return that settles the prediction of row ``t - 1``.
    """
    weights = []
    for t, up in enumerate(truth):
        settles = 0.0 if t == 0 else (0.01 if truth[t - 1] else -0.01)
        p = np.array([good if up else 1 - good, bad if up else 1 - bad])
        weights.append(state.step(p, 1, settles).weights)
    return weights


def test_a_member_wrong_on_recent_resolved_rows_loses_weight() -> None:
    settings = CombineSettings(half_life=5.0, temperature=0.05)
    state = SymbolState(Prior.equal(2), Outcome(horizon=1, lag=1), settings)
    rng = np.random.default_rng(0)
    weights = _feed(state, list(rng.random(40) > 0.5), good=0.7, bad=0.2)
    assert weights[0][1] == pytest.approx(0.5)
    assert weights[-1][1] < 0.01
    assert all(b[1] <= a[1] + 1e-15 for a, b in itertools.pairwise(weights))


def test_recent_loss_is_an_exponentially_weighted_log_loss_of_resolved_predictions() -> None:
    horizon, settings = 3, CombineSettings(half_life=4.0)
    state = SymbolState(Prior.equal(2), Outcome(horizon=horizon, lag=1), settings)
    rng = np.random.default_rng(1)
    n = 30
    p = rng.uniform(0.2, 0.8, size=(n, 2))
    returns = rng.normal(0, 0.01, size=n)
    losses = [state.step(p[t], 1, float(returns[t])).recent_loss for t in range(n)]
    a = settings.decay
    t = n - 1
    resolved = t - horizon + 1  # predictions 0..t-h settled by row t
    up = np.array([returns[k + 1 : k + horizon + 1].sum() > 0 for k in range(resolved)])
    decay = a * (1 - a) ** np.arange(resolved - 1, -1, -1)
    for m in range(2):
        expected = (1 - a) ** resolved * math.log(2) + decay.sum() * log_loss(
            up, p[:resolved, m], sample_weight=decay, labels=[False, True]
        )
        assert losses[t][m] == pytest.approx(expected, rel=1e-12)
    # nothing is settled before h rows have passed: the loss is still the prior
    np.testing.assert_array_equal(losses[horizon - 1], [math.log(2)] * 2)


def test_disagreement_pulls_toward_one_half_in_proportion() -> None:
    weights = np.array([0.5, 0.5])
    agreed, none = combine(np.array([0.7, 0.7]), weights, 0.5)
    assert (agreed, none) == (0.7, 0.0)
    p, d = combine(np.array([0.9, 0.5]), weights, 0.5)
    assert d == pytest.approx(0.4)  # std 0.2 over the largest possible 0.5
    assert p == pytest.approx(0.5 + 0.2 * (1 - 0.5 * 0.4))
    wider, _ = combine(np.array([1.0, 0.4]), weights, 0.5)
    assert abs(wider - 0.5) < abs(0.7 - 0.5)


def test_fit_priors_are_the_members_eval_set_log_losses(samples: TrainingSet) -> None:
    train, valid = samples.take(np.arange(700)), samples.take(np.arange(700, 1000))
    model = EnsembleModel(["logreg", "lightgbm"], horizon=HORIZON)
    model.fit(train.X, train.y, eval_set=(valid.X, valid.y))
    for m, member in enumerate(model.members):
        expected = log_loss(valid.y, member.predict_proba(valid.X))
        assert model.prior.overall[m] == pytest.approx(expected, rel=1e-9)


def test_save_and_load_predict_identically(
    fitted: EnsembleModel, samples: TrainingSet, tmp_path: Path
) -> None:
    fitted.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert isinstance(loaded, EnsembleModel)
    for label in fitted.member_names:
        assert (tmp_path / "model" / f"member-{label}" / "model.json").is_file()
    rows = later(samples)
    np.testing.assert_array_equal(loaded.predict_proba(rows), fitted.predict_proba(rows))


def test_the_stream_gives_the_batch_numbers_bar_by_bar(
    fitted: EnsembleModel, samples: TrainingSet
) -> None:
    rows = later(samples)
    batch = pd.Series(fitted.predict_proba(rows), index=rows.index)
    stream = fitted.stream()
    for ts, part in rows.groupby(level="ts", sort=True):
        one = part.droplevel("ts")
        online = stream.predict_proba(pd.Timestamp(ts).value, one)
        expected = batch.xs(ts, level="ts").loc[one.index].to_numpy()
        # members score one row or many with the last bit of rounding apart, as any model does
        np.testing.assert_allclose(online, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (["lightgmb"], "did you mean 'lightgbm'"),
        (["logreg", "ensemble"], "cannot be its own member"),
        ([], "needs a list of member families"),
    ],
)
def test_bad_members_are_refused_with_a_fix(members: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_members(members)


def test_an_unknown_ensemble_parameter_gets_a_suggestion() -> None:
    with pytest.raises(ValueError, match="did you mean 'half_life'"):
        make_model("ensemble", seed=1, params={"members": ["logreg"], "half_lif": 3})
