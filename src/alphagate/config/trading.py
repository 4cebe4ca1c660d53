"""The trading sections: fills and costs, the risk guard and the model's decision path.

They live in one module because some of their keys must agree with each other
and are easier to keep so side by side (``decision.spread_bps`` and
``execution.conservative.spread_bps``, ``risk``'s null limits and
``decision.size.max_weight``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from alphagate.config.base import Section

FillModelName = Literal["next_open", "close", "conservative"]
CommissionModelName = Literal["bps", "per_share", "maker_taker"]


class ConservativeFillConfig(Section):
    """Costs of the ``conservative`` fill model (see ``execution.fill_models.ConservativeFill``)."""

    spread_bps: float = Field(10.0, ge=0, description="Full bid-ask spread; a fill pays half.")
    slippage_bps: float = Field(5.0, ge=0, description="Adverse slippage on every taker fill.")
    impact_k: float = Field(
        1.0, ge=0, description="Square-root impact k in k * sigma * sqrt(q / ADV) * price."
    )
    participation_cap: float | None = Field(
        0.1,
        gt=0,
        le=1,
        description="Largest share of a bar's volume one order fills; null: no cap.",
    )
    adv_window: int = Field(
        20, ge=2, description="Bars the volatility and average volume of the impact use."
    )
    max_impact: float = Field(0.5, ge=0, description="Cap on impact, a fraction of the price.")


class ExecutionConfig(Section):
    """How a backtest's orders are sized, filled and charged.

    Three keys default to null, meaning each kind of backtest's own default:
    a rule-based strategy fills at the next open, free, in whole units (the
    numbers other backtesters give); ``--strategy model`` fills
    conservatively, pays 1 bp and trades fractional units (costs always on).
    Command-line flags (``--fill-model``, ``--commission-bps``, ``--units``,
    ``--cash``) win over these keys.
    """

    cash: float = Field(10_000.0, gt=0, description="Starting cash.")
    fill_model: FillModelName | None = Field(
        None,
        description="next_open, close or conservative; null: next_open for rule-based "
        "strategies, conservative for a model.",
    )
    conservative: ConservativeFillConfig = Field(
        default_factory=ConservativeFillConfig, description="The conservative fill's costs."
    )
    commission_model: CommissionModelName = Field(
        "bps",
        description="bps (commission_bps of notional), per_share (per_share_rate, at least "
        "per_share_minimum a fill) or maker_taker (maker_bps / taker_bps).",
    )
    commission_bps: float | None = Field(
        None,
        ge=0,
        description="Commission in bps of notional; null: 0 for rule-based strategies, 1 for "
        "a model.",
    )
    per_share_rate: float = Field(0.0, ge=0, description="Fee per unit traded (per_share).")
    per_share_minimum: float = Field(0.0, ge=0, description="Least fee of one fill (per_share).")
    maker_bps: float = Field(
        0.0, description="bps of notional for adding liquidity; negative is a rebate."
    )
    taker_bps: float = Field(0.0, ge=0, description="bps of notional for taking liquidity.")
    latency_bars: int = Field(
        0, ge=0, description="Bars of its symbol an order waits before it may fill (0: next bar)."
    )
    units: Literal["whole", "fractional"] | None = Field(
        None,
        description="Round quantities to whole units or not; null: whole for rule-based "
        "strategies, fractional for a model.",
    )
    sizing: Literal["next_open", "close"] = Field(
        "next_open",
        description="Price that turns a target weight into a quantity: the fill bar's open or "
        "the decision bar's close.",
    )


class BreakerConfig(Section):
    """The correlation breaker; thresholds are shares of the room between baseline and 1."""

    enabled: bool = Field(True, description="Run the breaker (it needs two or more symbols).")
    window: int = Field(60, ge=2, description="Bars of returns the live correlation spans.")
    elevated_share: float = Field(
        0.5, gt=0, lt=1, description="elevated_at = baseline + share * (1 - baseline)."
    )
    crisis_share: float = Field(
        0.8, gt=0, le=1, description="crisis_at = baseline + share * (1 - baseline)."
    )
    margin_share: float = Field(
        0.5, ge=0, lt=1, description="Hysteresis, a share of the baseline-to-elevated gap."
    )
    elevated_scale: float = Field(
        0.5, ge=0, le=1, description="Scale of new risk while the correlation is elevated."
    )
    crisis_scale: float = Field(0.0, ge=0, le=1, description="Scale of new risk in a crisis.")
    crisis_reduce_only: bool = Field(True, description="Allow only reducing orders in a crisis.")
    crisis_flatten: bool = Field(False, description="Close every position on entering a crisis.")


class RiskConfig(Section):
    """The risk guard: pre-trade limits, monitors, breaker and kill switch; fractions of equity.

    A model backtest is always guarded; a rule-based one only with
    ``guard_rule_strategies``. Null limits fit the strategy's own sizing: a
    model's position weight may reach 1.2 x ``decision.size.max_weight`` (at
    most 1) and its gross and net ``max(1, decision.gross.max_gross)``; a
    rule-based strategy's 1; one order's notional may reach the starting cash.
    """

    guard_rule_strategies: bool = Field(
        False,
        description="Guard rule-based strategies too; off so their numbers stay comparable "
        "with other backtesters'.",
    )
    max_position_weight: float | None = Field(
        None, gt=0, description="Largest |value| / equity of one symbol; null: see above."
    )
    max_gross_exposure: float | None = Field(
        None, gt=0, description="Largest sum |value| / equity; null: see above."
    )
    max_net_exposure: float | None = Field(
        None, gt=0, description="Largest |sum value| / equity; null: see above."
    )
    max_order_notional: float | None = Field(
        None, gt=0, description="Largest quantity * price of one order; null: the starting cash."
    )
    max_orders_per_day: int = Field(
        100, ge=1, description="Orders a session at which new risk-adding orders stop."
    )
    price_collar_pct: float = Field(
        0.2, gt=0, description="Largest |price - last| / last of an order."
    )
    min_cash: float = Field(0.0, description="Cash a buy may not take the account below.")
    drawdown_reduce_at: float = Field(
        0.15, gt=0, lt=1, description="Drawdown from peak from which only reductions pass."
    )
    drawdown_halt_at: float = Field(
        0.25, gt=0, lt=1, description="Drawdown from peak that trips the kill switch."
    )
    daily_loss_pct: float = Field(
        0.05, gt=0, lt=1, description="Loss within one session that trips the kill switch."
    )
    max_rejects_per_day: int = Field(
        20, ge=1, description="Rejected orders in one session that trip the kill switch."
    )
    flatten_on_kill: bool = Field(
        False, description="Close every position when the switch trips, not only cancel orders."
    )
    kill_switch_file: Path | None = Field(
        None, description="The operator's emergency-stop file: while it exists nothing trades."
    )
    kill_switch_state: Path = Field(
        Path("state/kill_switch.json"),
        description="Where paper and live trading keep the kill switch's latched state and "
        "history; the kill-switch command reads and writes it.",
    )
    breaker: BreakerConfig = Field(
        default_factory=BreakerConfig, description="Correlation breaker."
    )


class StandardiseConfig(Section):
    """Rolling z-score of each model's probability."""

    enabled: bool = Field(True, description="Off: the score is the calibrated edge 2p - 1.")
    window: int = Field(60, ge=2, description="Bars of the rolling mean and deviation.")
    min_periods: int = Field(20, ge=2, description="Bars before a z-score exists (<= window).")
    z_max: float = Field(3.0, gt=0, description="The z-score is clipped to +-z_max.")


