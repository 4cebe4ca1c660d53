"""The ``data`` section: where bars come from, how they are read, checked and stored."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from alphagate.config.base import Section
from alphagate.domain.timeframe import Timeframe

Policy = Literal["error", "warn", "repair"]

NO_CALENDAR_WORDS = ("none", "null", "24/7")
"""Words for "no calendar: the market never closes", alike on the command line and in files."""


def calendar_code(value: str | None) -> str | None:
    """A calendar as written by a user, as the code the rest of the code knows.

    ``none``, ``null`` and ``24/7`` (any case) all mean a market that trades
    around the clock, so the command line and a config file read the same;
    ``fx`` (any case) is the currency week; exchange codes stay as written.
    """
    if value is None:
        return None
    text = value.strip()
    if text.lower() in NO_CALENDAR_WORDS:
        return None
    return "fx" if text.lower() == "fx" else text


CheckPolicy = Literal["error", "warn"]


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
    timeframe: str = Field(
        "1d",
        description="Bar size of ingested data (1m ... 1M). A file read infers it (the most "
        "common spacing) unless a config file, the environment or --set gives it.",
    )
    calendar: str | None = Field(
        "XNYS",
        description="Exchange calendar (exchange_calendars code) for sessions and gaps; fx "
        "for the currency week (Sunday to Friday 17:00 New York); null, none or 24/7 for "
        "markets that trade around the clock. A file read (--data, --input, data validate, "
        "data ingest --path) infers it from the bars unless a config file, the environment or "
        "--set gives it.",
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

    @field_validator("calendar")
    @classmethod
    def _calendar_words(cls, value: str | None) -> str | None:
        return calendar_code(value)
