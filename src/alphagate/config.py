"""One settings tree for the whole platform, loaded from YAML and the environment.

Why it is built this way:

* **Frozen and strict.** Every model forbids unknown keys, so a misspelt key
  fails at start-up with its dotted path and a "did you mean" suggestion
  instead of silently falling back to a default that then trades real money.
* **Layered.** ``configs/default.yaml`` (when present in the working
  directory) is read first, then each ``--config`` file merges over the ones
  before it, then ``ALPHAGATE__SECTION__KEY`` environment variables, then
  each ``--set section.key=value`` of the command line: the closer a value
  is to the command, the more it wins.
* **Secrets from the environment only.** A secret written in a YAML file is
  refused; secrets never reach ``config show``, the run hash or any artifact.
* **A hash that names a run.** The effective settings, minus secrets, hash to a
  short stable id; two runs with the same hash ran the same configuration.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from alphagate.domain.timeframe import Timeframe
from alphagate.errors import ConfigError

ENV_PREFIX = "ALPHAGATE__"
DEFAULT_CONFIG_FILE = Path("configs/default.yaml")

Policy = Literal["error", "warn", "repair"]
CheckPolicy = Literal["error", "warn"]


class Section(BaseModel):
    """Base of every settings model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class QualityConfig(Section):
    """What each data-quality rule does when it finds a violation.

    ``error`` rejects the whole input and writes nothing; ``warn`` keeps the
    rows and reports them; ``repair`` applies the rule's documented fix and
    reports every row it touched. Structural rules (missing columns, text in
    numbers, bad timestamps) can only be errors.
    """

    duplicates: Policy = Field(
        "error", description="Repeated (symbol, ts). repair: keep the last occurrence."
    )
    order: Policy = Field(
        "error", description="Timestamps out of order within a symbol. repair: sort."
    )
    non_finite: Policy = Field(
        "error", description="NaN or infinite OHLCV values. repair: drop the row."
    )
    price_positive: Policy = Field(
        "error", description="A price that is zero or negative. repair: drop the row."
    )
    volume_non_negative: Policy = Field(
        "error", description="Negative volume. repair: drop the row."
    )
    ohlc_consistent: Policy = Field(
        "error",
        description="low <= open, close <= high violated. repair: drop the row.",
    )
    off_calendar: Policy = Field(
        "error",
        description="A bar at a time that is not a bar close of the trading calendar. "
        "repair: drop the row.",
    )
    gaps: Policy = Field(
        "error",
        description="Missing bars against the expected spacing or the exchange calendar. "
        "repair: forward-fill gaps of up to max_fill_bars bars (OHLC = previous close, "
        "volume 0); longer gaps stay errors.",
    )
    max_fill_bars: int = Field(5, ge=1, description="Longest gap, in bars, that repair fills.")
    outliers: CheckPolicy = Field(
        "warn", description="Returns far outside the symbol's usual range (flag only)."
    )
    outlier_robust_z: float = Field(
        20.0,
        gt=0,
        description="A log return is an outlier when it is this many robust standard "
        "deviations (1.4826 x MAD) from the median ...",
    )
    outlier_min_abs_return: float = Field(
        0.2, ge=0, description="... and its absolute log return is at least this large."
    )


class CsvConfig(Section):
    """How to read a CSV file of bars: column names, timestamps, chunking."""

    ts_column: str = Field("ts", description="Column holding the bar timestamp.")
    symbol_column: str = Field(
        "symbol", description="Column holding the symbol; if absent, --symbol names it."
    )
    open_column: str = Field("open", description="Column holding the open price.")
    high_column: str = Field("high", description="Column holding the high price.")
    low_column: str = Field("low", description="Column holding the low price.")
    close_column: str = Field("close", description="Column holding the close price.")
    volume_column: str = Field("volume", description="Column holding the traded volume.")
    delimiter: str = Field(",", min_length=1, max_length=1, description="Field separator.")
    timestamp_format: str | None = Field(
        None,
        description="strptime format of the timestamp column; null reads ISO 8601 "
        "(dates, date-times, with or without a UTC offset).",
    )
    timestamp_unit: Literal["s", "ms", "us", "ns"] | None = Field(
        None,
        description="Set when timestamps are epoch numbers: their unit. Never guessed.",
    )
    timezone: str | None = Field(
        None,
        description="IANA zone of naive timestamps (e.g. America/New_York). Naive "
        "timestamps without it are an error.",
    )
    label: Literal["start", "end"] = Field(
        "start",
        description="Whether an intraday timestamp marks the bar's start (most vendors) or "
        "its end. Stored bars are always stamped at their end.",
    )
    block_bytes: int = Field(
        16 * 1024 * 1024,
        ge=64 * 1024,
        description="Bytes read per chunk; bounds memory on large files.",
    )


