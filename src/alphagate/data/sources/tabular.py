"""Turn raw tabular columns (CSV text or Parquet values) into flat canonical bars.

CSV and Parquet share this code, so both apply the same structural rules:
every required column present, numbers that parse, timestamps that parse and
say which instant they mean. Nothing is guessed: naive intraday timestamps
need a configured timezone, epoch numbers need a configured unit, and a file
that mixes timestamps with and without a UTC offset is rejected.

For daily and coarser bars the date as written names the trading day (the
time of day and offset are ignored, as a reader of such a file would); the
bar is stamped at that session's close. Intraday timestamps are instants,
shifted by one bar when they mark the bar's start.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

import numpy as np
import pandas as pd

from alphagate.config import CsvConfig
from alphagate.data.calendar import day_closes_for_dates
from alphagate.domain.bars import BAR_COLUMNS, in_nanoseconds
from alphagate.domain.quality_report import (
    Action,
    DataValidationError,
    QualityReport,
    Rule,
    Violation,
)
from alphagate.domain.timeframe import Timeframe

_AWARE = r"(?:Z|[+-]\d{2}:?\d{2})$"
_DATE_ONLY = r"\d{4}-\d{2}-\d{2}"
_NAN_WORDS = ("nan", "+nan", "-nan")


@dataclass(frozen=True)
class TabularSpec:
    """How to read one tabular input: column names, timestamp rules, bar size."""

    source: str
    columns: dict[str, str]
    timeframe: Timeframe
    calendar: str | None
    timestamp_format: str | None = None
    timestamp_unit: Literal["s", "ms", "us", "ns"] | None = None
    timezone: str | None = None
    label: Literal["start", "end"] = "start"
    symbol: str | None = None

    @classmethod
    def from_config(
        cls,
        source: str,
        options: CsvConfig,
        *,
        timeframe: Timeframe,
        calendar: str | None,
        symbol: str | None,
    ) -> TabularSpec:
        """Build a spec from the ``data.csv`` settings (Parquet reuses them)."""
        columns = {
            "ts": options.ts_column,
            "symbol": options.symbol_column,
            "open": options.open_column,
            "high": options.high_column,
            "low": options.low_column,
            "close": options.close_column,
            "volume": options.volume_column,
        }
        return cls(
            source=source,
            columns=columns,
            timeframe=timeframe,
            calendar=calendar,
            timestamp_format=options.timestamp_format,
            timestamp_unit=options.timestamp_unit,
            timezone=options.timezone,
            label=options.label,
            symbol=symbol,
        )

    def source_columns(self, header: Sequence[str]) -> list[str]:
        """Return the input columns to read, or raise listing every missing one.

        The symbol column may be absent when a fixed symbol is given.
        """
        present = set(header)
        needed = ["ts", *BAR_COLUMNS]
        if self.symbol is None or self.columns["symbol"] in present:
            needed.insert(1, "symbol")
        report = QualityReport(source=self.source)
        for name in needed:
            column = self.columns[name]
            if column in present:
                continue
            close = difflib.get_close_matches(column, list(header), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f"; the header has {list(header)}"
            if name == "symbol":
                hint += " (or pass --symbol when the file holds one symbol)"
            report.add(
                Violation(
                    Rule.REQUIRED_COLUMNS,
                    Action.REJECTED,
                    self.source,
                    f"required {name} column '{column}' is missing{hint}",
                    row=0,
                    column=column,
                )
            )
        report.raise_for_errors()
        return [self.columns[name] for name in needed]


class TabularFile:
    """What CSV and Parquet sources share: the file, its spec and the port's properties."""

    def __init__(
        self,
        path: Path,
        options: CsvConfig,
        *,
        timeframe: Timeframe,
        calendar: str | None,
        symbol: str | None = None,
    ) -> None:
        self._path = path
        self._options = options
        self._timeframe = timeframe
        self._calendar = calendar
        self._spec = TabularSpec.from_config(
            str(path), options, timeframe=timeframe, calendar=calendar, symbol=symbol
        )

    @property
    def name(self) -> str:
        """The file path, as messages name it."""
        return str(self._path)

    @property
    def timeframe(self) -> Timeframe:
        """The bar size the file holds (from config or the command line)."""
        return self._timeframe

    @property
    def calendar(self) -> str | None:
        """The exchange calendar the bars follow."""
        return self._calendar

    def _reject(self, rule: Rule, detail: str) -> NoReturn:
        """Refuse the whole file: it cannot be read at all."""
        report = QualityReport(source=self.name)
        report.add(Violation(rule, Action.REJECTED, self.name, detail))
        raise DataValidationError(report)


