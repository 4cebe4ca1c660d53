"""The composition root: settings -> sources, store and database -> one use case.

Only this module wires concrete pieces together, so the rings below never
know which adapter they run against. Each public function is one thing a
user can ask for; the CLI parses arguments, calls one of these, and prints.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import pandas as pd

from alphagate.config import CsvConfig, DataConfig, QualityConfig, Settings, load_config
from alphagate.config.data import calendar_code
from alphagate.data.inference import Given, Inference, infer, timestamp_column, with_columns
from alphagate.data.ingest import IngestResult, ingest, validate_source
from alphagate.data.refusal import fix_hint, refuse, write_report_file
from alphagate.data.resample import ResampleResult, resample_bars
from alphagate.data.sources.bundled import BundledSource
from alphagate.data.sources.csv import CsvSource, Progress
from alphagate.data.sources.parquet import ParquetSource
from alphagate.data.sources.peek import peek_csv, peek_parquet
from alphagate.data.sources.synthetic import SyntheticSource
from alphagate.data.store import BarStore, WriteSummary
from alphagate.domain.quality_report import DataValidationError, QualityReport
from alphagate.domain.timeframe import Timeframe
from alphagate.errors import AlphagateError, ConfigError, DataError
from alphagate.ports import BarSource

SourceKind = Literal["bundled", "csv", "parquet", "synthetic", "alpaca", "ccxt"]


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
    symbols: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class OpenedSource:
    """A bar source, and for a file what was settled about it (``data.inference``)."""

    source: BarSource
    inference: Inference | None = None


@dataclass(frozen=True)
class Validation:
    """What ``data validate`` found, the likely fix and where the full list went."""

    report: QualityReport
    inference: Inference | None = None
    hint: str | None = None
    report_file: Path | None = None


def load_settings(files: Sequence[Path] = (), overrides: Sequence[str] = ()) -> Settings:
    """Load the effective settings for this process (see ``config.load_config``).

    ``data.model_fields_set`` then holds the ``data`` keys a user's layer set
    (a ``--config`` file, an ``ALPHAGATE__`` variable, ``--set``), not those
    of ``configs/default.yaml``, which spells out every default: a file read
    infers the bar size and calendar only where the user left them open, and
    a value they did write always wins.
    """
    settings = load_config(files, overrides=overrides)
    try:
        user = load_config(files, overrides=overrides, default_file=None)
    except ConfigError:
        return settings  # cannot tell: every value counts as given
    return settings.model_copy(update={"data": _with_fields_set(settings.data, user)})


def _with_fields_set(data: DataConfig, user: Settings) -> DataConfig:
    """``data`` whose own and ``quality``'s fields-set are those ``user`` was given."""
    quality_values = {name: getattr(data.quality, name) for name in QualityConfig.model_fields}
    quality = QualityConfig.model_construct(
        _fields_set=set(user.data.quality.model_fields_set), **quality_values
    )
    values = {name: getattr(data, name) for name in DataConfig.model_fields}
    values["quality"] = quality
    return DataConfig.model_construct(_fields_set=set(user.data.model_fields_set), **values)


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
    return open_source(settings, request, progress).source


def open_source(
    settings: Settings, request: SourceRequest, progress: Progress | None = None
) -> OpenedSource:
    """:func:`build_source`, with what was inferred about a file (see ``data.inference``).

    For a file, the bar size, calendar, symbol and column names that neither
    the request nor a user's settings give are read off the file's header
    and first rows.

    Raises
    ------
    DataError
        When a file source has no path, or the file's spacing is no bar size.
    """
    kind = request.kind or _kind_of(request.path) or settings.data.source
    timeframe = _timeframe(request.timeframe or settings.data.timeframe)
    calendar = _calendar(request.calendar, settings.data.calendar)
    if kind == "bundled":
        return OpenedSource(BundledSource(settings.data.bundled_symbols))
    if kind == "synthetic":
        return OpenedSource(
            SyntheticSource(settings.data.synthetic, timeframe=timeframe, calendar=calendar)
        )
    if kind == "alpaca":
        return OpenedSource(_alpaca_source(settings, request, timeframe, calendar))
    if kind == "ccxt":
        return OpenedSource(_ccxt_source(settings, request, timeframe))
    if request.path is None:
        raise DataError(f"--path is required for --source {kind}")
    path = request.path
    options = _csv_options(settings.data.csv, request)
    given_keys = settings.data.model_fields_set
    given = Given(
        timeframe=_timeframe(request.timeframe)
        if request.timeframe
        else (timeframe if "timeframe" in given_keys else None),
        calendar=calendar,
        calendar_given=request.calendar is not None or "calendar" in given_keys,
        symbol=request.symbol,
        fallback_timeframe=timeframe,
        fallback_calendar=calendar,
    )

    def stamps_column(header: list[str]) -> str | None:
        return timestamp_column(header, options)

    if kind == "csv":
        peek = peek_csv(path, options.delimiter, stamps_column)
    else:
        peek = peek_parquet(path, stamps_column)
    inference = infer(path, peek.header, peek.stamps, options, given)
    options = with_columns(options, inference.columns)
    timeframe, calendar, symbol = inference.timeframe, inference.calendar, inference.symbol
    if kind == "csv":
        source: BarSource = CsvSource(
            path, options, timeframe=timeframe, calendar=calendar, symbol=symbol, progress=progress
        )
    else:
        source = ParquetSource(path, options, timeframe=timeframe, calendar=calendar, symbol=symbol)
    return OpenedSource(source, inference)


