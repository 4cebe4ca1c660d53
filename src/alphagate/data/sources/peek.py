"""A first look at a bars file: its header and the head of its timestamp column.

What a user did not say about a file (its bar size, its calendar, which
column holds what) is read off the data itself (:mod:`alphagate.data.inference`),
and that has to happen before the file is parsed, because parsing depends on
it: a daily date is stamped at its session's close, an intraday time is not.
So this reads only the header and one column of the first rows, which costs
little even on a large file. A file that cannot be read yields an empty look;
the source that reads it next raises the error that names the problem.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

SAMPLE_ROWS = 50_000
"""Rows of the timestamp column looked at: five weeks of one-minute bars, so a
weekend shows, and years of hourly or daily ones."""


@dataclass(frozen=True)
class Peek:
    """The header of a file and the first values of its timestamp column (empty if none)."""

    header: list[str]
    stamps: pd.Series = field(default_factory=lambda: pd.Series([], dtype=object))


TimestampColumn = Callable[[list[str]], str | None]
"""Given a header, the column that holds the timestamps, or None when none does."""


def peek_csv(path: Path, delimiter: str, timestamps: TimestampColumn) -> Peek:
    """The header of a CSV file and the first values of its timestamp column, as text."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = [name.strip() for name in next(csv.reader(handle, delimiter=delimiter), [])]
        ts_column = timestamps(header)
        if ts_column is None or ts_column not in header:
            return Peek(header)
        reader = pacsv.open_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={ts_column: pa.string()},
                include_columns=[ts_column],
                strings_can_be_null=True,
            ),
        )
        pieces: list[pd.Series] = []
        seen = 0
        for batch in reader:
            pieces.append(batch.column(0).to_pandas())
            seen += batch.num_rows
            if seen >= SAMPLE_ROWS:
                break
    except (OSError, UnicodeDecodeError, csv.Error, pa.ArrowException):
        return Peek([])
    if not pieces:
        return Peek(header)
    stamps = pd.concat(pieces, ignore_index=True).iloc[:SAMPLE_ROWS]
    return Peek(header, stamps)


def peek_parquet(path: Path, timestamps: TimestampColumn) -> Peek:
    """The column names of a Parquet file and the first values of its timestamp column, typed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        header = list(parquet.schema_arrow.names)
        ts_column = timestamps(header)
        if ts_column is None or ts_column not in header:
            return Peek(header)
        batches = parquet.iter_batches(batch_size=SAMPLE_ROWS, columns=[ts_column])
        batch = next(batches, None)
    except (OSError, pa.ArrowException):
        return Peek([])
    if batch is None:
        return Peek(header)
    return Peek(header, batch.column(0).to_pandas())
