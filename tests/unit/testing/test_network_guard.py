"""The session's network guard refuses addresses outside loopback before anything is sent."""

from __future__ import annotations

import socket

import pytest

from alphagate.testing.network import NonLoopbackConnectionError, is_loopback


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        (("127.0.0.1", 80), True),
        (("127.5.6.7", 80), True),
        (("::1", 80, 0, 0), True),
        (("::ffff:127.0.0.1", 80, 0, 0), True),
        (("::ffff:10.0.0.1", 80, 0, 0), False),
        (("localhost", 80), True),
        ("/tmp/some.sock", True),
        (("10.0.0.1", 80), False),
        (("8.8.8.8", 53), False),
        (("paper-api.alpaca.markets", 443), False),
    ],
)
def test_only_loopback_counts_as_loopback(address: object, allowed: bool) -> None:
    assert is_loopback(address) is allowed


def test_the_session_guard_refuses_a_real_address() -> None:
    """The autouse fixture is on: connecting to a public address fails at once."""
    with socket.socket() as sock, pytest.raises(NonLoopbackConnectionError, match=r"8\.8\.8\.8"):
        sock.connect(("8.8.8.8", 53))
