"""Real daily bars that ship inside the ``arch`` package: S&P 500 and NASDAQ Composite.

They are read from the installed package, never copied into the repository,
so the platform runs on real market data on a machine that reaches no data
vendor. Both series follow the NYSE calendar (1999-01-04 to 2018-12-31), so
each bar is stamped at its session's close.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from alphagate.data.calendar import session_closes_for_dates
from alphagate.domain.bars import BAR_COLUMNS
from alphagate.domain.quality_report import QualityReport
from alphagate.domain.timeframe import Timeframe
from alphagate.errors import DataError

BUNDLED_FILES: dict[str, tuple[str, str]] = {
    "^GSPC": ("arch.data.sp500", "sp500.csv.gz"),
    "^IXIC": ("arch.data.nasdaq", "nasdaq.csv.gz"),
}
"""Symbol -> (package, file) of the bundled series."""

BUNDLED_CALENDAR = "XNYS"


def bundled_file(symbol: str) -> Path:
    """Return the installed path of a bundled series, or raise naming the ones there are."""
    if symbol not in BUNDLED_FILES:
        raise DataError(
            f"no bundled series {symbol!r}; bundled symbols are {', '.join(BUNDLED_FILES)}"
        )
    package, filename = BUNDLED_FILES[symbol]
    return Path(str(resources.files(package).joinpath(filename)))


class BundledSource:
    """The bundled index series, one chunk per symbol."""

    def __init__(self, symbols: Sequence[str] = tuple(BUNDLED_FILES)) -> None:
        self._files = {symbol: bundled_file(symbol) for symbol in symbols}

    @property
    def name(self) -> str:
        """``bundled:`` followed by the symbols."""
        return "bundled:" + ",".join(self._files)

    @property
    def timeframe(self) -> Timeframe:
        """Always daily."""
        return Timeframe.parse("1d")

    @property
    def calendar(self) -> str:
        """Always the NYSE calendar."""
        return BUNDLED_CALENDAR

    def chunks(self, report: QualityReport) -> Iterator[pd.DataFrame]:
        """Yield each series as flat bars stamped at the NYSE close."""
        for symbol, path in self._files.items():
            raw = pd.read_csv(path, parse_dates=["Date"])
            closes = session_closes_for_dates(pd.DatetimeIndex(raw["Date"]), BUNDLED_CALENDAR)
            if closes.isna().any():
                day = raw["Date"][np.asarray(closes.isna())].iloc[0]
                raise DataError(f"{path}: {day:%Y-%m-%d} is not an NYSE session")
            flat = pd.DataFrame(
                {
                    "symbol": symbol,
                    "row": np.arange(1, len(raw) + 1),
                    "ts": closes,
                    **{c: raw[c.capitalize()].astype("float64").to_numpy() for c in BAR_COLUMNS},
                }
            )
            report.rows_in += len(flat)
            yield flat
