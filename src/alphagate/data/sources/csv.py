"""Bars from CSV files of any size, read in bounded-memory chunks with pyarrow.

Every column is read as text and converted by ``tabular``: letting pyarrow
infer types per block would turn a stray word in row 9,000,000 into an
opaque conversion error with no row number.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from alphagate.config import CsvConfig
from alphagate.data.sources.tabular import TabularFile, TimestampStyle, normalise_chunk
from alphagate.domain.quality_report import (
    Action,
    QualityReport,
    Rule,
    Violation,
)
from alphagate.domain.timeframe import Timeframe

Progress = Callable[[int, int], None]
"""Called with (bytes read so far, total bytes) after each chunk."""


class CsvSource(TabularFile):
    """A CSV file of bars; see ``data.csv`` in the config for the column mapping."""

    def __init__(
        self,
        path: Path,
        options: CsvConfig,
        *,
        timeframe: Timeframe,
        calendar: str | None,
        symbol: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        super().__init__(path, options, timeframe=timeframe, calendar=calendar, symbol=symbol)
        self._progress = progress

    def chunks(self, report: QualityReport) -> Iterator[pd.DataFrame]:
        """Yield flat bars chunk by chunk; rows that do not parse go to ``report``."""
        import pyarrow as pa
        from pyarrow import csv as pacsv

        header = self._read_header()
        columns = self._spec.source_columns(header)
        total = self._path.stat().st_size
        with self._path.open("rb") as handle:
            counting = _CountingReader(handle)
            reader = pacsv.open_csv(
                counting,
                read_options=pacsv.ReadOptions(block_size=self._options.block_bytes),
                parse_options=pacsv.ParseOptions(delimiter=self._options.delimiter),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(columns, pa.string()),
                    include_columns=columns,
                    strings_can_be_null=True,
                ),
            )
            style = TimestampStyle()
            first_row = 1
            seen = 0
            for batch in _batches(reader, self.name, first_row):
                raw = batch.to_pandas()
                rows = np.arange(first_row, first_row + len(raw))
                first_row += len(raw)
                seen += len(raw)
                report.rows_in += len(raw)
                chunk = normalise_chunk(raw, rows, self._spec, style, report)
                if self._progress is not None:
                    self._progress(counting.position, total)
                yield chunk
        if seen == 0:
            self._reject(Rule.EMPTY, "the file has a header but no data rows")

    def _read_header(self) -> list[str]:
        if not self._path.is_file():
            self._reject(Rule.EMPTY, "the file does not exist")
        with self._path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle, delimiter=self._options.delimiter), None)
        if not header:
            self._reject(Rule.EMPTY, "the file is empty (no header, no rows)")
        return [name.strip() for name in header]


def _batches(reader: Any, source: str, first_row: int) -> Iterator[Any]:
    """Iterate record batches, turning pyarrow's parse errors into row-level errors."""
    import pyarrow as pa

    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as error:
            report = QualityReport(source=source)
            report.add(
                Violation(
                    Rule.REQUIRED_COLUMNS,
                    Action.REJECTED,
                    source,
                    f"the file is malformed after row {first_row - 1}: {error}",
                    row=first_row,
                )
            )
            report.raise_for_errors()
            return
        first_row += batch.num_rows
        yield batch


class _CountingReader:
    """A read-only file wrapper that counts bytes, so progress can show how far a read got."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.position = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.position += len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True
