"""Source -> quality checks -> store, all or nothing.

Chunks from the source are staged per symbol in temporary Parquet files, so
a large file is parsed in bounded memory; each symbol's series is then
checked whole (ordering, duplicates and gaps cross chunk boundaries), and the
store is touched only when no rule rejected anything.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from alphagate.config import QualityConfig
from alphagate.data.quality import SeriesContext, check_series
from alphagate.data.store import BarStore, OnConflict, WriteSummary
from alphagate.domain.bars import BAR_COLUMNS, bars_from_flat, empty_bars
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


def read_source(source: BarSource, policy: QualityConfig) -> pd.DataFrame:
    """Read a whole source as a canonical bars frame, held to the same rules as an ingest.

    Commands that work on a file without storing it (``features build --input``)
    use this, so a file that would be refused by the store is refused here too.

    Raises
    ------
    DataValidationError
        When any rule with policy ``error`` is broken.
    """
    report = QualityReport(source=source.name)
    frames = [bars_from_flat(flat) for flat in _checked_series(source, policy, report)]
    report.raise_for_errors()
    if not frames:
        return empty_bars()
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
        bars_from_flat(flat)
        for flat in _checked_series(source, policy, report)
        if not report.error_count  # keep checking every symbol, but stage nothing rejected
    )
    # The store pulls one checked symbol at a time and stages it; any rejection,
    # found in this symbol or a later one, aborts before anything is renamed.
    with store.stage_parts(series, timeframe, on_conflict=on_conflict) as staged:
        report.raise_for_errors()
        writes = staged.commit()
    return IngestResult(source.name, timeframe, report, writes)


def _checked_series(
    source: BarSource, policy: QualityConfig, report: QualityReport
) -> Iterator[pd.DataFrame]:
    """Stage the source per symbol, then check and yield each symbol's flat series."""
    with tempfile.TemporaryDirectory(prefix="alphagate-ingest-") as staging:
        root = Path(staging)
        symbols: dict[str, Path] = {}
        for number, chunk in enumerate(source.chunks(report)):
            for symbol, part in chunk.groupby("symbol", sort=False):
                folder = symbols.setdefault(str(symbol), root / quote(str(symbol), safe=""))
                folder.mkdir(exist_ok=True)
                part.drop(columns="symbol").to_parquet(
                    folder / f"{number:08d}.parquet", compression=None
                )
        for symbol, folder in symbols.items():
            parts = sorted(folder.glob("*.parquet"))
            flat = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
            context = SeriesContext(source.name, symbol, source.timeframe, source.calendar)
            checked, series_report = check_series(flat, context, policy)
            series_report.rows_in = 0  # the source already counted the rows it read
            report.merge(series_report)
            checked.insert(0, "symbol", symbol)
            yield checked.loc[:, ["symbol", "ts", *BAR_COLUMNS]]
