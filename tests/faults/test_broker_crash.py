"""Broker crash tests: the engine killed with ``kill -9`` while Alpaca (its local server) goes on.

The server runs in its own process (``tests/servers/alpaca_server.py``), as
the broker does: it keeps its orders, fills and positions while the engine
is dead, and a test drives it through its ``/_test/*`` routes. The engine is
``alphagate.testing.broker_session``: ``alphagate live``'s engine around a
strategy that opens a bracket every third bar. The oracle is the server's
own state (orders, POST counts, positions), never the engine's report alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alphagate.testing.crash import attempt, child_environment
from servers.alpaca_server import KEY_ID, SECRET_KEY

SERVER = Path(__file__).parents[1] / "servers" / "alpaca_server.py"
POST = "POST /v2/orders"


class Broker:
    """The server process and its control routes."""

    def __init__(self, url: str) -> None:
        self.url = url

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_test/state", timeout=10) as answer:
            state: dict[str, Any] = json.load(answer)
        return state

    def post(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}/_test/{route}", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as answer:
            result: dict[str, Any] = json.load(answer)
        return result

    def brackets(self) -> list[dict[str, Any]]:
        orders = self.state()["orders"]
        return [o for o in orders if o["order_class"] == "bracket" and o["parent"] is None]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    port_file = tmp_path / "port"
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--scenario", "silent_bars", "--port-file", str(port_file)],
        env=child_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Alpaca server did not start: {process.stderr}")
        time.sleep(0.05)
    try:
        yield Broker(f"http://127.0.0.1:{port_file.read_text()}")
    finally:
        process.kill()
        process.wait(10)


def engine(broker: Broker, session: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "alphagate.testing.broker_session", "--url", broker.url,
        "--session", str(session), "--symbols", "AAPL", "--params", "every=3", *args,
    ]  # fmt: skip


ENV = {"APCA_API_KEY_ID": KEY_ID, "APCA_API_SECRET_KEY": SECRET_KEY}


def run(broker: Broker, session: Path, *args: str, crash_at: str | None = None) -> Any:
    done = attempt(
        engine(broker, session, *args), crash_at, env=child_environment(ENV), timeout=120
    )
    if crash_at is not None:
        assert done.killed, done.stderr[-3000:]
        return None
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def release(broker: Broker, sessions: int) -> None:
    broker.post("release", {"sessions": sessions})


def test_bf13_a_stop_that_fills_while_the_engine_is_down_is_adopted_once(
    broker: Broker, tmp_path: Path
) -> None:
    session = tmp_path / "s"
    run(broker, session, "--max-cycles", "0")  # pins the start: trade what closes from now on
    release(broker, 4)
    run(broker, session, "--max-cycles", "4", crash_at="close-journaled:4")  # dies holding it
    (entry,) = broker.brackets()
    assert entry["status"] == "filled"
    stop = next(leg for leg in entry["legs"] if leg["type"] == "stop")
    assert stop["status"] == "new"  # the broker's stop protects the position while we are down
    broker.post("fill", {"parent_client_order_id": entry["client_order_id"], "leg": "stop",
                         "price": 95.0})  # fmt: skip
    posts = broker.state()["counts"][POST]

    after = run(broker, session, "--max-cycles", "0")
    assert after["positions"] == {} and after["broker_positions"] == {}
    legs = {o["status"] for cid, o in after["orders"].items() if o["parent_id"]}
    assert legs == {"filled", "canceled"}  # the stop FILLED once, the target canceled
    assert broker.state()["counts"][POST] == posts  # no exit of our own: nothing was sent
    sells = [o for o in broker.state()["orders"] if o["side"] == "sell" and o["parent"] is None]
    assert sells == []


@pytest.mark.parametrize("crash_at", ["command-journaled:1", "command-sent:1"])
def test_cr04_killed_between_entry_and_stop_the_position_has_the_brokers_stop_after_restart(
    broker: Broker, tmp_path: Path, crash_at: str
) -> None:
    session = tmp_path / "s"
    run(broker, session, "--max-cycles", "0")
    release(broker, 3)
    run(broker, session, "--max-cycles", "3", crash_at=crash_at)
    run(broker, session, "--max-cycles", "0")  # the restart: the bracket found, or sent again
    # the next reconcile (here: the next start's) folds in the fill the stream reported after
    after = run(broker, session, "--max-cycles", "0")
    (entry,) = broker.brackets()  # one bracket, whether it was sent before the kill or after
    assert broker.state()["counts"][POST] == 1
    stop = next(leg for leg in entry["legs"] if leg["type"] == "stop")
    held = broker.state()["positions"]["AAPL"]
    assert held > 0 and stop["status"] == "new" and float(stop["qty"]) == held
    assert after["positions"] == {"AAPL": held}
    stop_cid = next(
        cid for cid, o in after["orders"].items() if o["parent_id"] and o["side"] == "sell"
        and o["status"] == "accepted"
    )  # fmt: skip
    assert stop_cid  # the engine tracks the broker's stop under its own id


@pytest.mark.parametrize("policy", ["ignore", "cancel"])
def test_cr08_an_external_order_is_imported_tagged_and_never_blocks_our_orders(
    broker: Broker, tmp_path: Path, policy: str
) -> None:
    session = tmp_path / "s"
    run(broker, session, "--max-cycles", "0")
    manual = broker.post("external_order", {"symbol": "AAPL", "qty": 3, "limit_price": 50.0})
    release(broker, 3)
    done = run(broker, session, "--max-cycles", "3", "--external-orders", policy)
    assert done["external"] == [manual["client_order_id"]]
    assert manual["client_order_id"] not in done["orders"]  # tagged, never the kernel's
    state = broker.state()
    held = next(o for o in state["orders"] if o["client_order_id"] == manual["client_order_id"])
    assert held["status"] == ("canceled" if policy == "cancel" else "new")
    assert state["counts"].get("DELETE /v2/orders/{order_id}", 0) == (policy == "cancel")
    (entry,) = broker.brackets()  # our own AAPL bracket went out beside it
    assert entry["symbol"] == "AAPL" and state["counts"][POST] == 1


@pytest.mark.parametrize("learned_fill", [True, False])
def test_cr07_history_forgotten_the_engine_trusts_only_a_position_it_can_explain(
    broker: Broker, tmp_path: Path, learned_fill: bool
) -> None:
    session = tmp_path / "s"
    run(broker, session, "--max-cycles", "0")
    release(broker, 4)
    run(broker, session, "--max-cycles", "4", crash_at="close-journaled:4")  # fill not yet folded
    if learned_fill:
        run(broker, session, "--max-cycles", "0")  # a start that adopted the fill from the broker
    broker.post("forget_history", {})  # the entry's fills are now older than the broker's history
    posts = broker.state()["counts"][POST]
    if learned_fill:
        same = run(broker, session, "--max-cycles", "0")
        assert same["positions"] == same["broker_positions"] == {"AAPL": 10.0}
        broker.post("position", {"symbol": "AAPL", "qty": 7})  # changed where no history says why
    refused = attempt(engine(broker, session, "--max-cycles", "0"), env=child_environment(ENV))
    assert refused.returncode == 2  # fail closed: never trade on a quantity that does not match
    venue = 7 if learned_fill else 10
    assert f"engine {10 if learned_fill else 0}, venue {venue}" in refused.stderr
    assert broker.state()["counts"][POST] == posts  # and nothing was sent
