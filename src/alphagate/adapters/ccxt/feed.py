"""Closed candles from an exchange through ccxt as the live runner's feed (``fetch_ohlcv`` polls).

The polling, ordering and silence rules are every venue's
(:class:`~alphagate.adapters.broker.polled_feed.PolledBarFeed`); what is
ccxt's is how candles are asked for: ``fetch_ohlcv`` pages from the open of
the bar after the last close held, through the trading connection's own
:class:`~alphagate.adapters.ccxt.client.CcxtClient`, so the feed's requests
share the account's pacing and its rate-limit count (BF-04) instead of
opening a second connection per poll. Candles are stamped at their close as
``data ingest --source ccxt`` stores them (:func:`candles_frame`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from alphagate.adapters.broker.errors import AuthFailedError, BrokerError
from alphagate.adapters.broker.pacing import Pacing
from alphagate.adapters.broker.polled_feed import FetchBars, PolledBarFeed
from alphagate.adapters.broker.rate_health import RateLimitHealth
from alphagate.adapters.broker.retry import DEFAULT_RETRY, RetryPolicy, read_with_retry
from alphagate.adapters.ccxt.client import CcxtClient
from alphagate.adapters.ccxt.ohlcv import candles_frame
from alphagate.domain.bars import bars_from_flat, empty_bars
from alphagate.domain.timeframe import Timeframe
from alphagate.errors import DataError


def candle_fetch(
    client: CcxtClient,
    symbols: Sequence[str],
    timeframe: Timeframe,
    pacing: Pacing,
    *,
    rate_limits: RateLimitHealth | None = None,
    page_limit: int = 1000,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> FetchBars:
    """The feed's ``fetch``: every candle of ``symbols`` from ``begin``, paged, each read paced.

    A failed read becomes a :class:`DataError` (the next poll asks again),
    except refused keys, which stop the feed (BF-15).
    """
    step_ms = int(timeframe.delta.total_seconds() * 1000)
    watch: Callable[[Callable[[], Any]], Callable[[], Any]] = (
        rate_limits.watch if rate_limits is not None else (lambda call: call)
    )

    def page(symbol: str, since_ms: int) -> list[list[Any]]:
        call = watch(lambda: client.ohlcv(symbol, timeframe.name, since_ms, page_limit))
        candles: list[list[Any]] = read_with_retry(call, pacing, retry)
        return candles

    def fetch(begin: pd.Timestamp, since: pd.Timestamp | None) -> pd.DataFrame:
        frames = []
        for symbol in symbols:
            since_ms = int(begin.value // 1_000_000)  # a held close is the next candle's open
            while True:
                try:
                    candles = [c for c in page(symbol, since_ms) if int(c[0]) >= since_ms]
                except AuthFailedError:
                    raise
                except BrokerError as error:
                    raise DataError(f"candles of {symbol}: {error}") from None
                if not candles:
                    break
                frames.append(candles_frame(candles, symbol, step_ms))
                if len(candles) < page_limit:
                    break
                since_ms = int(candles[-1][0]) + step_ms
        if not frames:
            return empty_bars()
        return bars_from_flat(pd.concat(frames, ignore_index=True))

    return fetch


class CcxtBarFeed(PolledBarFeed):
    """A :class:`PolledBarFeed` over one ccxt connection's ``fetch_ohlcv``."""

    def __init__(
        self,
        client: CcxtClient,
        pacing: Pacing,
        symbols: Sequence[str],
        *,
        timeframe: Timeframe,
        rate_limits: RateLimitHealth | None = None,
        **polling: Any,
    ) -> None:
        fetch = candle_fetch(client, symbols, timeframe, pacing, rate_limits=rate_limits)
        super().__init__(fetch, symbols, timeframe=timeframe, venue=client.name, **polling)
