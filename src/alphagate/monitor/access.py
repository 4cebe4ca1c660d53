"""Who may reach the service and who may drive it (RELIABILITY SE-06, SE-07).

The service binds ``127.0.0.1`` unless told otherwise; binding any other
address without a token (``ALPHAGATE_SERVE_TOKEN``) is refused before a
socket is opened, as Freqtrade's REST API refuses. Control endpoints need
the token as ``Authorization: Bearer <token>`` whatever the address: a
header, not a cookie, so another site's page cannot make a browser send it
(no CSRF), and the app sends no CORS headers, so a cross-origin script cannot
read an answer either.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Final

from alphagate.errors import AlphagateError

TOKEN_ENV: Final = "ALPHAGATE_SERVE_TOKEN"
MIN_TOKEN_LENGTH: Final = 16


class BindRefusedError(AlphagateError):
    """The service would be reachable from elsewhere without a token."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-loopback ``host`` without a token long enough to resist guessing.

    Raises
    ------
    BindRefusedError
        Saying how to bind safely.
    """
    if is_loopback(host):
        return
    if not token:
        raise BindRefusedError(
            f"refusing to bind {host}: the dashboard and its control endpoints would be open to "
            f"the network without authentication; set {TOKEN_ENV} to a secret of at least "
            f"{MIN_TOKEN_LENGTH} characters, or bind 127.0.0.1 (the default)"
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise BindRefusedError(
            f"refusing to bind {host}: {TOKEN_ENV} is shorter than {MIN_TOKEN_LENGTH} characters"
        )


def authorised(header: str | None, token: str | None) -> bool:
    """Whether an ``Authorization`` header carries ``token`` (constant-time compare)."""
    if not token or not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())
