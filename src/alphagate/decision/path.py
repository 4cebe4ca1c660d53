"""One symbol's decision at one bar: confidence, blend, arbitrate, gate, size, Kelly.

The pure units live in :mod:`alphagate.decision`; this module only chains
them, in the order of :data:`~alphagate.decision.settings.STEPS`, and
writes every step's inputs and outputs into a flat trace record, so a user can
read afterwards why a symbol traded (or which step stopped it). Standardising
happened before (:mod:`alphagate.decision.signals`); the book-level
steps (gross, band, protect) follow in the strategy, because they need every
symbol's proposal at once.

How a score becomes an expected return: Grinold's rule of thumb
``E[r_h] = IC * sigma_h * score`` with ``sigma_h = sigma * sqrt(h)``; here the
IC is the step's whole confidence (IC x freshness x capacity x stability), so
``expected_h = confidence_h * score_h * sigma * sqrt(h)``, signed by the score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphagate.decision.arbitrate import HorizonChoice, choose_horizon, trade_cost
from alphagate.decision.blend import (
    blend,
    confidence_after_disagreement,
    disagreement,
    ridge_risk_parity_weights,
)
from alphagate.decision.confidence import capacity, confidence, freshness
from alphagate.decision.gate import GateSettings, apply_gates
from alphagate.decision.settings import DecisionSettings
from alphagate.decision.size import BayesianKelly, vol_scaled_weight

FloatArray = npt.NDArray[np.float64]
TraceValue = float | int | str | pd.Timestamp | None


class Block(StrEnum):
    """Which step stopped a trade; recorded in the trace's ``blocked_by``."""

    WARMUP = "warmup"
    """No volatility, ATR or volume estimate yet."""
    NO_PREDICTION = "no_prediction"
    """No model has a prediction at or before this bar."""
    CONFIDENCE = "confidence"
    """Every horizon's confidence is 0 (no IC yet, or a non-positive one)."""
    NO_EDGE = "no_edge"
    """Every horizon's expected return is 0 (arbitration switched off, nothing to trade)."""
    COST = "cost"
    """No horizon's expected return clears its cost."""
    GATE_FRESHNESS = "gate:freshness"
    GATE_SPREAD = "gate:spread"
    KELLY = "kelly"
    """The Bayesian Kelly fraction for this side is 0."""
    BAND = "band"
    """The change is inside the no-trade band."""


@dataclass(frozen=True, slots=True)
class ModelInputs:
    """One prediction column's values at the bar.

    ``recent_scores`` are its last scores (oldest first, this bar last), for
    the blend's covariance. ``staleness`` is the model's staleness multiplier
    in [0, 1] (:mod:`alphagate.engine.staleness`; 1 for a fresh model or
    when nothing judges it).
    """

    column: str
    horizon: int
    p: float
    score: float
    ic: float
    stability: float
    age: float
    recent_scores: FloatArray
    staleness: float = 1.0


@dataclass(frozen=True, slots=True)
class SymbolInputs:
    """Everything the path reads for one symbol at one bar."""

    symbol: str
    ts: pd.Timestamp
    close: float
    sigma: float
    atr: float
    adv: float
    equity: float
    quote_age_seconds: float
    models: tuple[ModelInputs, ...]
    p_peak: float | None = None
    p_valley: float | None = None


