"""The trade-updates stream with its catch-up (BF-10), and keys that never leak (SE-03, SE-05)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import pytest
from alpaca_helpers import Connected

from alphagate.adapters.alpaca.client import AlpacaClient
from alphagate.adapters.alpaca.open import credentials, open_venue
from alphagate.adapters.alpaca.stream import TradeUpdates
from alphagate.adapters.broker.errors import BrokerError
from alphagate.config import load_config
from alphagate.domain.orders import OrderStatus, OrderType
from alphagate.errors import ConfigError
from alphagate.testing.orders import request_of
from servers.alpaca_server import KEY_ID, SECRET_KEY

Connect = Callable[..., Connected]
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_bf10_fills_made_while_the_stream_was_down_arrive_by_catch_up(
    connect: Connect,
) -> None:
    alpaca = connect(timeout_s=2.0)
    stream = TradeUpdates(
        alpaca.venue, alpaca.client, KEY_ID, SECRET_KEY, url=alpaca.server.stream_url,
        catch_up_s=60.0,
    )  # fmt: skip
    stream.start()
    try:
        request = request_of("ag" + "1" * 30, symbol="AAPL", quantity=10.0,
                             order_type=OrderType.LIMIT, limit_price=95.0)  # fmt: skip
        alpaca.submit(request)
        server = alpaca.server
        alpaca.cycle_until(lambda: bool(server._sockets))
        server.fill(server.by_client_id[request.client_order_id], 4.0, 95.0)
        alpaca.cycle_until(lambda: alpaca.state(request).filled_qty == 4.0)
        catch_ups = stream.catch_ups
        server.drop_streams()
        server.fill(server.by_client_id[request.client_order_id], 6.0, 95.0)  # nobody hears it
        alpaca.cycle_until(lambda: alpaca.state(request).status is OrderStatus.FILLED, 15.0)
        assert stream.catch_ups > catch_ups  # the reconnect asked, the timer (60 s) did not
        assert alpaca.state(request).filled_qty == pytest.approx(10.0)
    finally:
        stream.stop()


def test_se03_sentinel_keys_never_appear_in_errors_tracebacks_or_logs(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    key, secret = "AKSENTINEL1234567890", "SKSENTINELabcdefghijklmnopqrstuvwxyz0123"
    caplog.set_level(logging.DEBUG)
    alpaca = connect(key_id=key, secret=secret)
    texts: list[str] = []
    for call in (
        lambda: alpaca.venue.submit(request_of("ag" + "2" * 30, symbol="AAPL"), 0),
        alpaca.venue.account,
        lambda: AlpacaClient(key, secret, base_url="http://127.0.0.1:9").account(),
    ):
        with pytest.raises(BrokerError) as raised:
            call()
        texts += [str(raised.value), "".join(traceback.format_exception(raised.value))]
    texts.append(repr(alpaca.client))
    texts.append(caplog.text)
    for text in texts:
        assert "SENTINEL" not in text
    assert any("401" in text for text in texts)  # the failure itself is still reported


def test_se05_a_live_key_on_a_paper_account_is_refused_before_any_request() -> None:
    with pytest.raises(ConfigError, match="APCA_API_KEY_ID holds a live key") as raised:
        credentials({"APCA_API_KEY_ID": "AKSENTINEL1", "APCA_API_SECRET_KEY": "s"}, paper=True)
    assert "SENTINEL" not in str(raised.value)
    with pytest.raises(ConfigError, match="APCA_API_SECRET_KEY"):
        credentials({"APCA_API_KEY_ID": "PK1"}, paper=True)


def test_open_venue_points_alpaca_py_at_the_configured_urls(connect: Connect) -> None:
    alpaca = connect()
    settings = load_config(
        overrides=[
            f"venues.alpaca.base_url={alpaca.server.url}",
            f"venues.alpaca.trade_stream_url={alpaca.server.stream_url}",
        ]
    )
    opened = open_venue(settings, {"APCA_API_KEY_ID": KEY_ID, "APCA_API_SECRET_KEY": SECRET_KEY})
    try:
        assert opened.venue.account().cash == pytest.approx(100_000.0)
        assert alpaca.server.counts["GET /v2/account"] == 1
    finally:
        opened.client.close()
