"""What a bars file does not say, read off its data: columns, bar size, calendar, symbol.

A file from a finance site, a broker or an exchange says what it holds in its
own words: ``Date,Open,High,Low,Close,Adj Close,Volume``, hourly FX closed on
weekends, minutes around the clock. Anything the user did not give (on the
command line, in a config file) is inferred here, from the header and the
first rows of the timestamp column (:mod:`alphagate.data.sources.peek`), and
said back in one line, so a wrong guess is seen and overridden at once:

- the columns, matched to ``ts, symbol, open, …`` ignoring case, with the
  usual aliases (``Date``, ``Datetime``, ``Timestamp``, ``time``); ``Adj
  Close`` is no alias of ``close``: it is used only when named;
- the bar size: the most common spacing between timestamps;
- the calendar: none (24/7) when bars fall on weekends, ``fx`` when weekday
  bars run round the clock inside the currency week, else the first exchange
  whose sessions hold the bars (NYSE first: US daily data), else ``fx`` for
  weekday-only daily data that trades through the exchanges' holidays;
- the symbol, when there is no symbol column: the file's name.

Timestamps are read leniently here (naive times as UTC): the inference only
needs their spacing and weekdays, and the parse that follows keeps every rule
(a naive intraday time without a zone is still refused, naming its row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from alphagate.config import CsvConfig
from alphagate.data.calendar import FX, session_closes_for_dates, session_positions
from alphagate.domain.timeframe import Timeframe, TimeUnit
from alphagate.errors import DataError

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "ts": ("ts", "timestamp", "datetime", "date", "time", "date_time"),
    "symbol": ("symbol", "ticker"),
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close",),
    "volume": ("volume", "vol"),
}
"""Names each column is known by in the wild, compared without case or surrounding blanks."""

EXCHANGE_CANDIDATES = ("XNYS", "XTSE", "XLON", "XETR", "XHKG", "XASX")
"""Exchanges whose sessions are tried, in order: NYSE first, then one per other region."""

_INSIDE_SHARE = 0.98  # a calendar fits when this share of the bars falls in its sessions
# Daily dates are held to more: every weekday but a European exchange's eight
# holidays a year is already 98.5% of its sessions, and would then be read as one.
_SESSION_SHARE = 0.995
_WEEKEND_SHARE = 0.02  # bars on a Saturday (or Sunday before any market opens): 24/7
_ROUND_THE_CLOCK_HOURS = 18  # intraday bars in this many UTC hours of the day: not an exchange
_SUNDAY_FIRST_OPEN_UTC = 20  # no market is open before Sunday 20:00 UTC (FX opens 21:00 or 22:00)
_FILE_SUFFIXES = {".csv", ".txt", ".parquet", ".pq", ".gz", ".zip", ".bz2", ".xz", ".zst"}

_DATE_ONLY = r"\d{4}-\d{2}-\d{2}"
_AWARE = r"(?:Z|[+-]\d{2}:?\d{2})$"


def _column_field(name: str) -> str:
    return f"{name}_column"


def timestamp_column(header: Sequence[str], options: CsvConfig) -> str | None:
    """The column of ``header`` that holds the timestamps, by name or alias; None if none."""
    return match_columns(header, options).get("ts")


def match_columns(header: Sequence[str], options: CsvConfig) -> dict[str, str]:
    """Map ``ts, symbol, open, …`` to the header's own spelling, where one matches.

    A configured name that is in the header wins as it is. One left at its
    default is also looked for without case and under its aliases; one the
    user configured is not, so the missing-column error names what they wrote.
    """
    present = list(header)
    folded: dict[str, str] = {}
    for name in present:
        folded.setdefault(name.strip().lower(), name)
    found: dict[str, str] = {}
    for name, aliases in COLUMN_ALIASES.items():
        key = _column_field(name)
        configured = str(getattr(options, key))
        if configured in present:
            found[name] = configured
            continue
        if configured != CsvConfig.model_fields[key].default:
            continue
        for alias in (configured, *aliases):
            if alias.lower() in folded:
                found[name] = folded[alias.lower()]
                break
    return found


def with_columns(options: CsvConfig, columns: dict[str, str]) -> CsvConfig:
    """``options`` with each matched column's name as the file spells it."""
    updates = {_column_field(name): column for name, column in columns.items()}
    return options.model_copy(update=updates)


def symbol_of_path(path: Path) -> str:
    """The file's name without its data suffixes: ``data/EURUSD.csv.gz`` names ``EURUSD``."""
    name = Path(path.name)
    while name.suffix.lower() in _FILE_SUFFIXES:
        name = Path(name.stem)
    return str(name)


