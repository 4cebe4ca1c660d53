"""ccxt's exceptions mapped onto the broker outcomes, with messages that hold no secret.

ccxt puts the request's method and URL in many messages, and a signed GET's
URL carries its ``timestamp`` and ``signature``; its debug log prints the
request headers, ``X-MBX-APIKEY`` included. So an exception raised here is
built only from the class of the failure and the venue's own ``code`` and
``msg`` (SE-03), and is raised ``from None`` so a traceback never shows the
ccxt exception under it. :class:`RedactingFilter` scrubs the same secrets
from ccxt's logger.

The mapping (``write`` is a POST or DELETE, whose effect a lost answer
leaves unknown):

================================================  ==============================
``InvalidNonce`` (Binance -1021, recvWindow)      :class:`ClockSkewError`
``DDoSProtection``, ``RateLimitExceeded``         :class:`RateLimitedError`, with
                                                  the response's ``Retry-After``
``RequestTimeout``, other ``NetworkError``        :class:`OutcomeUnknownError`
a connection that never opened                    :class:`UnreachableError`
``AuthenticationError``, ``PermissionDenied``     :class:`AuthFailedError`
``OrderNotFound``                                 :class:`OrderNotFoundError`
``DuplicateOrderId``, -2010 "Duplicate order"     :class:`DuplicateClientIdError`
``InvalidOrder``, ``InsufficientFunds``, other
refusals the venue stated                         :class:`VenueRejectedError`
``BadResponse`` and other ``OperationFailed``     :class:`OutcomeUnknownError`
================================================  ==============================
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping

import aiohttp
import ccxt

from alphagate.adapters.broker.errors import (
    AuthFailedError,
    BrokerError,
    ClockSkewError,
    DuplicateClientIdError,
    OrderNotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    UnreachableError,
    VenueRejectedError,
)

_VENUE_ERROR = re.compile(r"\{[^{}]*\"code\"[^{}]*\}")
_SIGNATURE = re.compile(r"signature=[0-9a-fA-F%]+")
_DUPLICATE = "Duplicate order sent."  # Binance -2010 for a client id of an open order


def venue_error(error: BaseException) -> tuple[str | None, str | None]:
    """The venue's ``code`` and ``msg`` from a ccxt exception's text, when it quotes them."""
    for match in _VENUE_ERROR.finditer(str(error)):
        try:
            body = json.loads(match.group(0))
        except ValueError:
            continue
        code, msg = body.get("code"), body.get("msg")
        return (None if code is None else str(code)), (None if msg is None else str(msg))
    return None, None


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from a ``Retry-After`` header (any case), or ``None``."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(float(value), 0.0)
            except ValueError:
                return None
    return None


_TABLE: tuple[tuple[type[Exception] | tuple[type[Exception], ...], type[BrokerError], str], ...] = (
    (ccxt.InvalidNonce, ClockSkewError, "timestamp outside the venue's recvWindow"),
    ((ccxt.DDoSProtection, ccxt.RateLimitExceeded), RateLimitedError, "rate limited"),
    (ccxt.RequestTimeout, OutcomeUnknownError, "timed out"),
    (ccxt.NetworkError, OutcomeUnknownError, "no usable answer"),
    (ccxt.AuthenticationError, AuthFailedError, "keys refused"),
    (ccxt.OrderNotFound, OrderNotFoundError, "no such order"),
    (ccxt.DuplicateOrderId, DuplicateClientIdError, "client id already used"),
    (ccxt.ExchangeError, VenueRejectedError, "refused"),
)
"""First match wins: subclasses before the classes they refine."""


def translate(
    error: ccxt.BaseError,
    venue: str,
    *,
    write: bool,
    headers: Mapping[str, str] | None = None,
    body: str | None = None,
    secrets: Iterable[str] = (),
) -> BrokerError:
    """The broker error for a ccxt exception; see the module docstring for the mapping.

    ``headers`` and ``body`` are the last response's (ccxt's public
    ``last_response_headers`` and ``last_http_response``): the wait a 429
    asked for, and the venue's code and text when ccxt's message holds only
    the text it matched.
    """
    code, msg = venue_error(error)
    if code is None and msg is None and body:
        code, msg = venue_error(Exception(body))
    said = redact(f" ({code}: {msg})" if code or msg else "", secrets)
    kind: type[BrokerError]
    if isinstance(error, ccxt.InvalidOrder) and msg == _DUPLICATE:
        kind, what = DuplicateClientIdError, "client id already used"
    elif isinstance(error, ccxt.NetworkError) and isinstance(
        error.__cause__, aiohttp.ClientConnectorError
    ):
        kind, what = UnreachableError, "no connection could be opened"
    else:
        kind, what = next(
            ((k, w) for classes, k, w in _TABLE if isinstance(error, classes)),
            (OutcomeUnknownError, f"unexpected {type(error).__name__}"),
        )
    if kind is OutcomeUnknownError and write:
        what += " after the request was sent: outcome unknown"
    wait = retry_after(headers) if kind is RateLimitedError else None
    return kind(what + said, venue=venue, retry_after=wait)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret and any request signature replaced by a mask."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, mask(secret))
    return _SIGNATURE.sub("signature=<redacted>", text)


def mask(secret: str) -> str:
    """A secret shown as its first and last four characters (``abcd...wxyz``), or ``***``."""
    return f"{secret[:4]}...{secret[-4:]}" if len(secret) >= 16 else "***"


class RedactingFilter(logging.Filter):
    """Rewrites log records that would show a key, a secret or a signature (SE-01, SE-03)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record, with its text redacted."""
        text = record.getMessage()
        clean = redact(text, self._secrets)
        if clean != text:
            record.msg, record.args = clean, None
        return True
