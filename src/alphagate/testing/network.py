"""A guard that fails any connection to an address outside 127.0.0.0/8 (or ::1).

Broker and exchange code is tested against local servers that speak the
venues' wire protocols; a mistake in a base URL must fail the test, never
reach a real broker. The guard wraps ``socket.connect`` (which asyncio,
``requests`` and ``aiohttp`` all end in) for the test session. Unix sockets
pass; host names must be ``localhost``: anything a resolver could send
elsewhere is refused before it is resolved.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class NonLoopbackConnectionError(ConnectionRefusedError):
    """A test tried to open a connection to an address outside loopback."""


def is_loopback(address: Any) -> bool:
    """True for a Unix socket path, ``localhost``, or an IP address in loopback."""
    if not isinstance(address, tuple):
        return True
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode()
    if host == "localhost":
        return True
    try:
        address_ = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    if isinstance(address_, ipaddress.IPv6Address) and address_.ipv4_mapped is not None:
        return address_.ipv4_mapped.is_loopback  # ::ffff:127.0.0.1, as dual-stack servers bind
    return address_.is_loopback


@contextmanager
def loopback_only() -> Iterator[None]:
    """Within the block, connecting a socket anywhere but loopback raises."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> None:
        _check(address)
        connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        _check(address)
        return connect_ex(self, address)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]


def _check(address: Any) -> None:
    if not is_loopback(address):
        raise NonLoopbackConnectionError(
            f"a test tried to connect to {address!r}: only loopback (127.0.0.0/8, ::1) is allowed; "
            "point the client's base URL at the local test server"
        )
