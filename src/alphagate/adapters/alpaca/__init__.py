"""Alpaca through alpaca-py: the trading venue, its trade-updates stream, and historical bars.

``open_venue(settings, environ)`` builds a
:class:`~alphagate.adapters.broker.venue.BrokerVenue` over :class:`AlpacaClient`
with its stream; ``AlpacaBarSource`` feeds ``alphagate data ingest --source
alpaca``. See ``docs/brokers.md``.
"""
