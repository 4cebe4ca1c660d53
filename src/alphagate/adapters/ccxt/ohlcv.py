"""Historical OHLCV bars from an exchange through ccxt: a ``BarSource`` for ``data ingest``.

Exchanges serve candles in pages (Binance: at most 1000 from ``startTime``).
The source asks page after page, starting each after the last candle it got,
until a page comes back empty or passes the end. A page that skips candles
(the exchange was down) is not an end: the next page starts after what it
did get, and the missing bars are reported by the ingest's ``gaps`` rule
(``data.quality.gaps``), which compares the bars with a 24/7 calendar. The
candle still forming is left out, so a stored bar never changes.

Incremental: for a symbol the store already holds, paging starts after its
last stored bar (``resume``); otherwise at ``start``, or one page back from
now. Each page is one paced, retried read; public candles need no keys.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import ccxt
import pandas as pd

from alphagate.adapters.broker.pacing import Pacing
from alphagate.adapters.broker.retry import DEFAULT_RETRY, RetryPolicy, read_with_retry
from alphagate.adapters.ccxt.errors import translate
from alphagate.adapters.ccxt.exchange import build_exchange
from alphagate.adapters.ccxt.loop import LoopThread
from alphagate.config.venues import CcxtConfig
from alphagate.domain.quality_report import QualityReport
from alphagate.domain.timeframe import Timeframe

_COLUMNS = ["open", "high", "low", "close", "volume"]


class CcxtBarSource:
    """Bars of ``symbols`` at ``timeframe`` from ``venues.ccxt``'s exchange, paged."""

    def __init__(
        self,
        config: CcxtConfig,
        symbols: Sequence[str],
        timeframe: Timeframe,
        *,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        resume: Mapping[str, pd.Timestamp] | None = None,
        page_limit: int = 1000,
        pacing: Pacing | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if not symbols:
            raise ValueError("the ccxt source needs --symbols, e.g. --symbols BTC/USDT,ETH/USDT")
        self._config, self._symbols, self._timeframe = config, list(symbols), timeframe
        self._start, self._end, self._resume = start, end, dict(resume or {})
        self._page_limit = page_limit
        self._pacing = pacing if pacing is not None else Pacing(config.requests_per_minute)
        self._retry, self._environ = retry, environ or {}
        self.pages = 0

    @property
    def name(self) -> str:
        """``ccxt:<exchange>``."""
        return f"ccxt:{self._config.exchange}"

    @property
    def timeframe(self) -> Timeframe:
        """The bar size asked for."""
        return self._timeframe

    @property
    def calendar(self) -> str | None:
        """``None``: crypto trades around the clock."""
        return None

    def chunks(self, report: QualityReport) -> Iterator[pd.DataFrame]:
        """One chunk per page per symbol; ``row`` numbers count candles per symbol."""
        loop = LoopThread(f"ccxt-ohlcv-{self._config.exchange}")
        exchange = build_exchange(self._config, self._environ, loop.loop)
        try:
            self._fetch(loop, exchange, exchange.load_markets())
            for symbol in self._symbols:
                yield from self._symbol_chunks(loop, exchange, symbol, report)
        finally:
            loop.run(exchange.close(), timeout=10)
            loop.close()

    def _symbol_chunks(
        self, loop: LoopThread, exchange: Any, symbol: str, report: QualityReport
    ) -> Iterator[pd.DataFrame]:
        step_ms = int(self._timeframe.delta.total_seconds() * 1000)
        now_ms = int(time.time() * 1000)
        end_ms = now_ms if self._end is None else min(now_ms, _ms(self._end))
        since = self._first_open_ms(symbol, step_ms, now_ms)
        row = 0
        while since + step_ms <= end_ms:
            fetch_since = since
            page = self._fetch_page(loop, exchange, symbol, fetch_since)
            self.pages += 1
            candles = [c for c in page if c[0] >= fetch_since and c[0] + step_ms <= end_ms]
            if not candles:
                break
            frame = candles_frame(candles, symbol, step_ms, first_row=row)
            row += len(frame)
            report.rows_in += len(frame)
            yield frame
            since = int(candles[-1][0]) + step_ms

    def _first_open_ms(self, symbol: str, step_ms: int, now_ms: int) -> int:
        if symbol in self._resume:  # the stored last bar's close is the next bar's open
            return _ms(self._resume[symbol])
        if self._start is not None:
            return _ms(self._start)
        return (now_ms // step_ms - self._page_limit) * step_ms

    def _fetch_page(
        self, loop: LoopThread, exchange: Any, symbol: str, since: int
    ) -> list[list[Any]]:
        tf = self._timeframe.name

        def page() -> list[list[Any]]:
            fetch = exchange.fetch_ohlcv(symbol, tf, since, self._page_limit)
            candles: list[list[Any]] = self._fetch(loop, exchange, fetch)
            return candles

        return read_with_retry(page, self._pacing, self._retry)

    def _fetch(self, loop: LoopThread, exchange: Any, coroutine: Any) -> Any:
        try:
            return loop.run(coroutine)
        except ccxt.BaseError as error:
            raise translate(
                error,
                self.name,
                write=False,
                headers=exchange.last_response_headers,
                body=exchange.last_http_response,
            ) from None


def candles_frame(
    candles: Sequence[Sequence[Any]], symbol: str, step_ms: int, *, first_row: int = 0
) -> pd.DataFrame:
    """ccxt's ``[open_ms, o, h, l, c, v]`` rows as flat ``symbol, row, ts, ...`` columns.

    Stamped at the bar's close (open + one interval), as every stored bar
    is, so an exchange's candles and the store's bars line up by ``ts``.
    """
    frame = pd.DataFrame([list(c[:6]) for c in candles], columns=["open_ms", *_COLUMNS])
    frame = frame.astype(dict.fromkeys(_COLUMNS, "float64"))
    ts = pd.to_datetime(frame.pop("open_ms").astype("int64") + step_ms, unit="ms", utc=True)
    frame.insert(0, "ts", ts)
    frame.insert(0, "row", range(first_row, first_row + len(frame)))
    frame.insert(0, "symbol", symbol)
    return frame


def _ms(stamp: pd.Timestamp) -> int:
    return int(pd.Timestamp(stamp).value // 1_000_000)
