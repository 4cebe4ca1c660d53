"""The composition root: settings -> sources, store and database -> one use case.

Only this module wires concrete pieces together, so the rings below never
know which adapter they run against. Each public function is one thing a
user can ask for; the CLI parses arguments, calls one of these, and prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from alphagate.config import CsvConfig, Settings, load_config
from alphagate.data.ingest import IngestResult, ingest, validate_source
from alphagate.data.resample import ResampleResult, resample_bars
from alphagate.data.sources.bundled import BundledSource
from alphagate.data.sources.csv import CsvSource, Progress
from alphagate.data.sources.parquet import ParquetSource
from alphagate.data.sources.synthetic import SyntheticSource
from alphagate.data.store import BarStore, WriteSummary
from alphagate.domain.quality_report import DataValidationError, QualityReport
from alphagate.domain.timeframe import Timeframe
from alphagate.errors import AlphagateError, DataError
from alphagate.ports import BarSource

SourceKind = Literal["bundled", "csv", "parquet", "synthetic"]


@dataclass(frozen=True)
class SourceRequest:
    """What the user asked to read; unset fields fall back to the settings."""

    kind: SourceKind | None = None
    path: Path | None = None
    symbol: str | None = None
    timeframe: str | None = None
    calendar: str | None = None
    timezone: str | None = None
    label: Literal["start", "end"] | None = None


def load_settings(files: Sequence[Path] = (), overrides: Sequence[str] = ()) -> Settings:
    """Load the effective settings for this process (see ``config.load_config``)."""
    return load_config(files, overrides=overrides)


def open_store(settings: Settings) -> BarStore:
    """Open the Parquet bar store under ``data.dir``."""
    return BarStore(settings.data.dir)


def build_source(
    settings: Settings, request: SourceRequest, progress: Progress | None = None
) -> BarSource:
    """Build the bar source a request names, with command-line values over settings.

    Raises
    ------
    DataError
        When a file source has no path, or the path's kind cannot be told.
    """
    kind = request.kind or _kind_of(request.path) or settings.data.source
    timeframe = Timeframe.parse(request.timeframe or settings.data.timeframe)
    calendar = _calendar(request.calendar, settings.data.calendar)
    if kind == "bundled":
        return BundledSource(settings.data.bundled_symbols)
    if kind == "synthetic":
        return SyntheticSource(settings.data.synthetic, timeframe=timeframe, calendar=calendar)
    if request.path is None:
        raise DataError(f"--path is required for --source {kind}")
    options = _csv_options(settings.data.csv, request)
    if kind == "csv":
        return CsvSource(
            request.path,
            options,
            timeframe=timeframe,
            calendar=calendar,
            symbol=request.symbol,
            progress=progress,
        )
    return ParquetSource(
        request.path, options, timeframe=timeframe, calendar=calendar, symbol=request.symbol
    )


def run_ingest(
    settings: Settings, request: SourceRequest, progress: Progress | None = None
) -> IngestResult:
    """Ingest a source into the store and record the outcome as a system event.

    Raises
    ------
    DataValidationError, StoreConflictError
        When the input is rejected; the store is unchanged and the rejection
        is recorded as an ``ingest_rejected`` event.
    """
    # SQLAlchemy takes a fifth of a second to import; only ingest writes to the
    # database, so the commands that never touch it do not pay for it.
    from alphagate.adapters.sql import create_db_engine, create_schema, record_event

    source = build_source(settings, request, progress)
    engine = create_db_engine(settings.storage.database_url, settings.storage.database_password)
    try:
        create_schema(engine)
        try:
            result = ingest(
                source,
                open_store(settings),
                settings.data.quality,
                on_conflict=settings.data.on_conflict,
            )
        except AlphagateError as error:
            payload: dict[str, object] = {"source": source.name}
            if isinstance(error, DataValidationError):
                payload["errors"] = error.report.error_count
            record_event(
                engine, "ingest_rejected", str(error)[:2000], source="data.ingest", payload=payload
            )
            raise
        new_rows = sum(w.new_rows for w in result.writes)
        record_event(
            engine,
            "ingest_completed",
            f"{source.name}: {new_rows} new {result.timeframe} bars",
            source="data.ingest",
            payload={
                "source": source.name,
                "timeframe": result.timeframe,
                "new_rows": new_rows,
                "duplicate_rows": sum(w.duplicate_rows for w in result.writes),
                "violations": sum(result.report.counts.values()),
            },
        )
    finally:
        engine.dispose()
    return result


def run_validate(settings: Settings, request: SourceRequest) -> QualityReport:
    """Check a file against every rule without storing anything."""
    return validate_source(build_source(settings, request), settings.data.quality)


def run_resample(
    settings: Settings,
    source_timeframe: str,
    target_timeframe: str,
    *,
    symbols: Sequence[str] | None = None,
    empty: Literal["drop", "fill"] = "drop",
) -> tuple[ResampleResult, list[WriteSummary]]:
    """Resample stored bars to a coarser timeframe and store the result beside them."""
    store = open_store(settings)
    bars = store.read(symbols or None, source_timeframe)
    if bars.empty:
        raise DataError(
            f"no stored {source_timeframe} bars"
            + (f" for {', '.join(symbols)}" if symbols else "")
            + "; run `alphagate data ingest` first or see `alphagate data list`"
        )
    result = resample_bars(
        bars,
        Timeframe.parse(target_timeframe),
        calendar=settings.data.calendar,
        source=Timeframe.parse(source_timeframe),
        empty=empty,
    )
    writes = store.write(result.bars, target_timeframe, on_conflict=settings.data.on_conflict)
    return result, writes


def read_bars(
    settings: Settings,
    symbol: str,
    timeframe: str,
    start: str | None = None,
    end: str | None = None,
) -> pd.DataFrame:
    """Read one symbol's stored bars between optional inclusive bounds (dates or instants)."""
    store = open_store(settings)
    bars = store.read(
        [symbol], timeframe, parse_instant(start), parse_instant(end, end_of_day=True)
    )
    if bars.empty and symbol not in store.symbols(timeframe):
        known = ", ".join(store.symbols(timeframe)) or "none"
        raise DataError(f"no {timeframe} bars stored for {symbol!r}; stored symbols: {known}")
    return bars


def parse_instant(value: str | None, *, end_of_day: bool = False) -> pd.Timestamp | None:
    """Parse a user's date or instant as UTC; a bare date as an end bound covers its whole day."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        raise DataError(f"{value!r} is not a date or timestamp") from None
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
        if end_of_day and len(value.strip()) == 10:
            stamp += pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    return stamp.tz_convert("UTC")


def _kind_of(path: Path | None) -> SourceKind | None:
    if path is None:
        return None
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    if ".csv" in suffixes or ".txt" in suffixes:
        return "csv"
    return None


def _calendar(requested: str | None, configured: str | None) -> str | None:
    if requested is None:
        return configured
    return None if requested.lower() in ("none", "null", "24/7") else requested


def _csv_options(options: CsvConfig, request: SourceRequest) -> CsvConfig:
    updates: dict[str, object] = {}
    if request.timezone is not None:
        updates["timezone"] = request.timezone
    if request.label is not None:
        updates["label"] = request.label
    return CsvConfig.model_validate({**options.model_dump(), **updates})
