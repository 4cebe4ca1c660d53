"""alpaca-py's and requests' exceptions mapped onto the shared broker outcomes.

Alpaca answers in HTTP statuses with a JSON body ``{"code": ..., "message": ...}``:

========  ==========================================  ==============================
status    what Alpaca means                            outcome
========  ==========================================  ==============================
401       bad or missing keys                          :class:`AuthFailedError`
403       insufficient buying power, shorting refused  :class:`VenueRejectedError`
          (a code of its own); otherwise a key
          without the permission                       :class:`AuthFailedError`
404       no such order                                :class:`OrderNotFoundError`
422       ``client_order_id must be unique``           :class:`DuplicateClientIdError`
400, 422  any other refusal of the request             :class:`VenueRejectedError`
429       rate limit; ``Retry-After`` seconds          :class:`RateLimitedError`
5xx       the request may have been acted on           :class:`OutcomeUnknownError`
========  ==========================================  ==============================

A connection that never opened is :class:`UnreachableError` (nothing was
sent); a timeout or a connection dropped after sending is
:class:`OutcomeUnknownError`. Messages are built from the status, Alpaca's
code and its text only: never ``str()`` of a requests exception or its
request, whose headers hold the keys (SE-03), and every mapped error is
raised ``from None`` so the library's exception (and its request) is not
chained into a traceback.
"""

from __future__ import annotations

import json
from typing import Final

import requests
from alpaca.common.exceptions import APIError
from urllib3.exceptions import NewConnectionError

from alphagate.adapters.broker.errors import (
    AuthFailedError,
    BrokerError,
    DuplicateClientIdError,
    OrderNotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    UnreachableError,
    VenueRejectedError,
)

VENUE: Final = "alpaca"

_REJECTION_CODES_403: Final = frozenset({40310000, 40310100})
"""Alpaca's 403 codes that refuse the order itself (buying power, shorting), not the key."""


def broker_error(error: BaseException) -> BrokerError:
    """The shared exception for one raised by alpaca-py, requests or the call's deadline."""
    if isinstance(error, BrokerError):
        return error
    if isinstance(error, APIError):
        return _api_error(error)
    if isinstance(error, requests.exceptions.ConnectTimeout) or _never_connected(error):
        return UnreachableError("could not connect to the trading API", venue=VENUE)
    if isinstance(error, requests.exceptions.RequestException | TimeoutError):
        kind = type(error).__name__
        return OutcomeUnknownError(f"no answer ({kind}); the request may have arrived", venue=VENUE)
    return OutcomeUnknownError(
        f"unreadable answer ({type(error).__name__}); the request may have arrived", venue=VENUE
    )


def _api_error(error: APIError) -> BrokerError:  # noqa: PLR0911 - one return per table row
    status = error.status_code or 0
    code, message = _body(error)
    text = f"{status} {message}" + (f" (code {code})" if code else "")
    if status == 401:
        return AuthFailedError(
            f"{text}: check APCA_API_KEY_ID and APCA_API_SECRET_KEY", venue=VENUE
        )
    if status == 403:
        if code in _REJECTION_CODES_403:
            return VenueRejectedError(text, venue=VENUE)
        return AuthFailedError(f"{text}: the key lacks a permission", venue=VENUE)
    if status == 404:
        return OrderNotFoundError(text, venue=VENUE)
    if status == 422 and "client_order_id" in message and "unique" in message:
        return DuplicateClientIdError(text, venue=VENUE)
    if status == 429:
        return RateLimitedError(text, venue=VENUE, retry_after=_retry_after(error))
    if status >= 500:
        return OutcomeUnknownError(text, venue=VENUE)
    return VenueRejectedError(text, venue=VENUE)


def _body(error: APIError) -> tuple[int | None, str]:
    """Alpaca's code and message from the answer's JSON body (its text when not JSON)."""
    raw = str(error)
    try:
        body = json.loads(raw)
    except ValueError:
        return None, raw[:200] or "no message"
    if not isinstance(body, dict):
        return None, raw[:200]
    code = body.get("code")
    return (code if isinstance(code, int) else None), str(body.get("message", ""))[:200]


def _retry_after(error: APIError) -> float | None:
    response = error.response
    value = None if response is None else response.headers.get("Retry-After")
    try:
        return None if value is None else max(float(value), 0.0)
    except ValueError:
        return None


def _never_connected(error: BaseException) -> bool:
    """A requests ``ConnectionError`` whose cause is a connection that was never opened."""
    if not isinstance(error, requests.exceptions.ConnectionError):
        return False
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, NewConnectionError | ConnectionRefusedError):
            return True
        reason = getattr(seen, "reason", None)
        args = getattr(seen, "args", ())
        seen = (
            reason
            if isinstance(reason, BaseException)
            else next((a for a in args if isinstance(a, BaseException)), seen.__cause__)
        )
    return False