class ConfidenceConfig(Section):
    """IC x freshness x capacity x stability of each model's signal."""

    enabled: bool = Field(True, description="Off: every model is trusted fully.")
    ic_window: int = Field(60, ge=3, description="Outcomes of the rolling IC.")
    ic_min_periods: int = Field(20, ge=3, description="Outcomes before the IC counts.")
    stability_window: int = Field(20, ge=2, description="Bars of the IC stability measure.")
    stability_min_periods: int = Field(5, ge=2, description="Bars before stability counts.")
    tau: float = Field(1.0, gt=0, description="Freshness decay, in horizons.")
    participation: float = Field(
        0.1, gt=0, le=1, description="Share of ADV at which capacity reaches 0."
    )


class BlendConfig(Section):
    """Ridge risk-parity weights across the models of one horizon."""

    enabled: bool = Field(True, description="Off: equal weights, disagreement costs nothing.")
    ridge: float = Field(0.1, ge=0, description="Ridge lambda added to the covariance.")
    temperature: float = Field(1.0, ge=0, description="Weights are raised to this power.")
    window: int = Field(60, ge=3, description="Bars of scores the covariance uses.")
    disagreement_scale: float = Field(
        0.1, gt=0, description="Spread of the models' probabilities at which confidence is 0."
    )