@dataclass(frozen=True, slots=True)
class Proposal:
    """What the per-symbol steps propose: a signed weight (0 when blocked) and why."""

    weight: float
    horizon: int | None
    p_up: float
    blocked_by: Block | None
    trace: dict[str, TraceValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _HorizonSignal:
    p_up: float
    score: float
    confidence: float


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def _confidence(
    model: ModelInputs,
    inputs: SymbolInputs,
    settings: DecisionSettings,
    trace: dict[str, TraceValue],
) -> float:
    """IC x freshness x capacity x stability x staleness; 1 when switched off.

    While the IC is unknown (too few realised outcomes) the confidence is 0:
    an unscored signal is not traded. While the IC has too short a history
    to measure its spread, stability is 1: the IC alone already discounts it.
    A stale model's multiplier scales the product, so it trades smaller (or,
    past the cost, not at all) until it is retrained.
    """
    step = settings.confidence
    if not step.enabled:
        return 1.0
    fresh = freshness(model.age, step.tau * model.horizon) if math.isfinite(model.age) else 0.0
    nominal = settings.size.max_weight * inputs.equity / inputs.close
    room = capacity(inputs.adv, step.participation, nominal)
    steady = model.stability if math.isfinite(model.stability) else 1.0
    value = confidence(model.ic, fresh, room, steady) if math.isfinite(model.ic) else 0.0
    value *= model.staleness
    trace[f"fresh:{model.column}"] = fresh
    trace[f"stale:{model.column}"] = model.staleness
    trace[f"capacity:{model.column}"] = room
    trace[f"conf:{model.column}"] = value
    return value


def _blend_horizon(
    models: list[ModelInputs],
    confidences: list[float],
    settings: DecisionSettings,
    trace: dict[str, TraceValue],
) -> _HorizonSignal:
    """Ridge risk-parity weights over one horizon's models; one model weighs 1."""
    step = settings.blend
    h = models[0].horizon
    k = len(models)
    if k == 1:
        return _lone_model(models[0], confidences[0], settings, trace)
    p = np.array([m.p for m in models])
    scores = np.array([m.score for m in models])
    conf = np.array(confidences)
    if k == 1 or not step.enabled:
        weights = np.full(k, 1.0 / k)
    else:
        # mu: each model's confidence (its expected skill); Sigma: the covariance
        # of their recent scores, over the rows where every model had one.
        window = np.column_stack([m.recent_scores[-step.window :] for m in models])
        rows = window[np.isfinite(window).all(axis=1)]
        sigma = np.cov(rows, rowvar=False) if len(rows) >= 3 else np.eye(k)
        weights = ridge_risk_parity_weights(conf, sigma, step.ridge, step.temperature)
    blended_conf = float(weights @ conf)
    spread = disagreement(p, weights) if step.enabled else 0.0
    if step.enabled:
        blended_conf = confidence_after_disagreement(blended_conf, spread, step.disagreement_scale)
    for model, weight in zip(models, weights, strict=True):
        trace[f"blend_w:{model.column}"] = float(weight)
    trace[f"disagreement:h{h}"] = spread
    signal = _HorizonSignal(blend(p, weights), float(weights @ scores), blended_conf)
    trace[f"p:h{h}"], trace[f"score:h{h}"] = signal.p_up, signal.score
    trace[f"conf:h{h}"] = signal.confidence
    return signal


def _lone_model(
    model: ModelInputs, conf: float, settings: DecisionSettings, trace: dict[str, TraceValue]
) -> _HorizonSignal:
    """A horizon with one model: weight 1 and no disagreement, so the model is its own blend.

    The values are exactly those the general blend gives for one model (a
    weight of 1 multiplies exactly and a lone prediction is its own mean),
    without building the arrays: the path meets this case at every bar for
    every horizon of a single-model candidate.
    """
    h = model.horizon
    blended_conf = conf
    if settings.blend.enabled:
        blended_conf = confidence_after_disagreement(conf, 0.0, settings.blend.disagreement_scale)
    trace[f"blend_w:{model.column}"] = 1.0
    trace[f"disagreement:h{h}"] = 0.0
    signal = _HorizonSignal(model.p, model.score, blended_conf)
    trace[f"p:h{h}"], trace[f"score:h{h}"] = signal.p_up, signal.score
    trace[f"conf:h{h}"] = signal.confidence
    return signal


def _arbitrate(
    signals: dict[int, _HorizonSignal],
    inputs: SymbolInputs,
    settings: DecisionSettings,
    trace: dict[str, TraceValue],
) -> tuple[HorizonChoice | None, dict[int, float]]:
    """Expected return per horizon, its cost, and the horizon worth trading (or None)."""
    step = settings.arbitrate
    expected = {h: s.confidence * s.score * inputs.sigma * math.sqrt(h) for h, s in signals.items()}
    nominal = settings.size.max_weight * inputs.equity / inputs.close
    costs: dict[int, float] = {}
    for h in signals:
        costs[h] = (
            trade_cost(
                settings.spread_bps / 1e4,
                inputs.sigma,
                h,
                nominal,
                inputs.adv,
                k1=step.k1,
                k2=step.k2,
                k3=step.k3,
            )
            if step.enabled and inputs.adv > 0
            else 0.0
        )
        trace[f"expected:h{h}"], trace[f"cost:h{h}"] = expected[h], costs[h]
    choice = choose_horizon({h: abs(e) for h, e in expected.items()}, costs)
    return choice, expected


def _gate(
    inputs: SymbolInputs, direction: int, settings: DecisionSettings
) -> tuple[float, Block | None, str | None]:
    step = settings.gate
    if not step.enabled:
        return 1.0, None, None
    gates = GateSettings(
        gamma=step.gamma,
        delta=step.delta,
        g_min=step.g_min,
        max_spread_bps=step.max_spread_bps,
        max_quote_age=step.max_quote_age_seconds,
    )
    peak, valley = inputs.p_peak, inputs.p_valley
    if peak is not None and valley is not None and not _finite(peak, valley):
        peak = valley = None
    if direction < 0:  # a short fears a valley as a long fears a peak
        peak, valley = valley, peak
    result = apply_gates(
        gates,
        spread_bps=settings.spread_bps,
        quote_age=inputs.quote_age_seconds,
        p_peak=peak,
        p_valley=valley,
    )
    if not result.blocked:
        return result.multiplier, None, None
    reason = result.reason or ""
    block = Block.GATE_FRESHNESS if reason.startswith("freshness") else Block.GATE_SPREAD
    return 0.0, block, reason


def _blocked(
    block: Block, trace: dict[str, TraceValue], horizon: int | None = None, p_up: float = math.nan
) -> Proposal:
    trace["blocked_by"] = block.value
    return Proposal(0.0, horizon, p_up, block, trace)


def _missing_input(inputs: SymbolInputs, usable: list[ModelInputs]) -> Block | None:
    """The block for a bar the path cannot judge: no risk estimate yet, or no prediction."""
    if not (_finite(inputs.sigma, inputs.atr, inputs.adv) and inputs.sigma > 0):
        return Block.WARMUP
    return None if usable else Block.NO_PREDICTION


def propose(inputs: SymbolInputs, settings: DecisionSettings, kelly: BayesianKelly) -> Proposal:
    """Run confidence, blend, arbitrate, gate, size and Kelly for one symbol at one bar.

    Returns the proposed signed weight before the book-level steps, with its
    trace; a blocked proposal has weight 0 and names the step in ``blocked_by``.
    """
    trace: dict[str, TraceValue] = {
        "close": inputs.close,
        "sigma": inputs.sigma,
        "atr": inputs.atr,
        "adv": inputs.adv,
    }
    for model in inputs.models:
        trace[f"p:{model.column}"], trace[f"score:{model.column}"] = model.p, model.score
        trace[f"ic:{model.column}"], trace[f"age:{model.column}"] = model.ic, model.age
    usable = [m for m in inputs.models if _finite(m.p, m.score)]
    missing = _missing_input(inputs, usable)
    if missing is not None:
        return _blocked(missing, trace)
    by_horizon: dict[int, list[ModelInputs]] = {}
    for model in usable:
        by_horizon.setdefault(model.horizon, []).append(model)
    signals = {
        h: _blend_horizon(
            models, [_confidence(m, inputs, settings, trace) for m in models], settings, trace
        )
        for h, models in sorted(by_horizon.items())
    }
    if all(s.confidence <= 0 for s in signals.values()):
        return _blocked(Block.CONFIDENCE, trace)
    choice, expected = _arbitrate(signals, inputs, settings, trace)
    if choice is None:
        return _blocked(Block.COST if settings.arbitrate.enabled else Block.NO_EDGE, trace)
    h = choice.horizon
    direction = 1 if expected[h] > 0 else -1
    p_up = signals[h].p_up
    trace.update(horizon=h, net=choice.net, arb_score=choice.score, direction=direction)
    multiplier, block, reason = _gate(inputs, direction, settings)
    trace["gate_multiplier"] = multiplier
    if block is not None:
        trace["reason"] = reason
        return _blocked(block, trace, h, p_up)
    sized = _size(
        choice, direction, p_up=p_up, inputs=inputs, settings=settings, kelly=kelly, trace=trace
    )
    weight = sized * multiplier
    if weight == 0.0:
        return _blocked(Block.KELLY, trace, h, p_up)
    trace["w_proposed"] = weight
    return Proposal(weight, h, p_up, None, trace)


def _size(
    choice: HorizonChoice,
    direction: int,
    *,
    p_up: float,
    inputs: SymbolInputs,
    settings: DecisionSettings,
    kelly: BayesianKelly,
    trace: dict[str, TraceValue],
) -> float:
    """Volatility-scaled weight, capped by the Bayesian Kelly fraction of this side (0: no bet)."""
    h = choice.horizon
    if settings.size.enabled:
        weight = vol_scaled_weight(
            direction * choice.net,
            inputs.sigma * math.sqrt(h),
            z_max=settings.size.z_max,
            max_weight=settings.size.max_weight,
        )
    else:
        weight = direction * settings.size.max_weight
    trace["w_vol"] = weight
    if not settings.kelly.enabled:
        return weight
    p_side = min(1.0, max(0.0, p_up if direction > 0 else 1.0 - p_up))
    cap = kelly.fraction(p_side, settings.payoff, settings.kelly.kelly_scale)
    trace["kelly_p_eff"] = kelly.effective_probability(p_side)
    trace["kelly_f"] = cap
    return math.copysign(min(abs(weight), cap), weight) if cap > 0 else 0.0
