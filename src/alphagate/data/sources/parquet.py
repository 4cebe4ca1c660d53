"""Bars from a Parquet file, read batch by batch with the same rules as CSV."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd

from alphagate.config import CsvConfig
from alphagate.data.sources.tabular import TabularSpec, TimestampStyle, normalise_chunk
from alphagate.domain.quality_report import (
    Action,
    DataValidationError,
    QualityReport,
    Rule,
    Violation,
)
from alphagate.domain.timeframe import Timeframe

_BATCH_ROWS = 500_000


class ParquetSource:
    """A Parquet file of bars; column names follow ``data.csv`` in the config."""

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
        """The bar size the file holds."""
        return self._timeframe

    @property
    def calendar(self) -> str | None:
        """The exchange calendar the bars follow."""
        return self._calendar

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
            raw = batch.to_pandas()
            rows = np.arange(first_row, first_row + len(raw))
            first_row += len(raw)
            report.rows_in += len(raw)
            chunk = normalise_chunk(raw, rows, self._spec, style, report)
            yield chunk
        if first_row == 1:
            self._reject(Rule.EMPTY, "the file has no rows")

    def _reject(self, rule: Rule, detail: str) -> NoReturn:
        rejection = QualityReport(source=self.name)
        rejection.add(Violation(rule, Action.REJECTED, self.name, detail))
        raise DataValidationError(rejection)
