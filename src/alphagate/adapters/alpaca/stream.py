"""Alpaca's trade-updates stream into a :class:`BrokerVenue`, with a REST catch-up (BF-10).

alpaca-py's ``TradingStream`` runs on its own thread and event loop
(``run()``), reconnecting by itself with backoff. Each event becomes the
reports :func:`~alphagate.adapters.alpaca.mapping.updates_of` makes of it,
handed to :meth:`BrokerVenue.receive`; the venue drops duplicates and
late copies, so the stream may re-send freely.

What happened while the socket was down is not replayed by Alpaca, so the
stream is followed by a **catch-up**: every order the venue still tracks is
asked for by client id over REST and handed in whole
(:meth:`BrokerVenue.receive_snapshot`). A catch-up runs at start, whenever the
library reports that it (re)connects, and at least every ``catch_up_s``
seconds. The library has no public reconnect callback; it logs
``starting trading websocket connection`` on ``alpaca.trading.stream`` at
every connect, and a logging handler on that logger is the public hook
used. The timer bounds the gap (RELIABILITY I2 within one reconcile cycle)
should a later version word its log differently.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import replace
from functools import partial
from typing import Final

from alpaca.trading.models import TradeUpdate
from alpaca.trading.stream import TradingStream

from alphagate.adapters.alpaca.client import AlpacaClient
from alphagate.adapters.alpaca.mapping import updates_of
from alphagate.adapters.broker.errors import AuthFailedError, BrokerError
from alphagate.adapters.broker.pacing import Pacing
from alphagate.adapters.broker.retry import read_with_retry
from alphagate.adapters.broker.venue import BrokerVenue

log = logging.getLogger(__name__)

_LIBRARY_LOGGER: Final = "alpaca.trading.stream"
_CONNECTING: Final = "starting trading websocket connection"


class _ConnectWatch(logging.Handler):
    """Wakes the catch-up when alpaca-py logs a (re)connect."""

    def __init__(self, wake: threading.Event) -> None:
        super().__init__(logging.INFO)
        self._wake = wake

    def emit(self, record: logging.LogRecord) -> None:
        if _CONNECTING in record.getMessage():
            self._wake.set()


class TradeUpdates:
    """The trade-updates stream and its catch-up, both on background threads.

    Parameters
    ----------
    venue
        Where reports go.
    client
        The REST side, for the catch-up.
    key_id, secret_key
        The account's keys (never logged).
    paper, url
        The paper or live stream, or ``venues.alpaca.trade_stream_url``.
    catch_up_s
        The longest time between two catch-ups.
    pacing
        The connection's request budget, shared with the venue (a catch-up's
        queries count against the same per-minute limit and ``Retry-After``).
    """

    def __init__(
        self,
        venue: BrokerVenue,
        client: AlpacaClient,
        key_id: str,
        secret_key: str,
        *,
        paper: bool = True,
        url: str | None = None,
        catch_up_s: float = 30.0,
        pacing: Pacing | None = None,
    ) -> None:
        self._venue, self._client, self._catch_up_s = venue, client, catch_up_s
        self._pacing = pacing if pacing is not None else Pacing()
        self._stream = TradingStream(
            key_id,
            secret_key,
            paper=paper,
            url_override=url,  # type: ignore[arg-type]
        )  # alpaca-py annotates url_override as str, but its default is None
        self._stream.subscribe_trade_updates(self._on_update)
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._watch = _ConnectWatch(self._wake)
        self._threads: list[threading.Thread] = []
        self.catch_ups = 0

    def start(self) -> None:
        """Connect the stream and start the catch-up loop (which runs one at once)."""
        library = logging.getLogger(_LIBRARY_LOGGER)
        library.addHandler(self._watch)
        if library.getEffectiveLevel() > logging.INFO:
            library.setLevel(logging.INFO)
        self._wake.set()
        for target, name in ((self._stream.run, "alpaca-stream"), (self._loop, "alpaca-catch-up")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Close the stream and end both threads."""
        self._stopping.set()
        self._wake.set()
        logging.getLogger(_LIBRARY_LOGGER).removeHandler(self._watch)
        with contextlib.suppress(AttributeError):  # never ran: the library has no loop yet
            self._stream.stop()
        for thread in self._threads:
            thread.join(10)

    def catch_up(self) -> int:
        """Ask for every order the venue tracks and hand each in whole; how many were found."""
        found = 0
        for cid in self._venue.tracked:
            try:
                snapshot = read_with_retry(partial(self._venue.lookup, cid), self._pacing)
            except AuthFailedError:
                raise
            except BrokerError as error:
                log.warning("catch-up of %s: %s; the next catch-up asks again", cid, error)
                continue
            if snapshot is not None:
                self._venue.receive_snapshot(snapshot)
                found += 1
        self.catch_ups += 1
        return found

    async def _on_update(self, update: TradeUpdate) -> None:
        log.debug("trade update %s for %s", update.event, update.order.client_order_id)
        our_id = self._client.our_id  # a bracket leg's events carry Alpaca's id for it
        self._venue.receive(
            [replace(u, client_order_id=our_id(u.client_order_id)) for u in updates_of(update)]
        )

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._catch_up_s)
            if self._stopping.is_set():
                return
            self._wake.clear()
            try:
                self.catch_up()
            except AuthFailedError as error:
                log.error("catch-up stopped: %s", error)
                return