class SyntheticConfig(Section):
    """Seeded geometric Brownian motion bars, for tests and demos."""

    symbols: tuple[str, ...] = Field(
        ("SYN_A", "SYN_B", "SYN_C"), min_length=1, description="Symbols to generate."
    )
    start: date = Field(date(2015, 1, 1), description="First session (date) to generate.")
    end: date = Field(date(2019, 12, 31), description="Last session (date) to generate.")
    seed: int = Field(7, description="Random seed; the same seed gives the same bars.")
    annual_drift: float = Field(0.06, description="Expected log return per year.")
    annual_volatility: float = Field(0.2, gt=0, description="Volatility of returns per year.")
    correlation: float = Field(
        0.6, ge=-0.49, lt=1, description="Pairwise correlation of the symbols' returns."
    )
    initial_price: float = Field(100.0, gt=0, description="Price of every symbol at start.")
    mean_volume: float = Field(1_000_000.0, gt=0, description="Average volume per bar.")


class DataConfig(Section):
    """Where bars come from, how they are checked and where they are stored."""

    dir: Path = Field(Path("data"), description="Root of the Parquet bar store.")
    source: Literal["bundled", "csv", "parquet", "synthetic"] = Field(
        "bundled", description="Source used when a command does not name one."
    )
    timeframe: str = Field("1d", description="Bar size of ingested data (1m ... 1M).")
    calendar: str | None = Field(
        "XNYS",
        description="Exchange calendar (exchange_calendars code) for sessions and gaps; "
        "null for markets that trade around the clock.",
    )
    bundled_symbols: tuple[str, ...] = Field(
        ("^GSPC", "^IXIC"),
        description="Bundled series to ingest: ^GSPC (S&P 500) and ^IXIC (NASDAQ Composite).",
    )
    on_conflict: Literal["error", "keep", "replace"] = Field(
        "error",
        description="When an ingested bar differs from the stored bar at the same time: "
        "refuse (error), keep the stored one, or replace it.",
    )
    csv: CsvConfig = Field(default_factory=CsvConfig, description="CSV reading options.")
    synthetic: SyntheticConfig = Field(
        default_factory=SyntheticConfig,
        description="Synthetic data options.",
    )
    quality: QualityConfig = Field(
        default_factory=QualityConfig,
        description="Data-quality policies.",
    )

    @field_validator("timeframe")
    @classmethod
    def _timeframe_is_standard(cls, value: str) -> str:
        Timeframe.parse(value)
        return value


class FeaturesConfig(Section):
    """Which features are built and where they are cached."""

    profile: Literal["short", "medium", "long"] = Field(
        "medium", description="Named feature profile: windows and indicator subset."
    )
    cache_dir: Path = Field(
        Path("data/features"),
        description="Feature cache, keyed by data, feature config and code version.",
    )


class LabelsConfig(Section):
    """How training targets are made."""

    horizons: tuple[int, ...] = Field(
        (1, 5, 20), min_length=1, description="Fixed-horizon label horizons, in bars."
    )
    barrier_horizon: int = Field(20, ge=1, description="Triple-barrier vertical barrier, in bars.")
    vol_span: int = Field(
        50, ge=2, description="Span of the EWM volatility that scales the barriers, in bars."
    )
    target_balance: float = Field(
        1 / 3,
        gt=0,
        lt=1,
        description="Share of vertical-barrier outcomes `labels calibrate` aims for; up and "
        "down share the rest equally.",
    )
    barriers_file: Path = Field(
        Path("data/labels/barriers.json"),
        description="Where `labels calibrate` saves the chosen barrier multiples.",
    )


class StorageConfig(Section):
    """The relational store for trading state and system events."""

    database_url: str = Field(
        "sqlite:///state/alphagate.db",
        description="SQLAlchemy URL: SQLite (WAL) by default, postgresql+psycopg://... to scale. "
        "Put no password here; set ALPHAGATE__STORAGE__DATABASE_PASSWORD.",
    )
    database_password: SecretStr | None = Field(
        None, description="Database password (secret: environment only)."
    )