@dataclass
class TimestampStyle:
    """Whether the input's timestamps carry a UTC offset, fixed by the first one seen."""

    aware: bool | None = None
    first_row: int | None = None
    rows_seen: int = field(default=0)


def normalise_chunk(
    raw: pd.DataFrame,
    rows: np.ndarray,
    spec: TabularSpec,
    style: TimestampStyle,
    report: QualityReport,
) -> pd.DataFrame:
    """Convert one chunk of raw columns into flat bars; structural problems go to ``report``.

    Rows with a structural violation are marked ``rejected`` (or left out
    when their timestamp is unusable); the caller must not store anything when
    ``report`` holds errors.
    """
    ts, bad = _parse_timestamps(raw[spec.columns["ts"]], rows, spec, style, report)
    columns: dict[str, object] = {}
    if spec.columns["symbol"] in raw.columns:
        symbols, empty = _symbols(raw[spec.columns["symbol"]])
        _record(
            report,
            spec,
            rule=Rule.REQUIRED_COLUMNS,
            rows=rows,
            mask=empty,
            values=None,
            column=spec.columns["symbol"],
            template="symbol is empty",
            ts=ts,
        )
        bad |= empty
        columns["symbol"] = symbols
    else:
        columns["symbol"] = pd.Categorical.from_codes(
            np.zeros(len(raw), dtype=np.int8), categories=pd.Index([spec.symbol])
        )
    columns["row"] = rows.astype("int64", copy=False)
    columns["ts"] = ts
    for name in BAR_COLUMNS:
        column = raw[spec.columns[name]]
        values, invalid = _parse_numbers(column)
        _record(
            report,
            spec,
            rule=Rule.NUMERIC,
            rows=rows,
            mask=invalid,
            values=column,
            column=spec.columns[name],
            template="'{value}' is not a number",
            ts=ts,
        )
        bad |= invalid.to_numpy()
        # The array itself, not to_numpy's read-only view of it, so that a reader
        # the series is handed over to can take it as it is (see bars_of_symbol).
        columns[name] = np.asarray(values.array)
    # Rows whose timestamp parsed stay, marked, so the series checks can still
    # place them (a malformed row is not a missing bar) without judging their values.
    columns["rejected"] = bad
    out = pd.DataFrame(columns, copy=False)  # no copy into one block: the series is joined later
    parsed = ~np.asarray(ts.isna())
    if parsed.all():
        return out
    return out.loc[parsed].reset_index(drop=True)


def _symbols(column: pd.Series) -> tuple[Any, np.ndarray]:
    """Symbols without surrounding blanks (missing ones stay missing), and a mask of empty ones.

    The same values as converting every cell to text and stripping it, but a
    file repeats a handful of symbols over a million rows, so each distinct
    value is converted once, and the rows get theirs as the codes of a
    categorical: grouping the rows by symbol then reads those codes instead of
    hashing a million strings a second time. Only text is done this way (a
    Parquet file's symbols arrive already numbered, as a categorical of text):
    in a column of mixed objects, values that compare equal (``1`` and
    ``1.0``) can still be written differently.
    """
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype) and isinstance(
        dtype.categories.dtype, pd.StringDtype
    ):
        codes = np.asarray(column.cat.codes)
        distinct: Any = dtype.categories
    elif isinstance(dtype, pd.StringDtype):
        codes, distinct = pd.factorize(column, use_na_sentinel=True)
    else:
        text = column.astype("string").str.strip()
        return text.astype(object).to_numpy(), (text.isna() | text.eq("")).to_numpy(dtype=bool)
    # A missing symbol (code -1) takes the last entry of each lookup, the one added for it.
    entries = pd.Series(pd.array([*distinct, None], dtype=distinct.dtype))
    text = entries.astype("string").str.strip()
    empty = (text.isna() | text.eq("")).to_numpy(dtype=bool)
    # Values that differ only in blanks are one symbol, so the stripped ones are numbered anew.
    renumbered, names = pd.factorize(text.astype(object).to_numpy(), use_na_sentinel=True)
    # Usually no two values merge and none is blank, and the rows' codes serve as they are.
    merged = not np.array_equal(renumbered[:-1], np.arange(len(distinct)))
    symbols = pd.Categorical.from_codes(
        renumbered[codes] if merged else codes, categories=pd.Index(names)
    )
    return symbols, empty[codes] if empty[:-1].any() else codes < 0


