"""One settings tree for the whole platform, loaded from YAML and the environment.

Why it is built this way:

* **Frozen and strict.** Every model forbids unknown keys, so a misspelt key
  fails at start-up with its dotted path and a "did you mean" suggestion
  instead of silently falling back to a default that then trades real money.
* **Layered.** ``configs/default.yaml`` (when present in the working
  directory) is read first, then each ``--config`` file merges over the ones
  before it, then ``ALPHAGATE__SECTION__KEY`` environment variables.
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


def load_config(
    files: Sequence[Path] = (),
    *,
    environ: Mapping[str, str] | None = None,
    default_file: Path | None = DEFAULT_CONFIG_FILE,
) -> Settings:
    """Load the effective settings: defaults, then each file in order, then the environment.

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
    overrides = _environment_overrides(environ)
    _merge(merged, overrides, origins, origin="environment", prefix="")
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
        model: type[BaseModel] = Settings
        node = overrides
        for depth, part in enumerate(parts):
            if part not in model.model_fields:
                prefix = ".".join(parts[:depth]) + ("." if depth else "")
                raise ConfigError(
                    f"environment variable {variable} names unknown key '{prefix}{part}'"
                    + _suggestion(part, list(model.model_fields), prefix)
                )
            section = _section_model(model, part)
            if depth == len(parts) - 1:
                if section is not None:
                    raise ConfigError(f"environment variable {variable} names a whole section")
                node[part] = _environment_value(model, part, variable, environ[variable])
            else:
                if section is None:
                    raise ConfigError(f"environment variable {variable}: '{part}' is not a section")
                model = section
                node = node.setdefault(part, {})
    return overrides


def _environment_value(model: type[BaseModel], name: str, variable: str, raw: str) -> object:
    """Read a variable as text for text fields, as a YAML scalar for the others.

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
        raise ConfigError(f"environment variable {variable} holds no valid value") from None


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