class LoggingConfig(Section):
    """How much the platform says about itself."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level for the console."
    )


CalibrationMethod = Literal["isotonic", "sigmoid", "temperature"]


class PipelineBacktestConfig(Section):
    """The backtest stage: the trained models through the decision path, out of sample only."""

    cash: float = Field(10_000.0, gt=0, description="Starting cash.")
    commission_bps: float = Field(1.0, ge=0, description="Commission, bps of notional.")
    fill_model: Literal["next_open", "close", "conservative"] = Field(
        "conservative", description="How orders fill; conservative charges spread and impact."
    )


class ValidationConfig(Section):
    """Thresholds of the validation stage's checks.

    Defaults are the product brief's bar for a candidate worth paper trading.
    A check whose input is absent is reported as missing, never as passed.
    """

    min_sharpe: float = Field(0.5, description="Backtest annualised Sharpe must exceed this.")
    max_drawdown: float = Field(
        0.25, gt=0, description="Backtest worst peak-to-trough loss (a fraction) must stay below."
    )
    min_win_rate: float = Field(
        0.45, ge=0, le=1, description="Share of winning backtest trades must exceed this."
    )
    min_accuracy: float = Field(
        0.52, ge=0, le=1, description="Holdout accuracy of every horizon must exceed this."
    )
    min_accuracy_edge: float = Field(
        0.0,
        description="Holdout accuracy must beat always predicting the holdout's majority "
        "class by more than this (a model that always says 'up' in a rising market passes "
        "min_accuracy without any skill).",
    )
    max_ece: float = Field(
        0.1,
        gt=0,
        description="Holdout expected calibration error (equal-width bins) of every horizon "
        "must stay below this.",
    )
    min_deflated_sharpe: float = Field(
        0.95,
        ge=0,
        le=1,
        description="Deflated Sharpe ratio (probability that the true Sharpe beats the best of "
        "the trials under the null) must exceed this.",
    )
    leakage_cuts: int = Field(
        3, ge=1, description="Cuts at which the point-in-time checker rebuilds the features."
    )


class PipelineConfig(Section):
    """The research pipeline: where runs go, the model it trains, how it validates."""

    runs_dir: Path = Field(
        Path("runs"), description="Root of runs/<run_id>/<stage>/, MLflow and Optuna storage."
    )
    seed: int = Field(7, description="Seed of every random choice the stages make.")
    model: Literal["logreg", "lightgbm", "catboost"] = Field(
        "lightgbm", description="Model family the train stage fits per horizon."
    )
    trials: int = Field(
        0, ge=0, description="Optuna trials per horizon in the train stage (0: the defaults)."
    )
    calibration_methods: tuple[CalibrationMethod, ...] = Field(
        ("isotonic", "sigmoid", "temperature"),
        min_length=1,
        description="Calibrators the calibrate stage compares per horizon, on out-of-fold "
        "predictions only; the first is also the train stage's own.",
    )
    calibration_folds: int = Field(
        5,
        ge=2,
        description="Time-ordered folds of the out-of-fold predictions used to compare "
        "calibrators.",
    )
    backtest: PipelineBacktestConfig = Field(
        default_factory=PipelineBacktestConfig, description="The backtest stage."
    )
    validation: ValidationConfig = Field(
        default_factory=ValidationConfig, description="Validation thresholds."
    )


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


class Settings(Section):
    """The whole effective configuration of one alphagate process."""

    data: DataConfig = Field(default_factory=DataConfig, description="Market data.")
    features: FeaturesConfig = Field(
        default_factory=FeaturesConfig, description="Feature building."
    )
    labels: LabelsConfig = Field(default_factory=LabelsConfig, description="Label making.")
    storage: StorageConfig = Field(
        default_factory=StorageConfig,
        description="Trading-state database.",
    )
    logging: LoggingConfig = Field(
        default_factory=LoggingConfig,
        description="Logging.",
    )
    pipeline: PipelineConfig = Field(
        default_factory=PipelineConfig, description="Research pipeline."
    )
    execution: ExecutionConfig = Field(
        default_factory=ExecutionConfig, description="Backtest fills, costs and sizing."
    )
    risk: RiskConfig = Field(default_factory=RiskConfig, description="The risk guard.")
    decision: DecisionConfig = Field(
        default_factory=DecisionConfig, description="The model strategy's decision path."
    )


def load_config(
    files: Sequence[Path] = (),
    *,
    environ: Mapping[str, str] | None = None,
    default_file: Path | None = DEFAULT_CONFIG_FILE,
    overrides: Sequence[str] = (),
) -> Settings:
    """Load the effective settings: defaults, each file in order, the environment, ``overrides``.

    ``overrides`` are ``section.key=value`` assignments (the command line's
    ``--set``), applied in order; see :func:`parse_overrides`.

    Raises
    ------
    ConfigError
        On a missing or malformed file, an unknown key (with a suggestion), a
        secret written in a file, or a value that fails validation; the message
        names the dotted key and the file or variable that set it.
    """
    environ = os.environ if environ is None else environ
    layers = [default_file] if default_file is not None and default_file.is_file() else []
    layers.extend(files)
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for path in layers:
        document = _read_yaml(path)
        _check_keys(document, Settings, prefix="", origin=str(path), reject_secrets=True)
        _merge(merged, document, origins, origin=str(path), prefix="")
    _merge(merged, _environment_overrides(environ), origins, origin="environment", prefix="")
    for assignment in overrides:
        _merge(merged, parse_overrides([assignment]), origins, origin="--set", prefix="")
    try:
        return Settings.model_validate(merged)
    except ValidationError as error:
        raise ConfigError(_describe_validation_error(error, origins)) from None


def config_hash(settings: Settings) -> str:
    """Return the 12-hex-digit hash of the settings without secrets; it names a run."""
    payload = json.dumps(_public_dump(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def masked_dump(settings: Settings) -> dict[str, Any]:
    """Return the settings as plain data with every secret masked, for display."""
    return _public_dump(settings, mask=True)


def to_yaml(data: Mapping[str, Any]) -> str:
    """Render plain settings data as YAML in declaration order."""
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True)


def mask_secret(value: str) -> str:
    """Mask a secret for display: long keys keep 4 characters at each end, others none."""
    if len(value) >= 20:
        return f"{value[:4]}...{value[-4:]}"
    return "****"


def _public_dump(model: BaseModel, *, mask: bool = False) -> dict[str, Any]:
    """Dump a model to JSON-compatible data, dropping (or masking) secret fields."""
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            if mask:
                out[name] = mask_secret(value.get_secret_value())
        elif isinstance(value, BaseModel):
            out[name] = _public_dump(value, mask=mask)
        elif _is_secret_field(type(model), name):
            if mask:
                out[name] = None
        else:
            out[name] = json.loads(json.dumps(value, default=str))
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections at the top level")
    return cast("dict[str, Any]", document)


def _section_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    annotation = model.model_fields[name].annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _is_secret_field(model: type[BaseModel], name: str) -> bool:
    annotation = model.model_fields[name].annotation
    return "SecretStr" in str(annotation)


def _check_keys(
    document: Mapping[str, Any],
    model: type[BaseModel],
    *,
    prefix: str,
    origin: str,
    reject_secrets: bool,
) -> None:
    """Refuse unknown keys with a suggestion, and secrets written in files."""
    fields = list(model.model_fields)
    for key, value in document.items():
        dotted = f"{prefix}{key}"
        if key not in model.model_fields:
            raise ConfigError(
                f"unknown key '{dotted}' in {origin}{_suggestion(str(key), fields, prefix)}"
            )
        if reject_secrets and _is_secret_field(model, key) and value is not None:
            variable = ENV_PREFIX + dotted.upper().replace(".", "__")
            raise ConfigError(
                f"'{dotted}' is a secret and must not be written in {origin}; "
                f"set the environment variable {variable} instead"
            )
        section = _section_model(model, key)
        if section is not None and isinstance(value, Mapping):
            _check_keys(
                value, section, prefix=f"{dotted}.", origin=origin, reject_secrets=reject_secrets
            )


def _suggestion(key: str, candidates: Sequence[str], prefix: str) -> str:
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    return (
        f"; did you mean '{prefix}{close[0]}'?"
        if close
        else f"; known keys: {', '.join(candidates)}"
    )


def parse_overrides(assignments: Sequence[str]) -> dict[str, Any]:
    """Turn ``section.key=value`` assignments into a nested mapping; later ones win.

    The value is read as the environment's are (:func:`_scalar_value`): a YAML
    scalar, or verbatim text for text fields, so ``execution.units=whole`` and
    ``risk.max_position_weight=0.1`` both mean what they say.

    Raises
    ------
    ConfigError
        For an assignment without ``=``, or a key that is unknown (with a
        suggestion), a whole section, or below a field that is not a section.
    """
    overrides: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        parts = [part.strip() for part in key.split(".")]
        if not sep or not all(parts):
            raise ConfigError(
                f"--set expects section.key=value, e.g. execution.commission_bps=5; "
                f"got {assignment!r}"
            )
        _assign(overrides, parts, raw, origin=f"--set {assignment}", secrets=False)
    return overrides


def _environment_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Turn ``ALPHAGATE__SECTION__KEY`` variables into a nested mapping.

    Secret fields take the raw string; other fields parse the value as a YAML
    scalar so ``ALPHAGATE__DATA__CALENDAR=null`` means None.
    """
    overrides: dict[str, Any] = {}
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in variable[len(ENV_PREFIX) :].split("__")]
        origin = f"environment variable {variable}"
        _assign(overrides, parts, environ[variable], origin=origin, secrets=True)
    return overrides