def _record(
    report: QualityReport,
    spec: TabularSpec,
    *,
    rule: Rule,
    rows: np.ndarray,
    mask: pd.Series | np.ndarray,
    values: pd.Series | None,
    column: str | None,
    template: str,
    ts: pd.DatetimeIndex | None = None,
) -> None:
    """Add a rejection for each row in ``mask``; beyond the report's cap they are only counted."""
    indices = np.flatnonzero(np.asarray(mask, dtype=bool))
    for index in indices[:250]:
        value = None if values is None else values.iloc[index]
        report.add(
            Violation(
                rule,
                Action.REJECTED,
                spec.source,
                template.format(value=value),
                row=int(rows[index]),
                ts=None if ts is None or pd.isna(ts[index]) else ts[index],
                column=column,
            )
        )
    if len(indices) > 250:
        report.counts[(rule, Action.REJECTED)] += len(indices) - 250


def _parse_numbers(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a column as float64; return the values and a mask of text that is no number.

    Empty cells and the word NaN become NaN and are left to the value rules
    (they are missing data, not malformed data).
    """
    no_text = pd.Series(np.zeros(len(column), dtype=bool), index=column.index, copy=False)
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.astype("float64"), no_text
    fast = _cast_with_arrow(column, "float64")
    if fast is not None:
        return fast, no_text
    values = pd.to_numeric(column, errors="coerce").astype("float64")
    text = column.astype("string").str.strip().str.lower()
    invalid = values.isna() & column.notna() & text.ne("") & ~text.isin(_NAN_WORDS)
    return values, invalid.fillna(value=False).astype(bool)


def _parse_timestamps(
    column: pd.Series,
    rows: np.ndarray,
    spec: TabularSpec,
    style: TimestampStyle,
    report: QualityReport,
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Return UTC bar closes and a mask of rows whose timestamp was rejected."""
    closes = _typed_intraday_closes(column, spec)
    if closes is not None:
        return closes, np.zeros(len(column), dtype=bool)
    parser = _TimestampParser(column.reset_index(drop=True), rows, spec, report)
    if pd.api.types.is_datetime64_any_dtype(column):
        parser.from_datetimes()
    elif spec.timestamp_unit is not None or pd.api.types.is_numeric_dtype(column):
        parser.from_epoch()
    elif spec.timestamp_format is not None:
        parser.from_format(spec.timestamp_format)
    else:
        parser.from_iso(style)
    return parser.bar_closes(), parser.bad


def _typed_intraday_closes(column: pd.Series, spec: TabularSpec) -> pd.DatetimeIndex | None:
    """Bar closes of intraday timestamps typed with a zone and none missing, else None.

    Such a column (a Parquet file's, usually) is already a column of instants
    and no rule can reject one of them, so they only need converting to UTC
    and, for bars labelled at their start, shifting by one bar: what the
    general parser ends up doing, without the per-row bookkeeping it needs
    for text.
    """
    if not isinstance(column.dtype, pd.DatetimeTZDtype) or not spec.timeframe.is_intraday:
        return None
    instants = pd.DatetimeIndex(column)
    if instants.hasnans:
        return None
    closes = in_nanoseconds(instants.tz_convert("UTC"))
    if spec.label == "start":
        closes = closes + spec.timeframe.delta
    return closes


class _TimestampParser:
    """Parses one chunk's timestamp column into instants and wall-clock dates.

    Instants matter for intraday bars; the date as written matters for daily
    and coarser bars. ``bad`` marks rows already rejected, so each row is
    reported once, for the first rule it breaks.
    """

    def __init__(
        self, column: pd.Series, rows: np.ndarray, spec: TabularSpec, report: QualityReport
    ) -> None:
        self.column = column
        self.rows = rows
        self.spec = spec
        self.report = report
        size = len(column)
        self.instants = pd.Series(pd.NaT, index=range(size), dtype="datetime64[ns, UTC]")
        self.dates = pd.Series(pd.NaT, index=range(size), dtype="datetime64[ns]")
        self.bad = np.zeros(size, dtype=bool)

    def reject(self, mask: np.ndarray | pd.Series, rule: Rule, template: str) -> None:
        """Report the rows in ``mask`` not already rejected, and mark them."""
        fresh = np.asarray(mask, dtype=bool) & ~self.bad
        _record(
            self.report,
            self.spec,
            rule=rule,
            rows=self.rows,
            mask=fresh,
            values=self.column,
            column=self.spec.columns["ts"],
            template=template,
        )
        self.bad |= fresh

    def keep(self, instants: pd.Series, mask: np.ndarray) -> None:
        """Store aware instants (as UTC) and their wall-clock dates where ``mask``.

        Intraday bars are stamped from the instants alone, so their dates are
        not worked out: for them a date only marks a row that has one but no
        instant, and a row given an instant here would have had both.
        """
        instants = instants.reset_index(drop=True)
        mask = mask & ~self.bad
        everywhere = bool(mask.all())
        utc = instants.dt.tz_convert("UTC").dt.as_unit("ns")
        self.instants = utc if everywhere else self.instants.where(~mask, utc)
        if self.spec.timeframe.is_intraday:
            return
        wall = instants.dt.tz_localize(None).dt.normalize().dt.as_unit("ns")
        self.dates = wall if everywhere else self.dates.where(~mask, wall)

    def keep_naive(self, wall_clock: pd.Series, mask: np.ndarray) -> None:
        """Attach the configured zone to naive times, refusing DST-ambiguous or missing ones.

        Without a zone, a daily file's naive times (``2020-01-02 00:00:00``,
        a typed date) are its session dates as written, which is all a daily
        bar needs; an intraday time without a zone names no instant and is refused.
        """
        if self.spec.timezone is None:
            if self.spec.timeframe.is_intraday:
                self.reject(mask, Rule.TIMEZONE, _NAIVE_TEXT)
                return
            mask = mask & ~self.bad
            dates = wall_clock.reset_index(drop=True).dt.normalize().dt.as_unit("ns")
            self.dates = self.dates.where(~mask, dates)
            return
        wall_clock = wall_clock.reset_index(drop=True).where(mask)
        localized = wall_clock.dt.tz_localize(
            self.spec.timezone, ambiguous="NaT", nonexistent="NaT"
        )
        self.reject(
            np.asarray(wall_clock.notna() & localized.isna()),
            Rule.TIMEZONE,
            f"'{{value}}' is ambiguous or does not exist in {self.spec.timezone} "
            "(a daylight-saving change)",
        )
        self.keep(localized, mask)

    def from_datetimes(self) -> None:
        """Typed timestamps (Parquet): aware ones are instants, naive ones need a zone."""
        self.reject(self.column.isna().to_numpy(), Rule.TIMESTAMP, "timestamp is missing")
        everywhere = np.ones(len(self.column), dtype=bool)
        instants = pd.Series(pd.DatetimeIndex(self.column))
        if instants.dt.tz is None:
            self.keep_naive(instants, everywhere)
        else:
            self.keep(instants, everywhere)

    def from_epoch(self) -> None:
        """Epoch numbers, in the configured unit only."""
        unit = self.spec.timestamp_unit
        if unit is None:
            self.reject(np.ones(len(self.column), dtype=bool), Rule.TIMESTAMP, _EPOCH_TEXT)
            return
        numbers = pd.to_numeric(self.column, errors="coerce")
        self.reject(
            numbers.isna().to_numpy(),
            Rule.TIMESTAMP,
            f"'{{value}}' is not an epoch number in {unit}",
        )
        instants = pd.Series(pd.to_datetime(numbers, unit=unit, utc=True))
        self.keep(instants, ~self.bad)

    def from_format(self, layout: str) -> None:
        """Text in an explicit strptime layout; ``%z`` in it makes the times instants."""
        text = self._text()
        aware = "%z" in layout
        parsed = pd.Series(pd.to_datetime(text, format=layout, errors="coerce", utc=aware))
        self.reject(
            parsed.isna().to_numpy(),
            Rule.TIMESTAMP,
            f"'{{value}}' does not match the format '{layout}'",
        )
        if aware:
            self.keep(parsed, ~self.bad)
        else:
            self.keep_naive(parsed, ~self.bad)

    def from_iso(self, style: TimestampStyle) -> None:
        """ISO 8601 text: dates, or date-times with or without an offset (one style a file)."""
        if self.spec.timeframe.is_intraday and style.aware is not False:
            # Fast path for the common large file: every intraday stamp carries an
            # offset. Arrow parses those in C++ and fails on anything else, which
            # then takes the row-by-row path below for exact messages.
            instants = _cast_with_arrow(self.column, "timestamp[ns, tz=UTC]")
            if instants is not None and len(instants):
                if style.aware is None:
                    style.aware, style.first_row = True, int(self.rows[0])
                self.instants = instants
                return
        text = self._text()
        epoch = text.str.fullmatch(r"[+-]?\d{9,}(?:\.\d+)?").fillna(value=False)
        self.reject(epoch.to_numpy(dtype=bool), Rule.TIMESTAMP, _EPOCH_TEXT)
        date_only = text.str.fullmatch(_DATE_ONLY).fillna(value=False).to_numpy(dtype=bool)
        aware = text.str.contains(_AWARE, regex=True).fillna(value=False).to_numpy(dtype=bool)
        naive = ~date_only & ~aware & ~self.bad
        _check_style(aware & ~self.bad, naive, self.rows, style, self.reject)

        day = pd.Series(pd.to_datetime(text.where(date_only), format="%Y-%m-%d", errors="coerce"))
        self.reject(
            date_only & day.isna().to_numpy(), Rule.TIMESTAMP, "'{value}' is not a valid date"
        )
        self.dates = self.dates.where(~(date_only & ~self.bad), day.dt.as_unit("ns"))

        stamped = pd.Series(
            pd.to_datetime(text.where(aware), format="ISO8601", errors="coerce", utc=True)
        )
        self.reject(
            aware & stamped.isna().to_numpy(),
            Rule.TIMESTAMP,
            "'{value}' is not an ISO 8601 timestamp",
        )
        # The date as written, before conversion to UTC, names a daily bar's session.
        written = text.where(aware).str.replace(_AWARE, "", regex=True)
        wall = pd.Series(pd.to_datetime(written, format="ISO8601", errors="coerce"))
        mask = aware & ~self.bad
        self.instants = self.instants.where(~mask, stamped.dt.as_unit("ns"))
        self.dates = self.dates.where(~mask, wall.dt.normalize().dt.as_unit("ns"))

        plain = pd.Series(pd.to_datetime(text.where(naive), format="ISO8601", errors="coerce"))
        self.reject(
            naive & plain.isna().to_numpy(),
            Rule.TIMESTAMP,
            "'{value}' is not an ISO 8601 timestamp",
        )
        if naive.any():
            self.keep_naive(plain, naive & ~self.bad)

    def bar_closes(self) -> pd.DatetimeIndex:
        """Stamp each bar at its close: sessions for daily+ bars, start + one bar intraday."""
        spec = self.spec
        if not spec.timeframe.is_intraday:
            closes = day_closes_for_dates(
                pd.DatetimeIndex(self.dates), spec.timeframe, spec.calendar
            )
            self.reject(
                np.asarray(self.dates.notna().to_numpy() & closes.isna()),
                Rule.OFF_CALENDAR,
                f"'{{value}}' is not a trading day of calendar {spec.calendar}",
            )
            return closes
        only_dates = np.asarray(self.instants.isna() & self.dates.notna())
        self.reject(
            only_dates,
            Rule.TIMESTAMP,
            f"'{{value}}' is a date without a time, which cannot stamp {spec.timeframe} bars",
        )
        closes = pd.DatetimeIndex(self.instants)
        if spec.label == "start":
            closes = closes + spec.timeframe.delta
        return closes

    def _text(self) -> pd.Series:
        text = self.column.astype("string").str.strip()
        self.reject((text.isna() | text.eq("")).to_numpy(), Rule.TIMESTAMP, "timestamp is missing")
        return text


_EPOCH_TEXT = (
    "'{value}' is an epoch number; set data.csv.timestamp_unit to s, ms, us or ns "
    "(the unit is never guessed)"
)
_NAIVE_TEXT = (
    "'{value}' has no UTC offset and data.csv.timezone is not set; set the zone the file was "
    "written in (e.g. America/New_York) or write offsets"
)


def _cast_with_arrow(column: pd.Series, target: str) -> pd.Series | None:
    """Cast text with Arrow when every value converts, else return None for the slow path.

    Nulls also return None: the slow path reports them with their rows.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow_type = pa.float64() if target == "float64" else pa.timestamp("ns", tz="UTC")
    try:
        values = pc.cast(pa.array(column, type=pa.string(), from_pandas=True), arrow_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if values.null_count:
        return None
    return pd.Series(values.to_pandas(), index=column.index)


def _check_style(
    aware: np.ndarray,
    naive: np.ndarray,
    rows: np.ndarray,
    style: TimestampStyle,
    reject: object,
) -> None:
    """Refuse a file that mixes timestamps with and without a UTC offset."""
    kinds = np.flatnonzero(aware | naive)
    if len(kinds) == 0:
        return
    if style.aware is None:
        style.aware = bool(aware[kinds[0]])
        style.first_row = int(rows[kinds[0]])
    odd = naive if style.aware else aware
    had = "had a" if style.aware else "had no"
    reject(
        odd,
        Rule.TIMEZONE,  # type: ignore[operator]
        f"'{{value}}' mixes timestamp styles: row {style.first_row} {had} UTC offset; "
        "one file must use one style",
    )