def sample_instants(stamps: pd.Series, options: CsvConfig) -> pd.DatetimeIndex:
    """The sample's timestamps as sorted unique UTC instants, leniently; unreadable ones left out.

    Naive times are read in ``options.timezone`` when it is set, else as UTC
    (close enough for spacing and weekdays); epoch numbers only with
    ``options.timestamp_unit``, which is never guessed.
    """
    values = stamps.dropna()
    if values.empty:
        return pd.DatetimeIndex([], tz="UTC")
    if pd.api.types.is_datetime64_any_dtype(values):
        instants = pd.DatetimeIndex(values)
    elif options.timestamp_unit is not None or pd.api.types.is_numeric_dtype(values):
        if options.timestamp_unit is None:
            return pd.DatetimeIndex([], tz="UTC")
        numbers = pd.to_numeric(values, errors="coerce")
        instants = pd.DatetimeIndex(pd.to_datetime(numbers, unit=options.timestamp_unit, utc=True))
    else:
        text = values.astype("string").str.strip()
        if options.timestamp_format is not None:
            parsed = pd.to_datetime(text, format=options.timestamp_format, errors="coerce")
        elif bool(text.str.contains(_AWARE, regex=True).fillna(value=False).all()):
            parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        else:
            # A naive (or mixed) column: the offsets are dropped for this look only.
            wall = text.str.replace(_AWARE, "", regex=True)
            parsed = pd.to_datetime(wall, format="ISO8601", errors="coerce")
        instants = pd.DatetimeIndex(parsed)
    if instants.tz is None:
        zone = options.timezone or "UTC"
        instants = instants.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    instants = instants.dropna().tz_convert("UTC").as_unit("ns")
    return instants.unique().sort_values()


def spacing_timeframe(instants: pd.DatetimeIndex) -> Timeframe | None:
    """The bar size of the most common spacing, or None with fewer than two instants.

    Raises
    ------
    DataError
        When the most common spacing is no standard bar size (say 7 minutes).
    """
    if len(instants) < 2:
        return None
    steps = np.diff(instants.as_unit("ns").asi8)
    steps = steps[steps > 0]
    if len(steps) == 0:
        return None
    values, counts = np.unique(steps, return_counts=True)
    step = pd.Timedelta(int(values[np.argmax(counts)]), "ns")
    name = _timeframe_name(step)
    if name is not None:
        try:
            return Timeframe.parse(name)
        except ValueError:
            pass
    raise DataError(
        f"the bars are most often {step} apart, which is no standard bar size "
        "(1m, 5m, 15m, 1h, 4h, 1d, 1w, 1M, …); pass --timeframe, or resample the file first"
    )


