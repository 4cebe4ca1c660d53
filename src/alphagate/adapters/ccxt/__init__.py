"""Exchanges through ccxt's unified API (async), Binance spot first.

ccxt's async client runs on this adapter's own event-loop thread
(:mod:`.loop`) behind a synchronous facade, because the live driver and
:class:`~alphagate.adapters.broker.venue.BrokerVenue` are synchronous.
:mod:`.exchange` builds the client from ``venues.ccxt`` and the
environment, :mod:`.errors` maps ccxt's exceptions onto the broker
outcomes, :mod:`.orders` translates orders both ways, :mod:`.client` is the
:class:`~alphagate.adapters.broker.client.BrokerClient`, :mod:`.poller`
turns polled order states into reports, :mod:`.ohlcv` is the historical
bar source, and :func:`.venue.open_venue` wires them from settings.
"""
