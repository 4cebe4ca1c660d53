"""Bars from a Parquet file, read batch by batch with the same rules as CSV."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from alphagate.data.sources.tabular import TabularFile, TimestampStyle, normalise_chunk
from alphagate.domain.quality_report import (
    QualityReport,
    Rule,
)

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

_BATCH_ROWS = 1 << 20
"""Rows per batch: about 60 MB of columns, so memory stays bounded on any file,
while a file of up to a million bars is read in one piece (several pieces are
joined again before the series checks, which copies every row)."""


class ParquetSource(TabularFile):
    """A Parquet file of bars; column names follow ``data.csv`` in the config."""

    def chunks(self, report: QualityReport) -> Iterator[pd.DataFrame]:
        """Yield flat bars batch by batch; rows that do not parse go to ``report``."""
        parquet = self._open()
        columns = self._spec.source_columns(parquet.schema_arrow.names)
        numbered = _numbered_symbols(parquet, self._spec.columns["symbol"], columns)
        if numbered:
            parquet = self._open(parquet.metadata, read_dictionary=numbered)
        style = TimestampStyle()
        first_row = 1
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=columns):
            raw = _frame(batch, numbered)
            rows = np.arange(first_row, first_row + len(raw))
            first_row += len(raw)
            report.rows_in += len(raw)
            chunk = normalise_chunk(raw, rows, self._spec, style, report)
            yield chunk
        if first_row == 1:
            self._reject(Rule.EMPTY, "the file has no rows")

    def _open(
        self, metadata: pq.FileMetaData | None = None, *, read_dictionary: list[str] | None = None
    ) -> pq.ParquetFile:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self._path, metadata=metadata, read_dictionary=read_dictionary)
        except (OSError, pa.ArrowInvalid) as error:
            self._reject(Rule.EMPTY, f"not a readable Parquet file: {error}")


def _numbered_symbols(parquet: pq.ParquetFile, name: str, columns: list[str]) -> list[str]:
    """The symbol column, to be read dictionary-encoded, when that changes nothing but speed.

    A text column read that way arrives as each row's number into a short
    list of distinct values, which is what the symbols are turned into
    anyway (see ``tabular._symbols``), and decoding it is a fraction of the
    work of building a million strings. The reader starts a new batch at
    every row group, so this is only done when the row groups end where
    batches end anyway and the chunks stay the same.
    """
    import pyarrow as pa

    if name not in columns:
        return []
    kind = parquet.schema_arrow.field(name).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return []
    metadata = parquet.metadata
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups - 1)]
    if any(size % _BATCH_ROWS for size in sizes):
        return []
    return [name]


def _frame(batch: pa.RecordBatch, numbered: list[str]) -> pd.DataFrame:
    """The batch as pandas columns, one block per column: they are only read, never gathered.

    A dictionary with repeated or missing values is legal in a file but
    cannot be a categorical's categories; such a column is decoded back to
    text, which the general path reads as before.

    Float columns without nulls are not converted at all: pandas gets the
    memory Arrow decoded them into. ``to_pandas`` offers that memory only
    read-only, as Arrow memory may in general be shared; a batch just read
    owns its buffers, so it is viewed writable instead, and a reader the
    series is handed over to can keep it rather than copy it.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    for name in numbered:
        index = batch.schema.get_field_index(name)
        column = batch.column(index)
        if not pa.types.is_dictionary(column.type):
            continue
        values = column.dictionary
        if values.null_count or len(pc.unique(values)) != len(values):
            batch = batch.set_column(index, name, column.dictionary_decode())
    frame: pd.DataFrame = batch.to_pandas(split_blocks=True)
    columns: dict[str, object] = {}
    for name, array in zip(batch.schema.names, batch.columns, strict=True):
        own = _own_floats(array)
        columns[name] = frame[name] if own is None else own
    return pd.DataFrame(columns, copy=False)


def _own_floats(array: pa.Array) -> np.ndarray | None:
    """A writable view of a float64 array's values, or None where Arrow's memory is not ours."""
    import pyarrow as pa

    if array.type != pa.float64() or array.null_count:
        return None
    data = array.buffers()[1]
    if data is None or not data.is_mutable:
        return None
    return np.frombuffer(data, dtype=np.float64, count=len(array), offset=array.offset * 8)