def _assign(
    target: dict[str, Any], parts: Sequence[str], raw: str, *, origin: str, secrets: bool
) -> None:
    """Set the dotted key ``parts`` in ``target`` to ``raw`` read as that field's type.

    One walk for the environment and ``--set``, so both refuse the same keys
    with the same suggestion. ``secrets=False`` refuses a secret: a command
    line is visible to every user of the machine and kept in shell history.
    """
    model: type[BaseModel] = Settings
    node = target
    for depth, part in enumerate(parts):
        if part not in model.model_fields:
            prefix = ".".join(parts[:depth]) + ("." if depth else "")
            raise ConfigError(
                f"{origin} names unknown key '{prefix}{part}'"
                + _suggestion(part, list(model.model_fields), prefix)
            )
        section = _section_model(model, part)
        if depth == len(parts) - 1:
            if section is not None:
                raise ConfigError(f"{origin} names a whole section; name one of its keys")
            if not secrets and _is_secret_field(model, part):
                variable = ENV_PREFIX + "__".join(parts).upper()
                raise ConfigError(
                    f"{origin} sets a secret; set the environment variable {variable}"
                )
            node[part] = _scalar_value(model, part, origin, raw)
        else:
            if section is None:
                raise ConfigError(f"{origin}: '{part}' is not a section")
            model = section
            node = node.setdefault(part, {})


