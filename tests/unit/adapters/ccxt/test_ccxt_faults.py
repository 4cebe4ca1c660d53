"""Rate limits, clock skew, keys and secrets against the local Binance server (BF-03/04/14/15, SE).

Waits that would take minutes in real time run on a fake clock shared by
the server's rate-limit windows and the adapter's pacing, so "no request
inside the wait" and "the 418 ban is never reached" are measured by the
server itself.
"""

from __future__ import annotations

import logging

import pytest
from ccxt_helpers import SYMBOL, FakeClock, environ_for, paced_by, settings_for, state_for

from alphagate.adapters.broker.errors import (
    AuthFailedError,
    ClockSkewError,
    RateLimitedError,
)
from alphagate.adapters.ccxt.client import KeyPermissionError
from alphagate.adapters.ccxt.venue import open_venue
from alphagate.domain.order_state import Rejected
from alphagate.domain.orders import OrderRequest, OrderStatus, Side
from servers.binance_server import ORDER, BinanceServer, Fault

CID = "ag" + "0" * 29 + "2"


def market_buy(cid: str = CID) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid, symbol=SYMBOL, side=Side.BUY, quantity=0.01, ts_init=10**18
    )


def test_bf03_a_429_holds_every_request_for_its_retry_after(connect) -> None:
    """BF-03: no request inside the wait; the read then succeeds; a refused POST is REJECTED."""
    clock = FakeClock()
    state = state_for("normal", clock=clock)
    _, opened = connect(state, pacing=paced_by(clock))
    state.faults.append(Fault("GET /api/v3/account", "429", retry_after=7))
    before = clock.now
    assert opened.venue.account().cash == pytest.approx(100_000.0)
    assert state.violations == 0 and not state.banned
    assert clock.now - before >= 7.0
    assert state.count("GET", "/api/v3/account") == 2
    state.faults.append(Fault(f"POST {ORDER}", "429", retry_after=5))
    told = opened.venue.submit(market_buy(), 0)
    assert isinstance(told[-1].event, Rejected) and "rate limited" in told[-1].event.reason
    again = opened.venue.submit(market_buy("ag" + "0" * 29 + "3"), 0)  # waits the 5 s first
    assert state.violations == 0
    assert [o.status for o in state.orders] == ["FILLED"] and again


def test_bf04_ten_minutes_of_429_back_off_with_jitter_and_never_reach_the_ban(connect) -> None:
    """BF-04: sustained 429s; exponential, jittered waits; no tight loop; no 418 ban."""
    clock = FakeClock()
    state = state_for("normal", clock=clock, ban_after=2)
    _, opened = connect(state, pacing=paced_by(clock))
    state.faults.append(Fault("*", "429", until=clock.now + 600.0, retry_after=1))
    failures = 0
    start = clock.now
    while clock.now - start < 660.0:
        try:
            opened.venue.account()
            break
        except RateLimitedError:
            failures += 1
            clock.sleep(1.0)  # the engine's next cycle
    assert not state.banned and state.violations == 0
    assert clock.now - start >= 600.0  # it did succeed, once the venue let it
    requests = state.count("GET", "/api/v3/account")
    assert requests < 40, "a tight loop: more than one request per 15 s of 429s"
    waits = [w for w in clock.sleeps if w > 1.0]
    assert len(set(waits)) > len(waits) // 2, "waits are jittered, not a fixed period"
    assert max(waits) > 4 * min(waits), "waits grow: exponential backoff"
    assert failures >= 1