def run_ingest(
    settings: Settings,
    request: SourceRequest,
    progress: Progress | None = None,
    say: Callable[[str], None] | None = None,
) -> IngestResult:
    """Ingest a source into the store and record the outcome as a system event.

    ``say`` receives the line telling what was inferred about a file, if anything.

    Raises
    ------
    DataValidationError, StoreConflictError
        When the input is rejected; the store is unchanged and the rejection
        is recorded as an ``ingest_rejected`` event.
    """
    # SQLAlchemy takes a fifth of a second to import; only ingest writes to the
    # database, so the commands that never touch it do not pay for it.
    from alphagate.adapters.sql import create_db_engine, create_schema, record_event

    opened = open_source(settings, request, progress)
    source = opened.source
    line = None if opened.inference is None else opened.inference.line()
    if say is not None and line:
        say(line)
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
            if isinstance(error, DataValidationError):
                raise refuse(error, opened.inference) from None
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


def run_validate(settings: Settings, request: SourceRequest) -> Validation:
    """Check a file against every rule without storing anything.

    A file that cannot be read at all (a missing column, say) is reported
    like one that broke value rules: the report holds why.
    """
    opened = open_source(settings, request)
    try:
        report = validate_source(opened.source, settings.data.quality)
    except DataValidationError as error:
        report = error.report
    if report.is_clean:
        return Validation(report, opened.inference)
    try:
        report_file: Path | None = write_report_file(report)
    except OSError:
        report_file = None
    return Validation(report, opened.inference, fix_hint(report, opened.inference), report_file)


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


ALPACA_FIRST_DAY: Final = "2016-01-01"
"""Where an Alpaca fetch starts when neither --start nor a stored bar says (its data's start)."""


def _stored_last(
    settings: Settings, request: SourceRequest, timeframe: Timeframe
) -> dict[str, pd.Timestamp]:
    """The last stored bar of each requested symbol: where an incremental fetch resumes."""
    return {
        c.symbol: c.last
        for c in open_store(settings).coverage()
        if c.timeframe == timeframe.name and c.symbol in request.symbols
    }


def _alpaca_source(
    settings: Settings, request: SourceRequest, timeframe: Timeframe, calendar: str | None
) -> BarSource:
    """Alpaca's bars for ``--symbols``, each from after its last stored bar (incremental)."""
    from alphagate.adapters.alpaca.bars import AlpacaBarSource
    from alphagate.adapters.alpaca.open import open_data_client

    if not request.symbols:
        raise DataError("--symbols is required for --source alpaca, e.g. --symbols AAPL,MSFT")
    start = parse_instant(request.start) or pd.Timestamp(ALPACA_FIRST_DAY, tz="UTC")
    end = parse_instant(request.end, end_of_day=True)
    return AlpacaBarSource(
        open_data_client(settings, os.environ),
        request.symbols,
        timeframe=timeframe,
        calendar=calendar,
        start=start.to_pydatetime(),
        end=None if end is None else end.floor("us").to_pydatetime(),
        since=_stored_last(settings, request, timeframe),
        feed=settings.venues.alpaca.feed,
    )


def _ccxt_source(settings: Settings, request: SourceRequest, timeframe: Timeframe) -> BarSource:
    """An exchange's candles from ``venues.ccxt``, resuming after the bars already stored."""
    from alphagate.adapters.ccxt.ohlcv import CcxtBarSource  # ccxt takes a second to import

    if not request.symbols:
        raise DataError("--source ccxt needs --symbols, e.g. --symbols BTC/USDT,ETH/USDT")
    return CcxtBarSource(
        settings.venues.ccxt,
        request.symbols,
        timeframe,
        start=parse_instant(request.start),
        end=parse_instant(request.end, end_of_day=True),
        resume={} if request.start else _stored_last(settings, request, timeframe),
    )


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
    return configured if requested is None else calendar_code(requested)


def _timeframe(name: str) -> Timeframe:
    try:
        return Timeframe.parse(name)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _csv_options(options: CsvConfig, request: SourceRequest) -> CsvConfig:
    updates: dict[str, object] = {}
    if request.timezone is not None:
        updates["timezone"] = request.timezone
    if request.label is not None:
        updates["label"] = request.label
    return CsvConfig.model_validate({**options.model_dump(), **updates})