class ArbitrateConfig(Section):
    """Cost k1*spread + k2*sigma*sqrt(h/5) + k3*sqrt(q/ADV) of trading a horizon."""

    enabled: bool = Field(True, description="Off: costs are 0.")
    k1: float = Field(1.0, ge=0, description="Weight of the spread.")
    k2: float = Field(0.1, ge=0, description="Weight of the horizon's volatility.")
    k3: float = Field(0.1, ge=0, description="Weight of the participation.")


class GateConfig(Section):
    """Barrier, spread and quote-freshness gates."""

    enabled: bool = Field(True, description="Off: multiplier 1, nothing blocks.")
    gamma: float = Field(1.0, ge=0, description="Exponent of (1 - p_peak).")
    delta: float = Field(1.0, ge=0, description="Exponent of (0.5 + 0.5 p_valley).")
    g_min: float = Field(0.25, ge=0, le=1, description="Smallest barrier-gate multiplier.")
    max_spread_bps: float = Field(50.0, ge=0, description="Wider spreads block trading.")
    max_quote_age_seconds: float = Field(
        5 * 86_400.0, ge=0, description="Older quotes (bars) block trading."
    )


class SizeConfig(Section):
    """Volatility-scaled target weight."""

    enabled: bool = Field(True, description="Off: |weight| = max_weight in the signal's sign.")
    z_max: float = Field(0.5, gt=0, description="Information ratio that earns max_weight.")
    max_weight: float = Field(0.25, gt=0, le=1, description="Largest |weight| of one symbol.")
    vol_window: int = Field(20, ge=2, description="Bars of the volatility estimate.")


class KellyConfig(Section):
    """Bayesian Kelly cap on the weight."""

    enabled: bool = Field(True, description="Off: no Kelly cap.")
    prior_alpha: float = Field(1.0, gt=0, description="Beta prior's wins.")
    prior_beta: float = Field(1.0, gt=0, description="Beta prior's losses.")
    model_weight: float = Field(10.0, ge=0, description="Pseudo-outcomes the model's p counts as.")
    kelly_scale: float = Field(0.5, ge=0, description="Share of the Kelly fraction bet.")


class BandConfig(Section):
    """No-trade band against turnover."""

    enabled: bool = Field(True, description="Off: every change is traded.")
    band: float = Field(0.02, ge=0, description="Weight changes smaller than this are skipped.")


class GrossConfig(Section):
    """Gross exposure limit of the book."""

    enabled: bool = Field(True, description="Off: gross exposure is not scaled down.")
    max_gross: float = Field(1.0, gt=0, description="Largest sum of |weights|.")


class ProtectConfig(Section):
    """ATR stop-loss and take-profit, optionally snapped to Fibonacci levels."""

    enabled: bool = Field(True, description="Off: no stop-loss or take-profit orders.")
    atr_window: int = Field(14, ge=1, description="Bars of the ATR.")
    stop_mult: float = Field(2.0, gt=0, description="Stop-loss distance in ATRs.")
    take_mult: float = Field(3.0, gt=0, description="Take-profit distance in ATRs.")
    fibonacci: bool = Field(False, description="Snap levels to Fibonacci retracements.")
    swing_lookback: int = Field(20, ge=1, description="Bars of the swing the levels span.")
    snap_atr: float = Field(0.25, ge=0, description="A snap moves a level at most this many ATRs.")


class DecisionConfig(Section):
    """Every step of the model strategy's decision path; each step has an off switch."""

    standardise: StandardiseConfig = Field(
        default_factory=StandardiseConfig, description="Standardise step."
    )
    confidence: ConfidenceConfig = Field(
        default_factory=ConfidenceConfig, description="Confidence step."
    )
    blend: BlendConfig = Field(default_factory=BlendConfig, description="Blend step.")
    arbitrate: ArbitrateConfig = Field(
        default_factory=ArbitrateConfig, description="Arbitrate step."
    )
    gate: GateConfig = Field(default_factory=GateConfig, description="Gate step.")
    size: SizeConfig = Field(default_factory=SizeConfig, description="Size step.")
    kelly: KellyConfig = Field(default_factory=KellyConfig, description="Kelly step.")
    band: BandConfig = Field(default_factory=BandConfig, description="No-trade band step.")
    gross: GrossConfig = Field(default_factory=GrossConfig, description="Gross limit step.")
    protect: ProtectConfig = Field(default_factory=ProtectConfig, description="Protect step.")
    spread_bps: float = Field(
        10.0,
        ge=0,
        description="Spread assumed without quotes (daily bars), priced by the cost model and "
        "checked by the spread gate; keep it equal to execution.conservative.spread_bps.",
    )
    adv_window: int = Field(20, ge=1, description="Bars of the average volume (ADV).")