def test_bf14_clock_skew_is_a_clock_problem_and_no_order_is_dropped(connect) -> None:
    """BF-14: a recvWindow refusal is ClockSkewError, the offset is measured again, and the
    working order is still tracked (never taken for "not found")."""
    state = state_for("normal")
    server, opened = connect(state)
    order = OrderRequest(
        client_order_id=CID,
        symbol=SYMBOL,
        side=Side.BUY,
        quantity=0.01,
        ts_init=10**18,
        order_type="limit",  # type: ignore[arg-type]
        limit_price=29_000.0,
    )
    opened.venue.submit(order, 0)
    state.skew_ms = -10_000  # the venue's clock jumps 10 s behind ours
    with pytest.raises(ClockSkewError, match="recvWindow"):
        opened.client.find(CID)
    assert state.count("GET", "/api/v3/time") >= 2  # measured at start and after the refusal
    found = opened.client.find(CID)
    assert found is not None and found.status is OrderStatus.ACCEPTED
    assert [s.client_order_id for s in opened.venue.open_orders()] == [CID]
    assert opened.client.unfinished == {CID}
    assert server.state.orders_of(CID)[0].status == "NEW"


def test_bf15_wrong_keys_fail_as_auth_without_retries(connect) -> None:
    """BF-15: -2015 is AuthFailedError; the read is not retried; a submit raises (trading halts)."""
    state = state_for("normal")
    _, opened = connect(state)
    state.api_key = "another-key"  # the key was revoked at the venue
    with pytest.raises(AuthFailedError, match="keys refused"):
        opened.venue.account()
    assert state.count("GET", "/api/v3/account") == 1
    with pytest.raises(AuthFailedError):
        opened.venue.submit(market_buy(), 0)
    assert state.count("POST") == 1 and state.orders == []


def test_se08_a_key_that_may_withdraw_is_refused_at_open() -> None:
    state = state_for("withdrawals-enabled")
    with BinanceServer(state) as server:
        with pytest.raises(KeyPermissionError, match="withdraw"):
            open_venue(settings_for(server.url), environ_for(state), symbols=(SYMBOL,))
        assert state.count("GET", "/sapi/v1/account/apiRestrictions") == 1
        assert state.count("POST") == 0


def test_missing_keys_are_refused_with_the_variables_to_set() -> None:
    state = state_for("normal")
    with BinanceServer(state) as server, pytest.raises(Exception, match="ALPHAGATE_BINANCE_SECRET"):
        open_venue(settings_for(server.url), {"ALPHAGATE_BINANCE_API_KEY": "k"})
    assert sum(state.requests.values()) == 0


def test_se03_sentinel_keys_never_reach_exceptions_or_logs(
    connect, caplog: pytest.LogCaptureFixture
) -> None:
    """SE-03: with ccxt's debug log on, no key, secret or signature in any message or log."""
    key, secret = "AKSENTINEL" + "K" * 30, "SKSENTINEL" + "S" * 30
    state = state_for("normal", api_key=key, secret=secret)
    caplog.set_level(logging.DEBUG)
    _, opened = connect(state)
    texts: list[str] = []
    state.faults.append(Fault(f"POST {ORDER}", "hang-after"))
    opened.venue.submit(market_buy(), 0)  # a timeout: ccxt's message holds the signed URL
    state.faults.append(Fault("GET /api/v3/account", "503", times=5))
    for call in (opened.venue.account, lambda: opened.client.find("ag" + "f" * 30)):
        try:
            call()
        except Exception as error:
            texts += [str(error), repr(error), repr(error.__cause__), repr(error.__context__)]
    state.api_key = "revoked"
    with pytest.raises(AuthFailedError) as refused:
        opened.venue.account()
    texts.append(str(refused.value))
    texts += [record.getMessage() for record in caplog.records]
    assert any("X-MBX-APIKEY" in t for t in texts), "ccxt's debug log was captured"
    for text in texts:
        assert "SENTINEL" not in text
        assert "signature=" not in text or "signature=<redacted>" in text


def test_a_balance_changed_outside_the_engine_is_what_the_account_reports(connect) -> None:
    """The venue is the source of truth: a manual trade or deposit shows at the next read."""
    state = state_for("normal")
    _, opened = connect(state)
    assert opened.venue.account().positions == {SYMBOL: pytest.approx(1.0)}
    state.set_balance("BTC", 0.25)
    state.set_balance("USDT", 1_234.5)
    account = opened.venue.account()
    assert account.positions == {SYMBOL: pytest.approx(0.25)}
    assert account.cash == pytest.approx(1_234.5)
