"""The Protocols the core needs from the outside world.

Rings 1-6 depend on these shapes, never on a concrete adapter, so a bar
source can be a CSV file today and a broker's feed tomorrow without the
quality checks or the store noticing. Later rings add their ports here
(venue, clock, journal, notifier, model store) as they are built.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import pandas as pd

from alphagate.domain.quality_report import QualityReport
from alphagate.domain.timeframe import Timeframe


class BarSource(Protocol):
    """Anything that yields bars in chunks: files, bundled data, generators, feeds.

    Each chunk is a flat frame with columns ``symbol``, ``row`` (where the bar
    sits in the source, for error messages), ``ts`` (UTC bar close) and the
    float64 OHLCV columns. Rows a source cannot parse (text in a number, a bad
    timestamp) are recorded in the report it is given and left out, so one
    pass finds every such row; a source that cannot be read at all (missing
    file or column, empty file) raises
    :class:`alphagate.domain.quality_report.DataValidationError`.
    """

    @property
    def name(self) -> str:
        """What to call the source in messages: a file path or ``bundled:^GSPC``."""
        ...

    @property
    def timeframe(self) -> Timeframe:
        """The bar size the source delivers."""
        ...

    @property
    def calendar(self) -> str | None:
        """The exchange calendar the bars follow, or ``None`` for round-the-clock markets."""
        ...

    def chunks(self, report: QualityReport) -> Iterator[pd.DataFrame]:
        """Yield the source's bars in bounded-size chunks, recording unparseable rows."""
        ...
