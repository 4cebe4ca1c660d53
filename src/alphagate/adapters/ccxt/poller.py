"""Order status by polling: the venue's word on working orders, handed to ``BrokerVenue``.

Binance spot's REST API pushes nothing; ccxt.pro's ``watch_orders`` would,
but a stream still needs this REST catch-up after every reconnect (BF-10),
so polling is the one path built. Each :meth:`OrderPoller.poll` lists the
working orders (one request), and asks by client id about every order the
client sent or saw whose end it has not seen and that is not in that list,
so an order that filled or was canceled between two polls reports its last
fills and its end too. Snapshots go to
:meth:`~alphagate.adapters.broker.venue.BrokerVenue.receive_snapshot`, which
drops whatever the engine was already told; the driver collects the rest at
its next cycle, journaled before the kernel sees them.
"""

from __future__ import annotations

import logging
import threading

from alphagate.adapters.broker.errors import AuthFailedError, BrokerError
from alphagate.adapters.broker.pacing import Pacing
from alphagate.adapters.broker.retry import DEFAULT_RETRY, RetryPolicy, read_with_retry
from alphagate.adapters.broker.venue import BrokerVenue
from alphagate.adapters.ccxt.client import CcxtClient

log = logging.getLogger(__name__)


class OrderPoller:
    """Polls one client's orders into one venue, by hand (:meth:`poll`) or on a thread."""

    def __init__(
        self,
        client: CcxtClient,
        venue: BrokerVenue,
        pacing: Pacing,
        *,
        interval_s: float = 2.0,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self._client, self._venue, self._pacing = client, venue, pacing
        self._interval_s, self._retry = interval_s, retry
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> int:
        """One round: report every working order and each that stopped working; how many."""
        watch = self._venue.rate_limits.watch
        snapshots = list(read_with_retry(watch(self._client.working), self._pacing, self._retry))
        now_working = {s.client_order_id for s in snapshots}
        for gone in sorted(self._client.unfinished - now_working):
            found = read_with_retry(
                watch(lambda cid=gone: self._client.find(cid)),  # type: ignore[misc]
                self._pacing,
                self._retry,
            )
            if found is not None:
                snapshots.append(found)
        for snapshot in snapshots:
            self._venue.receive_snapshot(snapshot)
        return len(snapshots)

    def start(self) -> None:
        """Poll every ``interval_s`` on a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="ccxt-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after its current round."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.poll()
            except AuthFailedError:
                log.error("order polling stopped: the venue refused the keys")
                return
            except BrokerError as error:  # the next round asks again; nothing is dropped
                log.warning("order poll failed: %s", error)