class ModelStalenessConfig(Section):
    """When a trained model counts as stale: age, feature drift (PSI), resolved IC and accuracy.

    Each check is fresh, warn or stale; the worst one sets the confidence
    multiplier and any stale one raises the retrain flag. The IC of ``n``
    resolved predictions has a standard error of about ``1 / sqrt(n)``
    (0.06 at 250), so thresholds near zero need a long window to mean much.
    """

    enabled: bool = Field(
        True,
        description="Judge a traded model's staleness at every bar and scale its confidence "
        "(backtest, paper, stress alike).",
    )
    max_age_days: float = Field(
        90.0,
        gt=0,
        description="A model whose training data ended longer ago than this (in bar time) "
        "is stale.",
    )
    check_every_bars: int = Field(
        10,
        ge=1,
        description="Bars between two checks of the PSI and the resolved IC and hit rate "
        "(the age is checked at every bar).",
    )
    psi_bins: int = Field(
        10, ge=2, description="Quantile bins of each feature's training distribution."
    )
    psi_epsilon: float = Field(
        1e-4, gt=0, lt=0.01, description="Floor of a bin's share, so an empty bin stays finite."
    )
    psi_warn: float = Field(0.1, ge=0, description="PSI of a feature from which drift warns.")
    psi_stale: float = Field(0.25, gt=0, description="PSI of a feature from which it is stale.")
    psi_window: int = Field(250, ge=10, description="Latest feature rows compared with training.")
    psi_min_rows: int = Field(100, ge=10, description="Rows before the PSI is judged.")
    window: int = Field(250, ge=10, description="Latest resolved predictions of the IC/accuracy.")
    min_resolved: int = Field(
        50, ge=10, description="Resolved predictions before the IC and accuracy are judged."
    )
    ic_warn: float = Field(0.0, description="Rolling IC at or below which the model warns.")
    ic_stale: float = Field(-0.05, description="Rolling IC at or below which it is stale.")
    accuracy_warn: float = Field(
        0.5, ge=0, le=1, description="Hit rate at or below which the model warns."
    )
    accuracy_stale: float = Field(
        0.45, ge=0, le=1, description="Hit rate at or below which it is stale."
    )
    warn_multiplier: float = Field(
        0.5, ge=0, le=1, description="Confidence multiplier while the worst check warns."
    )
    stale_multiplier: float = Field(
        0.25, ge=0, le=1, description="Confidence multiplier while any check is stale."
    )

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> ModelStalenessConfig:
        """A warn threshold must come before its stale one, or the warn level never shows."""
        pairs = [
            ("psi_warn", self.psi_warn, "<", "psi_stale", self.psi_stale),
            ("ic_stale", self.ic_stale, "<", "ic_warn", self.ic_warn),
            ("accuracy_stale", self.accuracy_stale, "<", "accuracy_warn", self.accuracy_warn),
            (
                "stale_multiplier",
                self.stale_multiplier,
                "<=",
                "warn_multiplier",
                self.warn_multiplier,
            ),
            ("psi_min_rows", self.psi_min_rows, "<=", "psi_window", self.psi_window),
            ("min_resolved", self.min_resolved, "<=", "window", self.window),
        ]
        for low_name, low, op, high_name, high in pairs:
            if not (low < high if op == "<" else low <= high):
                raise ValueError(f"need {low_name} {op} {high_name}, got {low} and {high}")
        return self


class HealthConfig(Section):
    """Degradation levels of paper and live trading, and model staleness."""

    stale_bar_multiple: float = Field(
        2.0,
        gt=1,
        description="A symbol with no bar for this many bar intervals takes no new entries "
        "(exits and stops still work).",
    )
    model: ModelStalenessConfig = Field(
        default_factory=ModelStalenessConfig, description="Model staleness."
    )
    mirror_down_level: Literal["normal", "reduce_only", "close_only", "halted"] = Field(
        "reduce_only",
        description="The level while the journal's Redis mirror is down (the SQLite journal "
        "still holds every record, so the state stays known).",
    )
