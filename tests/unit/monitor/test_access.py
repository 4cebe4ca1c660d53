"""SE-06 and SE-07's rules on their own: who may bind where, and which header authorises."""

from __future__ import annotations

import pytest

from alphagate.monitor.access import BindRefusedError, authorised, check_bind, is_loopback

TOKEN = "t" * 24


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_needs_no_token(host: str) -> None:
    assert is_loopback(host)
    check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.org"])
def test_binding_beyond_loopback_without_a_token_is_refused(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(BindRefusedError, match="ALPHAGATE_SERVE_TOKEN"):
        check_bind(host, None)
    with pytest.raises(BindRefusedError, match="shorter"):
        check_bind(host, "short")
    check_bind(host, TOKEN)


def test_only_the_exact_bearer_token_authorises() -> None:
    assert authorised(f"Bearer {TOKEN}", TOKEN)
    assert not authorised(f"Bearer {TOKEN}x", TOKEN)
    assert not authorised(TOKEN, TOKEN)
    assert not authorised(None, TOKEN)
    assert not authorised("Bearer ", None)
    assert not authorised(f"Bearer {TOKEN}", None)
