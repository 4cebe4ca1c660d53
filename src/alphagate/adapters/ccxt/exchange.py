"""Build a ccxt async exchange from ``venues.ccxt`` and the environment.

Credentials come only from the environment: ``ALPHAGATE_<EXCHANGE>_API_KEY``,
``ALPHAGATE_<EXCHANGE>_SECRET`` and, for exchanges that need one (OKX),
``ALPHAGATE_<EXCHANGE>_PASSWORD`` (the names ``app/live.py`` checks before a
live start). ``sandbox`` switches to the exchange's testnet *before* the
``urls`` overrides are applied, since ccxt's ``set_sandbox_mode`` replaces
every API URL. ccxt's own rate limiter is off: the shared
:class:`~alphagate.adapters.broker.pacing.Pacing` paces every request, and
two limiters would make waits nobody can read from the configuration.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

import ccxt.async_support as ccxt_async

from alphagate.config.venues import CcxtConfig
from alphagate.errors import ConfigError

_ORIGIN = re.compile(r"^[a-z]+://[^/]+")


def credential_variables(exchange: str) -> tuple[str, str, str]:
    """The environment variables of an exchange's key, secret and password."""
    prefix = f"ALPHAGATE_{exchange.upper()}_"
    return prefix + "API_KEY", prefix + "SECRET", prefix + "PASSWORD"


def credentials(exchange: str, environ: Mapping[str, str]) -> dict[str, str]:
    """ccxt's ``apiKey``/``secret``/``password`` from the environment (absent ones left out)."""
    names = dict(zip(("apiKey", "secret", "password"), credential_variables(exchange), strict=True))
    return {field: environ[name] for field, name in names.items() if environ.get(name)}


def override_urls(api: Any, overrides: Mapping[str, str]) -> Any:
    """ccxt's ``urls['api']`` with the configured replacements.

    ``all`` replaces the scheme and host of every URL and keeps its path. A
    key naming one API (``public``, ``private``, ``sapi`` ...) replaces that
    URL: wholly when the value has a path, only its scheme and host when it
    is a bare origin such as ``http://127.0.0.1:8000``.
    """
    if not overrides:
        return api
    if isinstance(api, str):
        return _replace(api, overrides.get("all"))
    replaced: dict[str, Any] = {}
    for name, url in api.items():
        if isinstance(url, dict):
            base = overrides.get(name) or overrides.get("all")
            replaced[name] = override_urls(url, {"all": base} if base else {})
        elif isinstance(url, str):
            replaced[name] = _replace(_replace(url, overrides.get("all")), overrides.get(name))
        else:
            replaced[name] = url
    return replaced


def _replace(url: str, base: str | None) -> str:
    if not base:
        return url
    base = base.rstrip("/")
    if _ORIGIN.sub("", base):  # the value has a path: it is the whole URL
        return base
    return _ORIGIN.sub(base, url)


def build_exchange(
    config: CcxtConfig,
    environ: Mapping[str, str],
    loop: asyncio.AbstractEventLoop,
    *,
    timeout_ms: int = 10_000,
) -> ccxt_async.Exchange:
    """A ccxt async exchange bound to ``loop``, pointed where the settings say.

    Raises
    ------
    ConfigError
        When ``venues.ccxt.exchange`` names no exchange ccxt knows, or
        ``sandbox`` is set for one without a testnet.
    """
    exchange_class = getattr(ccxt_async, config.exchange, None)
    if exchange_class is None or config.exchange not in ccxt_async.exchanges:
        raise ConfigError(
            f"venues.ccxt.exchange {config.exchange!r} is not a ccxt exchange id; "
            "see `python -c 'import ccxt; print(ccxt.exchanges)'` (e.g. binance, okx, kraken)"
        )
    options: dict[str, Any] = {
        "enableRateLimit": False,
        "timeout": timeout_ms,
        "asyncio_loop": loop,
        **credentials(config.exchange, environ),
    }
    exchange: ccxt_async.Exchange = exchange_class(options)
    if config.sandbox:
        try:
            exchange.set_sandbox_mode(True)
        except ccxt_async.NotSupported:
            raise ConfigError(
                f"{config.exchange} has no testnet in ccxt: set venues.ccxt.sandbox: false "
                "(live keys) or point venues.ccxt.urls at a sandbox you run"
            ) from None
    exchange.urls["api"] = override_urls(exchange.urls["api"], config.urls)
    # Spot only: without these, load_markets also asks futures and margin endpoints.
    exchange.options["defaultType"] = "spot"
    exchange.options["fetchMarkets"] = {"types": ["spot"]}
    exchange.options["fetchMargins"] = False
    exchange.options["fetchCurrencies"] = False
    fetch_open = exchange.options.get("fetchOpenOrders")
    if isinstance(fetch_open, dict):
        fetch_open["warnWithoutSymbol"] = False
    exchange.options["warnOnFetchOpenOrdersWithoutSymbol"] = False
    # Signed requests carry a timestamp the venue checks against its own clock (BF-14):
    # measure the offset when markets load, and again after a refusal (CcxtClient).
    exchange.options["adjustForTimeDifference"] = True
    return exchange
