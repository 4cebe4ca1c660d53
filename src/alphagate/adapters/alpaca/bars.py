"""Historical stock bars from Alpaca's market-data API as a :class:`~alphagate.ports.BarSource`.

alpaca-py's ``StockHistoricalDataClient.get_stock_bars`` follows
``next_page_token`` itself until the range is exhausted; one request is made
per symbol, so a chunk is one symbol's bars and a failure names its symbol.
Reads are safe to repeat, so the library's own 429 retry is left on here.

Incremental: a symbol's request starts just after the last bar the store
already holds (``since``), so a repeated ``data ingest --source alpaca``
fetches only what is new; the store's duplicate check makes an overlap
harmless.

Alpaca stamps a bar at its *start* (a daily bar at midnight New York). The
store stamps bars at their close, so an intraday bar moves one bar length
later and a daily or coarser bar to its session's close on the calendar,
the rule every other source follows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

import numpy as np
import pandas as pd
from alpaca.data.enums import DataFeed
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.models import BarSet
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from alphagate.adapters.alpaca.errors import broker_error
from alphagate.data.calendar import day_closes_for_dates
from alphagate.domain.quality_report import QualityReport
from alphagate.domain.timeframe import Timeframe, TimeUnit
from alphagate.errors import DataError

_UNITS = {
    TimeUnit.MINUTE: TimeFrameUnit.Minute,
    TimeUnit.HOUR: TimeFrameUnit.Hour,
    TimeUnit.DAY: TimeFrameUnit.Day,
    TimeUnit.WEEK: TimeFrameUnit.Week,
    TimeUnit.MONTH: TimeFrameUnit.Month,
}


def alpaca_timeframe(timeframe: Timeframe) -> TimeFrame:
    """Our bar size as alpaca-py's (``5m`` -> ``TimeFrame(5, Minute)``)."""
    return TimeFrame(timeframe.count, _UNITS[timeframe.unit])


class AlpacaBarSource:
    """One request per symbol, every page, stamped at bar close; see the module docstring.

    Parameters
    ----------
    client
        alpaca-py's data client (its ``url_override`` is ``venues.alpaca.data_url``).
    symbols
        The tickers to fetch.
    timeframe, calendar
        The bar size and the exchange calendar daily bars close on.
    start, end
        The span asked for; ``start`` per symbol is moved past ``since``.
    since
        The last stored bar close per symbol (incremental ingest).
    feed
        ``iex`` or ``sip`` (``venues.alpaca.feed``).
    """

    def __init__(
        self,
        client: StockHistoricalDataClient,
        symbols: Sequence[str],
        *,
        timeframe: Timeframe,
        calendar: str | None,
        start: datetime,
        end: datetime | None = None,
        since: Mapping[str, pd.Timestamp] | None = None,
        feed: str = "iex",
    ) -> None:
        if not symbols:
            raise DataError("--symbols is required for --source alpaca (e.g. --symbols AAPL,MSFT)")
        self._client, self._symbols = client, tuple(symbols)
        self._timeframe, self._calendar = timeframe, calendar
        self._start, self._end = start, end
        self._since = dict(since or {})
        self._feed = DataFeed(feed)

    @property
    def name(self) -> str:
        """``alpaca:`` and the symbols."""
        return "alpaca:" + ",".join(self._symbols)

    @property
    def timeframe(self) -> Timeframe:
        """The bar size asked for."""
        return self._timeframe

    @property
    def calendar(self) -> str | None:
        """The calendar daily bars close on."""
        return self._calendar

    def chunks(self, report: QualityReport) -> Iterator[pd.DataFrame]:
        """One chunk per symbol that has bars in the span."""
        for symbol in self._symbols:
            frame = self._bars_of(symbol)
            report.rows_in += len(frame)
            if len(frame):
                yield frame

    def _bars_of(self, symbol: str) -> pd.DataFrame:
        start = pd.Timestamp(self._start)
        if symbol in self._since:
            # the bar whose close is stored began one bar before it: ask from its close on
            start = max(start, pd.Timestamp(self._since[symbol]))
        request = StockBarsRequest(
            symbol_or_symbols=symbol,
            timeframe=alpaca_timeframe(self._timeframe),
            start=start.to_pydatetime(),
            end=self._end,
            feed=self._feed,
        )
        try:
            answer = self._client.get_stock_bars(request)
        except Exception as error:
            raise DataError(f"alpaca bars for {symbol}: {broker_error(error)}") from None
        bars = answer.data.get(symbol, []) if isinstance(answer, BarSet) else []
        starts = pd.DatetimeIndex(pd.to_datetime([b.timestamp for b in bars], utc=True))
        frame = pd.DataFrame(
            {
                "symbol": symbol,
                "row": np.arange(1, len(bars) + 1),
                "ts": self._closes(starts),
                "open": [b.open for b in bars],
                "high": [b.high for b in bars],
                "low": [b.low for b in bars],
                "close": [b.close for b in bars],
                "volume": [b.volume for b in bars],
            }
        )
        if symbol in self._since:
            frame = frame[frame["ts"] > self._since[symbol]]
        return frame.reset_index(drop=True)

    def _closes(self, starts: pd.DatetimeIndex) -> pd.DatetimeIndex:
        if self._timeframe.is_intraday:
            return starts + self._timeframe.delta
        dates = starts.tz_convert("America/New_York").tz_localize(None).normalize()
        return day_closes_for_dates(dates, self._timeframe, self._calendar)
