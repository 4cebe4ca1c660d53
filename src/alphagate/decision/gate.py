"""Gates: scale a trade down, or block it, at moments when its signal cannot be trusted.

Three gates stand between a target weight and an order:

``barrier_gate``
    A continuous multiplier in ``[g_min, 1]`` from two calibrated
    probabilities, ``p_peak`` (price is at a local peak) and ``p_valley``
    (price is at a local valley), e.g. from triple-barrier style models
    trained to recognise turning points. Buying into a peak is the most
    expensive mistake a long signal makes, so the gate shrinks a long
    position as ``p_peak`` rises and lets it through fully near a valley.
``spread_gate``
    Blocks when the quoted spread is wider than the cost model assumed: the
    edge the sizing bought was computed net of a normal spread.
``freshness_gate``
    Blocks when the quote is older than ``max_age``: a stale price makes the
    spread, the fill and the signal's inputs all fiction.

``apply_gates`` combines them into one ``GateResult``. Blocking gates win: a
blocked trade has multiplier ``0`` and a reason that names the gate, so a log
line says why nothing traded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be a probability in [0, 1], got {value}")


def _check_non_negative(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"{name} must be finite and non-negative, got {value}")


def barrier_gate(
    p_peak: float, p_valley: float, *, gamma: float, delta: float, g_min: float
) -> float:
    """Return the barrier multiplier for a long position.

    ``g = max(g_min, (1 - p_peak)^gamma · (0.5 + 0.5·p_valley)^delta)``

    The first factor falls to 0 as a peak becomes certain; ``gamma`` sets how
    sharply (``gamma = 0`` switches it off). The second factor lies in
    ``[0.5, 1]``: a likely valley restores the position, an unlikely one
    halves it at most, because "not a valley" is much weaker evidence against
    buying than "a peak". Both factors lie in ``[0, 1]``, so ``g`` lies in
    ``[g_min, 1]``: the gate only ever scales a position down, and ``g_min``
    keeps a floor so one overconfident turning-point model cannot veto every
    trade. A short position mirrors the roles: pass ``p_valley`` as
    ``p_peak`` and ``p_peak`` as ``p_valley``.

    Parameters
    ----------
    p_peak, p_valley
        Calibrated probabilities that the price is at a local peak / valley.
    gamma, delta
        Non-negative exponents of the peak and valley factors.
    g_min
        Floor of the multiplier, in ``[0, 1]``.
    """
    _check_probability("p_peak", p_peak)
    _check_probability("p_valley", p_valley)
    _check_non_negative("gamma", gamma)
    _check_non_negative("delta", delta)
    _check_probability("g_min", g_min)
    g = math.pow(1.0 - p_peak, gamma) * math.pow(0.5 + 0.5 * p_valley, delta)
    return max(g_min, min(1.0, g))


def spread_gate(spread_bps: float, max_spread_bps: float) -> bool:
    """Return True (trade allowed) when ``spread_bps <= max_spread_bps``.

    An unknown spread (NaN) or a crossed book (negative spread) does not pass:
    neither is a market the cost model priced.
    """
    _check_non_negative("max_spread_bps", max_spread_bps)
    return 0.0 <= spread_bps <= max_spread_bps


def freshness_gate(quote_age: float, max_age: float) -> bool:
    """Return True (trade allowed) when ``0 <= quote_age <= max_age`` (same unit, e.g. seconds).

    A negative age means the quote is stamped after the decision: either
    clock skew or look-ahead. Neither is safe to trade on, so it does not
    pass; nor does an unknown (NaN) age.
    """
    _check_non_negative("max_age", max_age)
    return 0.0 <= quote_age <= max_age


@dataclass(frozen=True, slots=True)
class GateSettings:
    """The parameters of every gate, as one value chained from configuration.

    Parameters
    ----------
    gamma, delta, g_min
        See ``barrier_gate``.
    max_spread_bps
        Widest spread, in basis points of the mid, that may trade.
    max_quote_age
        Oldest quote that may trade, in the unit the caller measures ages in.
    """

    gamma: float
    delta: float
    g_min: float
    max_spread_bps: float
    max_quote_age: float


@dataclass(frozen=True, slots=True)
class GateResult:
    """What the gates decided.

    ``multiplier`` scales the target weight; ``blocked`` is True when a
    blocking gate failed (then ``multiplier`` is 0 and ``reason`` names the
    gate and the numbers); ``reason`` is None when nothing blocked.
    """

    multiplier: float
    blocked: bool
    reason: str | None


def apply_gates(
    settings: GateSettings,
    *,
    spread_bps: float,
    quote_age: float,
    p_peak: float | None = None,
    p_valley: float | None = None,
) -> GateResult:
    """Run every gate and combine them.

    Order: freshness first (a stale quote also makes its spread meaningless),
    then spread, then the barrier multiplier. Without turning-point models
    (``p_peak`` and ``p_valley`` both None) the barrier multiplier is 1; one
    without the other is a wiring mistake and raises.
    """
    if not freshness_gate(quote_age, settings.max_quote_age):
        reason = f"freshness: quote age {quote_age} outside [0, {settings.max_quote_age}]"
        return GateResult(multiplier=0.0, blocked=True, reason=reason)
    if not spread_gate(spread_bps, settings.max_spread_bps):
        reason = f"spread: {spread_bps} bps outside [0, {settings.max_spread_bps}] bps"
        return GateResult(multiplier=0.0, blocked=True, reason=reason)
    if p_peak is None and p_valley is None:
        return GateResult(multiplier=1.0, blocked=False, reason=None)
    if p_peak is None or p_valley is None:
        raise ValueError("p_peak and p_valley must be given together, or neither")
    multiplier = barrier_gate(
        p_peak, p_valley, gamma=settings.gamma, delta=settings.delta, g_min=settings.g_min
    )
    return GateResult(multiplier=multiplier, blocked=False, reason=None)
