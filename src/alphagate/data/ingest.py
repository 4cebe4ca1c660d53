"""Source -> quality checks -> store, all or nothing.

Chunks from the source are staged per symbol in temporary Parquet files, so
a large file is parsed in bounded memory; each symbol's series is then
checked whole (ordering, duplicates and gaps cross chunk boundaries), and the
store is touched only when no rule rejected anything. Reading a file into
memory (:func:`read_source`) stages in memory instead: the whole file ends up
there anyway, and writing it to disk and back would only cost time.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from alphagate.config import QualityConfig
from alphagate.data.quality import SeriesContext, check_series
from alphagate.data.store import BarStore, OnConflict, WriteSummary
from alphagate.domain.bars import bars_of_symbol, empty_bars
from alphagate.domain.quality_report import QualityReport
from alphagate.ports import BarSource


@dataclass(frozen=True)
class IngestResult:
    """What an ingest read, what the checks found and what the store took."""

    source: str
    timeframe: str
    report: QualityReport
    writes: list[WriteSummary]


def validate_source(source: BarSource, policy: QualityConfig) -> QualityReport:
    """Run every rule over a source and return the report; store nothing.

    Raises
    ------
    DataValidationError
        When the source cannot be parsed (structural errors stop the read).
    """
    report = QualityReport(source=source.name)
    for _ in _checked_series(source, policy, report):
        pass
    return report


def read_source(
    source: BarSource, policy: QualityConfig, report: QualityReport | None = None
) -> pd.DataFrame:
    """Read a whole source as a canonical bars frame, held to the same rules as an ingest.

    Commands that work on a file without storing it (``features build --input``)
    use this, so a file that would be refused by the store is refused here too.
    ``report``, when given, receives what the rules found, warnings included.

    Raises
    ------
    DataValidationError
        When any rule with policy ``error`` is broken.
    """
    report = QualityReport(source=source.name) if report is None else report
    frames = [  # each series is read for this frame alone, so its memory is handed over
        bars_of_symbol(symbol, flat, handed_over=True)
        for symbol, flat in _checked_series(source, policy, report, spill=False)
    ]
    report.raise_for_errors()
    if not frames:
        return empty_bars()
    if len(frames) == 1:
        return frames[0]  # one symbol: already sorted by ts
    return pd.concat(frames).sort_index()


def ingest(
    source: BarSource,
    store: BarStore,
    policy: QualityConfig,
    *,
    on_conflict: OnConflict = "error",
) -> IngestResult:
    """Check a source and add its new bars to the store.

    Raises
    ------
    DataValidationError
        When any rule with policy ``error`` is broken; the store is unchanged.
    StoreConflictError
        When a bar differs from the stored one and ``on_conflict`` is ``error``.
    """
    report = QualityReport(source=source.name)
    timeframe = source.timeframe.name
    series = (
        bars_of_symbol(symbol, flat)
        for symbol, flat in _checked_series(source, policy, report)
        if not report.error_count  # keep checking every symbol, but stage nothing rejected
    )
    # The store pulls one checked symbol at a time and stages it; any rejection,
    # found in this symbol or a later one, aborts before anything is renamed.
    with store.stage_parts(series, timeframe, on_conflict=on_conflict) as staged:
        report.raise_for_errors()
        writes = staged.commit()
    return IngestResult(source.name, timeframe, report, writes)


def _checked_series(
    source: BarSource, policy: QualityConfig, report: QualityReport, *, spill: bool = True
) -> Iterator[tuple[str, pd.DataFrame]]:
    """Stage the source per symbol, then check each symbol's flat series and yield it.

    Yields ``(symbol, flat)`` with the checked rows' ``row, ts, open, …``
    columns (see :func:`~alphagate.data.quality.check_series`). ``spill``
    stages the chunks in temporary Parquet files, so only one symbol's series
    is in memory at a time; without it they are kept in memory, for callers
    that hold the whole source in memory anyway.
    """
    with contextlib.ExitStack() as stack:
        if spill:
            root = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="alphagate-ingest-"))
            )
            staged = _stage_on_disk(source, report, root)
        else:
            staged = _stage_in_memory(source, report)
        for symbol, load in staged.items():
            context = SeriesContext(source.name, symbol, source.timeframe, source.calendar)
            checked, series_report = check_series(load(), context, policy)
            series_report.rows_in = 0  # the source already counted the rows it read
            report.merge(series_report)
            yield symbol, checked


def _stage_on_disk(
    source: BarSource, report: QualityReport, root: Path
) -> dict[str, Callable[[], pd.DataFrame]]:
    """Write each chunk's rows per symbol under ``root``; return a reader of each symbol's rows."""
    folders: dict[str, Path] = {}
    for number, chunk in enumerate(source.chunks(report)):
        for symbol, part in _by_symbol(chunk):
            folder = folders.setdefault(symbol, root / quote(symbol, safe=""))
            folder.mkdir(exist_ok=True)
            part.drop(columns="symbol").to_parquet(
                folder / f"{number:08d}.parquet", compression=None
            )

    def reader(folder: Path) -> Callable[[], pd.DataFrame]:
        def read() -> pd.DataFrame:
            parts = sorted(folder.glob("*.parquet"))
            return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)

        return read

    return {symbol: reader(folder) for symbol, folder in folders.items()}


def _stage_in_memory(
    source: BarSource, report: QualityReport
) -> dict[str, Callable[[], pd.DataFrame]]:
    """Keep each chunk's rows per symbol in memory; return a builder of each symbol's rows."""
    pieces: dict[str, list[pd.DataFrame]] = {}
    for chunk in source.chunks(report):
        for symbol, part in _by_symbol(chunk):
            pieces.setdefault(symbol, []).append(part.drop(columns="symbol"))

    def joined(parts: list[pd.DataFrame]) -> Callable[[], pd.DataFrame]:
        def join() -> pd.DataFrame:
            if len(parts) == 1:
                return parts[0].reset_index(drop=True)
            return pd.concat(parts, ignore_index=True)

        return join

    return {symbol: joined(parts) for symbol, parts in pieces.items()}


def _by_symbol(chunk: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    """The chunk's rows per symbol, in order of first appearance; rows without one are left out.

    A file usually holds one symbol, and then the chunk is passed on whole
    instead of being grouped, which would copy every row. A file source's
    symbols arrive as a categorical (see ``tabular._symbols``), whose codes
    tell that without hashing a million strings.
    """
    symbols = chunk["symbol"]
    if isinstance(symbols.dtype, pd.CategoricalDtype):
        codes = np.asarray(symbols.cat.codes)
        names = symbols.cat.categories
    else:
        codes, names = pd.factorize(symbols, use_na_sentinel=True)
    if len(codes) and codes[0] >= 0 and bool((codes == codes[0]).all()):
        yield str(names[codes[0]]), chunk
        return
    for symbol, part in chunk.groupby("symbol", sort=False, observed=True):
        yield str(symbol), part
