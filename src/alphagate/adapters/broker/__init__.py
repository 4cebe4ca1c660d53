"""What every broker and exchange adapter shares: outcomes, pacing, retries and the venue.

Each venue's folder (``adapters/alpaca/``, ``adapters/ccxt/``) holds only
what is that venue's own: its client library's calls, and the translation of
its answers and exceptions into :class:`~alphagate.adapters.broker.client.OrderSnapshot`
values and :mod:`~alphagate.adapters.broker.errors` outcomes. The rules that
keep money safe (a POST is never blindly resent, an unknown outcome is settled
by client id, a duplicate or stale report never reaches the engine) live here
once, in :class:`~alphagate.adapters.broker.venue.BrokerVenue`.
"""
