"""Every parameter of the decision path, one frozen section per step, each with an off switch.

The path is chained by :class:`~alphagate.strategies.model.ModelStrategy`
in the order of :data:`STEPS`. A step switched off (``enabled=False``) does not
vanish: it passes its input on in a neutral way, so the rest of the path still
runs and an ablation measures exactly what that one step contributes:

=============  ==========================================================================
step           neutral pass-through when off
=============  ==========================================================================
standardise    the score is the calibrated edge ``2p - 1`` (the expected sign), unscaled
confidence     every model is trusted fully: confidence 1
blend          models of one horizon get equal weights and disagreement costs nothing
arbitrate      costs are 0: the best ``|expected|/sqrt(h/5)`` horizon trades if non-zero
gate           multiplier 1, nothing blocks
size           ``|weight| = max_weight`` in the signal's direction (no volatility scaling)
kelly          no Kelly cap on the weight
band           band 0: every change is traded
gross          the book's gross exposure is not scaled down
protect        no stop-loss or take-profit orders: only market orders move the position
=============  ==========================================================================

Why dataclasses beside the YAML settings tree's ``decision`` section: the
path's units and its ablation take and derive these values without
validating a whole tree, and the checks that tie two fields together live
here. :meth:`DecisionSettings.from_config` is the one mapping from the tree,
field for field under the same names.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, get_args

from alphagate.config import DecisionConfig
from alphagate.errors import ConfigError

Step = Literal[
    "standardise",
    "confidence",
    "blend",
    "arbitrate",
    "gate",
    "size",
    "kelly",
    "band",
    "gross",
    "protect",
]
STEPS: tuple[Step, ...] = get_args(Step)
"""The steps in the order the path runs them; an ablation switches each off in turn."""


def _positive(owner: str, **values: float) -> None:
    for name, value in values.items():
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{owner}.{name} must be finite and positive, got {value}")


def _non_negative(owner: str, **values: float) -> None:
    for name, value in values.items():
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{owner}.{name} must be finite and >= 0, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class StandardiseStep:
    """Rolling z-score of each model's probability (``decision.standardise``)."""

    enabled: bool = True
    window: int = 60
    min_periods: int = 20
    z_max: float = 3.0

    def __post_init__(self) -> None:
        if not 2 <= self.min_periods <= self.window:
            raise ValueError("standardise needs 2 <= min_periods <= window")
        _positive("standardise", z_max=self.z_max)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfidenceStep:
    """IC x freshness x capacity x stability (``decision.confidence``).

    ``tau`` is in horizons: a prediction for ``h`` bars keeps e^-1 of its
    weight after ``tau * h`` bars without a newer one. Until ``ic_min_periods``
    outcomes are known the IC is undefined and the confidence is 0: an
    unscored signal is not traded.
    """

    enabled: bool = True
    ic_window: int = 60
    ic_min_periods: int = 20
    stability_window: int = 20
    stability_min_periods: int = 5
    tau: float = 1.0
    participation: float = 0.1

    def __post_init__(self) -> None:
        if not 3 <= self.ic_min_periods <= self.ic_window:
            raise ValueError("confidence needs 3 <= ic_min_periods <= ic_window")
        if not 2 <= self.stability_min_periods <= self.stability_window:
            raise ValueError("confidence needs 2 <= stability_min_periods <= stability_window")
        _positive("confidence", tau=self.tau)
        if not 0 < self.participation <= 1:
            raise ValueError(
                f"confidence.participation must be in (0, 1], got {self.participation}"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class BlendStep:
    """Ridge risk-parity weights across the models of one horizon (``decision.blend``).

    ``window`` bars of scores estimate the covariance; ``disagreement_scale``
    is the spread of the models' probabilities at which confidence reaches 0.
    """

    enabled: bool = True
    ridge: float = 0.1
    temperature: float = 1.0
    window: int = 60
    disagreement_scale: float = 0.1

    def __post_init__(self) -> None:
        _non_negative("blend", ridge=self.ridge, temperature=self.temperature)
        _positive("blend", disagreement_scale=self.disagreement_scale)
        if self.window < 3:
            raise ValueError(f"blend.window must be >= 3, got {self.window}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ArbitrateStep:
    """Cost ``k1*spread + k2*sigma*sqrt(h/5) + k3*sqrt(q/ADV)`` (``decision.arbitrate``)."""

    enabled: bool = True
    k1: float = 1.0
    k2: float = 0.1
    k3: float = 0.1

    def __post_init__(self) -> None:
        _non_negative("arbitrate", k1=self.k1, k2=self.k2, k3=self.k3)


@dataclass(frozen=True, slots=True, kw_only=True)
class GateStep:
    """Barrier, spread and quote-freshness gates (``decision.gate``).

    With daily bars there are no quotes: the spread is
    :attr:`DecisionSettings.spread_bps` (the spread the fill model charges) and
    the quote's age is the time since the symbol's last bar close, 0 at a bar
    of its own. So on daily bars these two gates block only when the assumed
    spread is configured above ``max_spread_bps`` or a symbol's data stopped;
    the barrier gate acts only when the predictions carry ``p_peak`` and
    ``p_valley`` columns.
    """

    enabled: bool = True
    gamma: float = 1.0
    delta: float = 1.0
    g_min: float = 0.25
    max_spread_bps: float = 50.0
    max_quote_age_seconds: float = 5 * 86_400.0

    def __post_init__(self) -> None:
        _non_negative(
            "gate",
            gamma=self.gamma,
            delta=self.delta,
            max_spread_bps=self.max_spread_bps,
            max_quote_age_seconds=self.max_quote_age_seconds,
        )
        if not 0 <= self.g_min <= 1:
            raise ValueError(f"gate.g_min must be in [0, 1], got {self.g_min}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SizeStep:
    """Volatility scaling ``w = clip(alpha/sigma, +-z_max)/z_max * max_weight`` (``decision.size``).

    ``alpha`` is the chosen horizon's net expected return and ``sigma`` its
    volatility ``sigma_bar * sqrt(h)``, so ``alpha/sigma`` is an information
    ratio of one bet; ``z_max`` is the ratio that earns a full ``max_weight``.
    """

    enabled: bool = True
    z_max: float = 0.5
    max_weight: float = 0.25
    vol_window: int = 20

    def __post_init__(self) -> None:
        _positive("size", z_max=self.z_max)
        if not 0 < self.max_weight <= 1:
            raise ValueError(f"size.max_weight must be in (0, 1], got {self.max_weight}")
        if self.vol_window < 2:
            raise ValueError(f"size.vol_window must be >= 2, got {self.vol_window}")


@dataclass(frozen=True, slots=True, kw_only=True)
class KellyStep:
    """Bayesian Kelly cap on the weight (``decision.size.BayesianKelly``).

    The payoff ratio is ``protect.take_mult / protect.stop_mult``: the bet the
    brackets actually place.
    """

    enabled: bool = True
    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    model_weight: float = 10.0
    kelly_scale: float = 0.5

    def __post_init__(self) -> None:
        _positive("kelly", prior_alpha=self.prior_alpha, prior_beta=self.prior_beta)
        _non_negative("kelly", model_weight=self.model_weight, kelly_scale=self.kelly_scale)


@dataclass(frozen=True, slots=True, kw_only=True)
class BandStep:
    """No-trade band, in weight (``decision.size.no_trade_band``)."""

    enabled: bool = True
    band: float = 0.02

    def __post_init__(self) -> None:
        _non_negative("band", band=self.band)


@dataclass(frozen=True, slots=True, kw_only=True)
class GrossStep:
    """Gross exposure limit of the book (``decision.size.normalise_gross``)."""

    enabled: bool = True
    max_gross: float = 1.0

    def __post_init__(self) -> None:
        _positive("gross", max_gross=self.max_gross)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtectStep:
    """ATR stop-loss and take-profit, optionally snapped to Fibonacci levels (``decision.protect``).

    ``snap_atr`` bounds the snap: a level moves by at most that many ATRs.
    """

    enabled: bool = True
    atr_window: int = 14
    stop_mult: float = 2.0
    take_mult: float = 3.0
    fibonacci: bool = False
    swing_lookback: int = 20
    snap_atr: float = 0.25

    def __post_init__(self) -> None:
        _positive("protect", stop_mult=self.stop_mult, take_mult=self.take_mult)
        _non_negative("protect", snap_atr=self.snap_atr)
        if self.atr_window < 1 or self.swing_lookback < 1:
            raise ValueError("protect.atr_window and protect.swing_lookback must be >= 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionSettings:
    """The whole decision path's configuration; see the module docstring.

    Parameters
    ----------
    spread_bps
        The spread assumed when no quote exists (daily bars): what the cost
        model charges and what the spread gate checks. Keep it equal to the
        fill model's spread so the path prices what the venue charges.
    adv_window
        Bars in the average daily volume used by capacity and the cost model.
    whole_units
        Round target quantities toward zero to whole units.
    """

    standardise: StandardiseStep = field(default_factory=StandardiseStep)
    confidence: ConfidenceStep = field(default_factory=ConfidenceStep)
    blend: BlendStep = field(default_factory=BlendStep)
    arbitrate: ArbitrateStep = field(default_factory=ArbitrateStep)
    gate: GateStep = field(default_factory=GateStep)
    size: SizeStep = field(default_factory=SizeStep)
    kelly: KellyStep = field(default_factory=KellyStep)
    band: BandStep = field(default_factory=BandStep)
    gross: GrossStep = field(default_factory=GrossStep)
    protect: ProtectStep = field(default_factory=ProtectStep)
    spread_bps: float = 10.0
    adv_window: int = 20
    whole_units: bool = False

    def __post_init__(self) -> None:
        _non_negative("decision", spread_bps=self.spread_bps)
        if self.adv_window < 1:
            raise ValueError(f"decision.adv_window must be >= 1, got {self.adv_window}")

    @classmethod
    def from_config(cls, config: DecisionConfig, *, whole_units: bool = False) -> DecisionSettings:
        """The settings the ``decision`` section of the tree describes.

        ``whole_units`` is the execution's choice (``execution.units``), not
        the decision path's, so it is passed in rather than read from the section.

        Raises
        ------
        ConfigError
            When fields that must agree do not (e.g. ``min_periods > window``).
        """
        steps = {
            "standardise": StandardiseStep,
            "confidence": ConfidenceStep,
            "blend": BlendStep,
            "arbitrate": ArbitrateStep,
            "gate": GateStep,
            "size": SizeStep,
            "kelly": KellyStep,
            "band": BandStep,
            "gross": GrossStep,
            "protect": ProtectStep,
        }
        try:
            return cls(
                **{
                    name: step(**getattr(config, name).model_dump()) for name, step in steps.items()
                },
                spread_bps=config.spread_bps,
                adv_window=config.adv_window,
                whole_units=whole_units,
            )
        except ValueError as error:
            raise ConfigError(f"invalid decision settings: decision.{error}") from None

    @property
    def payoff(self) -> float:
        """The payoff ratio ``b`` the brackets place: take-profit over stop-loss distance."""
        return self.protect.take_mult / self.protect.stop_mult

    def without(self, step: Step) -> DecisionSettings:
        """These settings with ``step`` switched off (the rest unchanged)."""
        if step not in STEPS:
            raise ValueError(f"unknown decision step {step!r}; steps: {', '.join(STEPS)}")
        section = getattr(self, step)
        return replace(self, **{step: replace(section, enabled=False)})

    def to_json_dict(self) -> dict[str, Any]:
        """Plain nested dict, to write next to a run's outputs."""
        return asdict(self)