def _scalar_value(model: type[BaseModel], name: str, origin: str, raw: str) -> object:
    """Read a variable or ``--set`` value as text for text fields, as YAML for the others.

    Text fields take the value verbatim, so ``%Y-%m-%d`` or ``#`` survive;
    ``null`` still means None where None is allowed.
    """
    annotation = model.model_fields[name].annotation
    options = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    if raw.strip().lower() in ("null", "~") and type(None) in options:
        return None
    if any(_is_text_type(option) for option in options):
        return raw
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ConfigError(f"{origin} holds no valid value") from None


def _is_union(annotation: object) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _is_text_type(annotation: object) -> bool:
    if annotation in (str, Path, SecretStr):
        return True
    return typing.get_origin(annotation) is Literal and all(
        isinstance(value, str) for value in typing.get_args(annotation)
    )


def _merge(
    target: dict[str, Any],
    layer: Mapping[str, Any],
    origins: dict[str, str],
    *,
    origin: str,
    prefix: str,
) -> None:
    """Merge ``layer`` into ``target`` recursively; later layers win, lists are replaced."""
    for key, value in layer.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value, origins, origin=origin, prefix=f"{dotted}.")
        else:
            target[key] = dict(value) if isinstance(value, Mapping) else value
            origins[dotted] = origin


def _describe_validation_error(error: ValidationError, origins: Mapping[str, str]) -> str:
    lines = []
    for item in error.errors():
        dotted = ".".join(str(part) for part in item["loc"])
        source = next(
            (origins[k] for k in _prefixes(dotted) if k in origins), "the built-in defaults"
        )
        lines.append(f"'{dotted}' (from {source}): {item['msg']}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def _prefixes(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
