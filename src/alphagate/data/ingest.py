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
from alphagate.data.store import BarStore, WriteSummary
from alphagate.domain.bars import BAR_COLUMNS, bars_from_flat
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


def ingest(
    source: BarSource,
    store: BarStore,
    policy: QualityConfig,
    *,
    on_conflict: str = "error",
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
    frames = [bars_from_flat(series) for series in _checked_series(source, policy, report)]
    report.raise_for_errors()
    timeframe = source.timeframe.name
    if not frames:
        return IngestResult(source.name, timeframe, report, [])
    bars = pd.concat(frames) if len(frames) > 1 else frames[0]
    writes = store.write(bars, timeframe, on_conflict=on_conflict)  # type: ignore[arg-type]
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