def _timeframe_name(step: pd.Timedelta) -> str | None:
    """The short name of a spacing (months are 28 to 31 days), or None for no whole size."""
    seconds = step.total_seconds()
    minutes, days = int(seconds // 60), seconds / 86_400
    names = {
        seconds % 60 == 0 and minutes < 60: f"{minutes}m",
        60 <= minutes < 1440 and minutes % 60 == 0: f"{minutes // 60}h",
        days == 1: "1d",
        days == 7: "1w",
        28 <= days <= 31: "1M",
    }
    return names.get(True)


@dataclass(frozen=True)
class CalendarGuess:
    """A calendar read off the bars (None: 24/7) and the evidence, in a few words."""

    calendar: str | None
    because: str


def guess_calendar(instants: pd.DatetimeIndex, timeframe: Timeframe, label: str) -> CalendarGuess:
    """The calendar the bars at ``instants`` follow; see the module docstring for the order.

    ``label`` says whether intraday instants mark the bar's start (they are
    shifted by one bar to their close, as the parse will) or its end.
    """
    if len(instants) == 0:
        return CalendarGuess("XNYS", "no timestamps to look at")
    if timeframe.is_intraday and label == "start":
        instants = instants + timeframe.delta
    weekend = _weekend_share(instants)
    if weekend >= _WEEKEND_SHARE:
        return CalendarGuess(None, f"{weekend:.0%} of the bars fall on weekends")
    if timeframe.is_intraday:
        return _guess_intraday(instants)
    return _guess_daily(instants, timeframe)


def _weekend_share(instants: pd.DatetimeIndex) -> float:
    """Bars on a Saturday (UTC) or a Sunday before the FX week opens: no market but 24/7 ones."""
    day, hour = instants.day_of_week, instants.hour
    closed = (day == 5) | ((day == 6) & (hour < _SUNDAY_FIRST_OPEN_UTC))
    return float(np.mean(closed))


def _inside_share(instants: pd.DatetimeIndex, calendar: str) -> float:
    return float(np.mean(session_positions(instants, calendar) >= 0))


def _guess_intraday(ends: pd.DatetimeIndex) -> CalendarGuess:
    hours = len(np.unique(ends.hour))
    if hours >= _ROUND_THE_CLOCK_HOURS:
        if _inside_share(ends, FX) >= _INSIDE_SHARE:
            return CalendarGuess(FX, "round the clock from Sunday to Friday 17:00 New York")
        return CalendarGuess(None, "bars round the clock that fit no weekly schedule")
    for code in EXCHANGE_CANDIDATES:
        if _usable(code) and _inside_share(ends, code) >= _INSIDE_SHARE:
            return CalendarGuess(code, f"the bars fall in {code}'s sessions")
    return CalendarGuess(None, "the bars fit no known exchange's sessions")


def _guess_daily(ends: pd.DatetimeIndex, timeframe: Timeframe) -> CalendarGuess:
    dates = ends.tz_convert(None).normalize()
    if timeframe.unit is not TimeUnit.DAY:
        return CalendarGuess("XNYS", "weekday bars")
    for code in EXCHANGE_CANDIDATES:
        if not _usable(code):
            continue
        sessions = session_closes_for_dates(dates, code)
        if float(np.mean(sessions.notna())) >= _SESSION_SHARE:
            return CalendarGuess(code, f"the dates are {code} sessions")
    return CalendarGuess(FX, "weekday bars through the exchanges' holidays")


def _usable(code: str) -> bool:
    """Whether the calendar can be built (some start later than the others' 1990)."""
    try:
        session_positions(pd.DatetimeIndex([], tz="UTC"), code)
    except (DataError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Inference:
    """What a file read will use, and which of it was read off the data.

    ``guess`` is the calendar the data suggests whether or not one was given:
    when a given calendar refuses the file, it is the likely fix.
    """

    timeframe: Timeframe
    calendar: str | None
    symbol: str | None
    columns: dict[str, str]
    guess: CalendarGuess
    spacing: Timeframe | None
    inferred: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)

    def line(self) -> str | None:
        """The one line that says what was inferred and how to override it; None if nothing."""
        if not self.inferred:
            return None
        return f"inferred: {', '.join(self.inferred)}; override with {'/'.join(self.overrides)}"


@dataclass(frozen=True)
class Given:
    """What the user gave for a file read: ``None`` timeframe or symbol, or unset calendar."""

    timeframe: Timeframe | None
    calendar: str | None
    calendar_given: bool
    symbol: str | None
    fallback_timeframe: Timeframe
    fallback_calendar: str | None


def infer(
    path: Path, header: list[str], stamps: pd.Series, options: CsvConfig, given: Given
) -> Inference:
    """Settle a file read's timeframe, calendar, symbol and columns, inferring what is not given.

    With no timestamps to look at (an empty or unreadable file, no timestamp
    column) the fallbacks stand: the read that follows refuses the file with
    the reason.
    """
    columns = match_columns(header, options)
    instants = sample_instants(stamps, options)
    spacing = spacing_timeframe(instants)
    inferred: list[str] = []
    overrides: list[str] = []
    timeframe = given.timeframe
    if timeframe is None:
        timeframe = spacing or given.fallback_timeframe
        if spacing is not None:
            inferred.append(f"timeframe {timeframe}")
            overrides.append("--timeframe")
    guess = guess_calendar(instants, timeframe, options.label)
    calendar = given.calendar
    if not given.calendar_given:
        calendar = guess.calendar if len(instants) else given.fallback_calendar
        if len(instants):
            inferred.append(f"calendar {calendar or '24/7'} ({guess.because})")
            overrides.append("--calendar")
    symbol = given.symbol
    if symbol is None and header and "symbol" not in columns:
        symbol = symbol_of_path(path)
        inferred.append(f"symbol {symbol} (from the file name)")
        overrides.append("--symbol")
    if "ts" in columns and columns["ts"] != options.ts_column:
        inferred.append(f"timestamps from '{columns['ts']}'")
        overrides.append("data.csv.ts_column")
    unused = [name for name in header if name.strip().lower() == "adj close"]
    if unused and unused[0] not in columns.values():
        inferred.append(f"'{unused[0]}' left unused")
    return Inference(
        timeframe=timeframe,
        calendar=calendar,
        symbol=symbol,
        columns=columns,
        guess=guess,
        spacing=spacing,
        inferred=inferred,
        overrides=overrides,
    )
