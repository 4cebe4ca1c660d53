"""``open_venue``: settings and environment in, a ready ``BrokerVenue`` over ccxt out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alphagate.adapters.broker.pacing import Pacing
from alphagate.adapters.broker.venue import BrokerVenue
from alphagate.adapters.ccxt.client import CcxtClient
from alphagate.adapters.ccxt.exchange import build_exchange, credential_variables, credentials
from alphagate.adapters.ccxt.loop import LoopThread
from alphagate.adapters.ccxt.poller import OrderPoller
from alphagate.config.settings import Settings
from alphagate.errors import ConfigError


@dataclass
class CcxtVenue:
    """What ``open_venue`` wires: the venue the driver uses, its client and its poller."""

    venue: BrokerVenue
    client: CcxtClient
    poller: OrderPoller
    pacing: Pacing

    def close(self) -> None:
        """Stop polling and close the connection."""
        self.poller.stop()
        self.client.close()


def open_venue(
    settings: Settings,
    environ: Mapping[str, str],
    *,
    symbols: Sequence[str] = (),
    pacing: Pacing | None = None,
    timeout_ms: int = 10_000,
    poll_interval_s: float = 2.0,
    grace_s: float = 5.0,
    check_permissions: bool = True,
) -> CcxtVenue:
    """Connect to ``venues.ccxt`` with the environment's keys; markets loaded, key checked.

    The poller is built but not started: the caller starts it once the
    engine is ready for reports (``poller.start()``), or polls by hand.

    Raises
    ------
    ConfigError
        When the keys are missing from the environment, or the exchange is unknown.
    KeyPermissionError
        When the key may withdraw funds (SE-08).
    """
    config = settings.venues.ccxt
    if len(credentials(config.exchange, environ)) < 2:
        names = ", ".join(credential_variables(config.exchange)[:2])
        raise ConfigError(
            f"{config.exchange} keys are missing: set {names} in the environment "
            "(they are never read from files or flags)"
        )
    pacing = pacing if pacing is not None else Pacing(per_minute=config.requests_per_minute)
    loop = LoopThread(f"ccxt-{config.exchange}")
    try:
        exchange = build_exchange(config, environ, loop.loop, timeout_ms=timeout_ms)
    except BaseException:
        loop.close()
        raise
    client = CcxtClient(exchange, loop, pacing=pacing, symbols=symbols)
    try:
        if check_permissions:
            pacing.acquire()
            client.check_key_permissions()
    except BaseException:
        client.close()
        raise
    venue = BrokerVenue(client, pacing=pacing, grace_s=grace_s)
    poller = OrderPoller(client, venue, pacing, interval_s=poll_interval_s)
    return CcxtVenue(venue, client, poller, pacing)
