"""The per-symbol decision chain against numbers worked out by hand from its formulas.

The base case: one model for h = 5 with P(up) 0.6, score 2.0, IC 0.3,
stability 0.8, a fresh prediction; close 100, per-bar sigma 0.01, ADV 1e6,
equity 100 000, default settings (spread 10 bp, k = 1, 0.1, 0.1, z_max 0.5,
max weight 0.25, payoff 3/2, half Kelly on a Beta(1, 1) prior worth 10 outcomes).

    nominal order  q = 0.25 * 100 000 / 100 = 250;  capacity = min(1, 1e6 * 0.1 / 250) = 1
    confidence     0.3 * e^0 * 1 * 0.8 = 0.24
    expected_5     0.24 * 2.0 * 0.01 * sqrt(5)
    cost_5         1 * 0.001 + 0.1 * 0.01 * sqrt(5/5) + 0.1 * sqrt(250 / 1e6)
    weight         clip(net / (0.01 * sqrt(5)), +-0.5) / 0.5 * 0.25
    Kelly cap      0.5 * (p_eff - (1 - p_eff)/1.5) * (1 - s/0.5),
                   p_eff = (10 * 0.6 + 1)/12, s = sqrt(1/(4 * 3))
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from alphagate.decision.path import Block, ModelInputs, SymbolInputs, propose
from alphagate.decision.settings import STEPS, DecisionSettings, GateStep
from alphagate.decision.size import BayesianKelly

TS = pd.Timestamp("2024-03-01 21:00", tz="UTC")
SETTINGS = DecisionSettings()
PRIOR = BayesianKelly()


def model(column: str = "m_h5", horizon: int = 5, **values: object) -> ModelInputs:
    base: dict[str, object] = {
        "p": 0.6,
        "score": 2.0,
        "ic": 0.3,
        "stability": 0.8,
        "age": 0.0,
        "recent_scores": np.array([1.0, -1.0, 1.0, -1.0]),
    }
    base.update(values)
    return ModelInputs(column=column, horizon=horizon, **base)  # type: ignore[arg-type]


def inputs(*models: ModelInputs, **values: object) -> SymbolInputs:
    base: dict[str, object] = {
        "symbol": "AAA",
        "ts": TS,
        "close": 100.0,
        "sigma": 0.01,
        "atr": 1.5,
        "adv": 1e6,
        "equity": 100_000.0,
        "quote_age_seconds": 0.0,
        "models": models or (model(),),
    }
    base.update(values)
    return SymbolInputs(**base)  # type: ignore[arg-type]


def kelly_cap(p: float) -> float:
    p_eff = (10 * p + 1) / 12
    s = math.sqrt(1 / (4 * 3))
    return 0.5 * (p_eff - (1 - p_eff) / 1.5) * (1 - s / 0.5)


EXPECTED = 0.24 * 2.0 * 0.01 * math.sqrt(5)
COST = 0.001 + 0.1 * 0.01 * 1.0 + 0.1 * math.sqrt(250 / 1e6)
NET = EXPECTED - COST
W_VOL = min(0.5, NET / (0.01 * math.sqrt(5))) / 0.5 * 0.25


def test_the_base_case_chains_every_step_to_the_hand_computed_weight() -> None:
    proposal = propose(inputs(), SETTINGS, PRIOR)
    trace = proposal.trace
    assert proposal.blocked_by is None
    assert proposal.horizon == 5
    assert trace["conf:m_h5"] == pytest.approx(0.24)
    assert trace["capacity:m_h5"] == 1.0
    assert trace["blend_w:m_h5"] == 1.0  # one model per horizon: the blend is trivial
    assert trace["expected:h5"] == pytest.approx(EXPECTED)
    assert trace["cost:h5"] == pytest.approx(COST)
    assert trace["net"] == pytest.approx(NET)
    assert trace["w_vol"] == pytest.approx(W_VOL)
    assert trace["kelly_f"] == pytest.approx(kelly_cap(0.6))
    assert proposal.weight == pytest.approx(min(W_VOL, kelly_cap(0.6)))


def test_a_negative_score_shorts_with_the_kelly_fraction_of_the_down_side() -> None:
    proposal = propose(inputs(model(p=0.4, score=-2.0)), SETTINGS, PRIOR)
    assert proposal.trace["direction"] == -1
    assert proposal.weight == pytest.approx(-min(W_VOL, kelly_cap(0.6)))


def test_freshness_decays_an_old_prediction_by_e_to_the_minus_age_over_tau_h() -> None:
    proposal = propose(inputs(model(age=2.0)), SETTINGS, PRIOR)
    assert proposal.trace["fresh:m_h5"] == pytest.approx(math.exp(-2 / 5))
    assert proposal.trace["conf:m_h5"] == pytest.approx(0.24 * math.exp(-2 / 5))


def test_capacity_shrinks_confidence_when_the_order_exceeds_its_share_of_adv() -> None:
    proposal = propose(inputs(adv=1_250.0), SETTINGS, PRIOR)  # room 125 for an order of 250
    assert proposal.trace["capacity:m_h5"] == pytest.approx(0.5)
    assert proposal.trace["conf:m_h5"] == pytest.approx(0.12)


def test_an_unscored_signal_has_no_confidence_and_is_blocked_by_that_step() -> None:
    proposal = propose(inputs(model(ic=math.nan)), SETTINGS, PRIOR)
    assert proposal.blocked_by is Block.CONFIDENCE
    assert proposal.weight == 0.0
    assert proposal.trace["blocked_by"] == "confidence"


def test_confidence_switched_off_trusts_every_model_fully() -> None:
    proposal = propose(inputs(model(ic=math.nan)), SETTINGS.without("confidence"), PRIOR)
    assert proposal.blocked_by is None
    assert proposal.trace["expected:h5"] == pytest.approx(1.0 * 2.0 * 0.01 * math.sqrt(5))


def test_two_uncorrelated_models_are_weighted_by_confidence_and_their_disagreement_costs() -> None:
    first = model("a_h5", p=0.6)
    second = model(
        "b_h5", p=0.5, score=1.0, ic=0.1, stability=1.0, recent_scores=np.array([1, 1, -1, -1.0])
    )
    proposal = propose(inputs(first, second), SETTINGS, PRIOR)
    # Scores [1,-1,1,-1] and [1,1,-1,-1] have covariance 0 and equal variance, so
    # (Sigma + lambda I)^-1 mu is proportional to mu = the confidences 0.24 and 0.1.
    w = np.array([0.24, 0.1]) / 0.34
    p = np.array([0.6, 0.5])
    centre = w @ p
    spread = math.sqrt(w @ (p - centre) ** 2)
    assert proposal.trace["blend_w:a_h5"] == pytest.approx(w[0])
    assert proposal.trace["p:h5"] == pytest.approx(centre)
    assert proposal.trace["score:h5"] == pytest.approx(w @ np.array([2.0, 1.0]))
    assert proposal.trace["disagreement:h5"] == pytest.approx(spread)
    assert proposal.trace["conf:h5"] == pytest.approx((w @ [0.24, 0.1]) * (1 - spread / 0.1))


def test_blend_switched_off_weighs_models_equally_and_ignores_disagreement() -> None:
    first, second = model("a_h5", p=0.6), model("b_h5", p=0.5, ic=0.1, stability=1.0)
    proposal = propose(inputs(first, second), SETTINGS.without("blend"), PRIOR)
    assert proposal.trace["blend_w:a_h5"] == 0.5
    assert proposal.trace["disagreement:h5"] == 0.0
    assert proposal.trace["conf:h5"] == pytest.approx(0.5 * 0.24 + 0.5 * 0.1)


def test_arbitration_picks_the_best_net_score_per_unit_of_risk_across_horizons() -> None:
    short, long = model("m_h1", 1), model("m_h20", 20)
    proposal = propose(inputs(short, long), SETTINGS, PRIOR)
    net = {
        h: 0.24 * 2.0 * 0.01 * math.sqrt(h)
        - (0.001 + 0.1 * 0.01 * math.sqrt(h / 5) + 0.1 * math.sqrt(250 / 1e6))
        for h in (1, 20)
    }
    best = max(net, key=lambda h: net[h] / math.sqrt(h / 5))
    assert proposal.horizon == best == 20
    assert proposal.trace["arb_score"] == pytest.approx(net[20] / 2.0)


def test_no_trade_when_no_horizon_clears_its_cost_and_the_trace_says_cost() -> None:
    proposal = propose(inputs(model(score=0.1)), SETTINGS, PRIOR)
    assert proposal.blocked_by is Block.COST
    assert proposal.weight == 0.0


def test_arbitration_switched_off_charges_no_cost() -> None:
    proposal = propose(inputs(model(score=0.1)), SETTINGS.without("arbitrate"), PRIOR)
    assert proposal.trace["cost:h5"] == 0.0
    assert proposal.blocked_by is None


def test_the_barrier_gate_scales_a_long_and_mirrors_for_a_short() -> None:
    long = propose(inputs(p_peak=0.5, p_valley=0.2), SETTINGS, PRIOR)
    # g = max(0.25, (1 - 0.5)^1 * (0.5 + 0.5 * 0.2)^1) = 0.3
    assert long.trace["gate_multiplier"] == pytest.approx(0.3)
    assert long.weight == pytest.approx(0.3 * min(W_VOL, kelly_cap(0.6)))
    short = propose(inputs(model(p=0.4, score=-2.0), p_peak=0.5, p_valley=0.2), SETTINGS, PRIOR)
    # a short fears a valley: g = (1 - 0.2) * (0.5 + 0.5 * 0.5) = 0.6
    assert short.trace["gate_multiplier"] == pytest.approx(0.6)


def test_a_stale_quote_and_a_wide_spread_block_with_the_gate_named() -> None:
    stale = propose(inputs(quote_age_seconds=6 * 86_400.0), SETTINGS, PRIOR)
    assert stale.blocked_by is Block.GATE_FRESHNESS
    wide = replace(SETTINGS, gate=GateStep(max_spread_bps=5.0))
    assert propose(inputs(), wide, PRIOR).blocked_by is Block.GATE_SPREAD
    assert propose(inputs(), replace(wide, gate=GateStep(enabled=False)), PRIOR).blocked_by is None


def test_kelly_blocks_a_side_without_edge_and_sizing_off_bets_the_maximum() -> None:
    assert propose(inputs(model(p=0.3)), SETTINGS, PRIOR).blocked_by is Block.KELLY
    fixed = SETTINGS.without("size").without("kelly")
    assert propose(inputs(), fixed, PRIOR).weight == pytest.approx(0.25)


def test_a_track_record_of_losses_lowers_the_kelly_cap() -> None:
    losing = PRIOR
    for _ in range(5):
        losing = losing.record_outcome(False)
    assert propose(inputs(), SETTINGS, losing).trace["kelly_f"] < kelly_cap(0.6)


def test_missing_risk_estimates_or_predictions_block_before_any_step() -> None:
    assert propose(inputs(sigma=math.nan), SETTINGS, PRIOR).blocked_by is Block.WARMUP
    missing = model(p=math.nan, score=math.nan)
    assert propose(inputs(missing), SETTINGS, PRIOR).blocked_by is Block.NO_PREDICTION


def test_switching_a_step_off_changes_only_that_step() -> None:
    for step in STEPS:
        off = SETTINGS.without(step)
        assert getattr(off, step).enabled is False
        assert all(getattr(off, other).enabled for other in STEPS if other != step)
    with pytest.raises(ValueError, match="unknown decision step"):
        SETTINGS.without("predict")  # type: ignore[arg-type]


def test_a_lone_model_is_its_own_blend_exactly_as_the_blend_units_compute_it() -> None:
    from alphagate.decision.blend import blend, confidence_after_disagreement, disagreement

    rng = np.random.default_rng(20)
    for p, score, ic in rng.uniform([0.0, -3.0, -1.0], [1.0, 3.0, 1.0], (200, 3)):
        trace = propose(inputs(model(p=p, score=score, ic=ic)), SETTINGS, PRIOR).trace
        one, weight = np.array([p]), np.array([1.0])
        spread = disagreement(one, weight)
        conf = trace["conf:m_h5"]
        assert isinstance(conf, float)
        assert trace["p:h5"] == blend(one, weight)
        assert trace["score:h5"] == float(weight @ np.array([score]))
        assert trace["disagreement:h5"] == spread == 0.0
        assert trace["conf:h5"] == confidence_after_disagreement(
            float(weight @ np.array([conf])), spread, SETTINGS.blend.disagreement_scale
        )
        assert trace["blend_w:m_h5"] == 1.0
