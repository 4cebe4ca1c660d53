"""Bars from a Parquet file, read batch by batch with the same rules as CSV."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from alphagate.data.sources.tabular import TabularFile, TimestampStyle, normalise_chunk
from alphagate.domain.quality_report import (
    QualityReport,
    Rule,
)

_BATCH_ROWS = 1 << 20
"""Rows per batch: about 60 MB of columns, so memory stays bounded on any file,
while a file of up to a million bars is read in one piece (several pieces are
joined again before the series checks, which copies every row)."""


class ParquetSource(TabularFile):
    """A Parquet file of bars; column names follow ``data.csv`` in the config."""

    def chunks(self, report: QualityReport) -> Iterator[pd.DataFrame]:
        """Yield flat bars batch by batch; rows that do not parse go to ``report``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(self._path)
        except (OSError, pa.ArrowInvalid) as error:
            self._reject(Rule.EMPTY, f"not a readable Parquet file: {error}")
        columns = self._spec.source_columns(parquet.schema_arrow.names)
        style = TimestampStyle()
        first_row = 1
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=columns):
            # One block per column: the columns are only read, so gathering
            # them into one two-dimensional block would be a copy for nothing.
            raw = batch.to_pandas(split_blocks=True)
            rows = np.arange(first_row, first_row + len(raw))
            first_row += len(raw)
            report.rows_in += len(raw)
            chunk = normalise_chunk(raw, rows, self._spec, style, report)
            yield chunk
        if first_row == 1:
            self._reject(Rule.EMPTY, "the file has no rows")
