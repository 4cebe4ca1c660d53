"""Monitoring: the engine's Prometheus metrics and the service that shows them.

- :mod:`~alphagate.monitor.metrics`: one registry per engine, every ``alphagate_*`` metric;
- :mod:`~alphagate.monitor.engine_monitor`: the runner's ``on_cycle`` hook that fills
  them and keeps a read-only view of the engine for the service;
- :mod:`~alphagate.monitor.api`: the FastAPI app (``/health``, ``/metrics``,
  ``/api/...``, the dashboard, the token-guarded controls);
- :mod:`~alphagate.monitor.access`: the bind and token rules (SE-06, SE-07).

Ring 7, beside the adapters: it reads the engine and knows no database; the
composition root (``app/serve.py``) hands it readers of the trading database.
"""
