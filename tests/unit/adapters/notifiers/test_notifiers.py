"""The notifier sinks against a real HTTP server on loopback, and the router's limits."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from alphagate.adapters.notifiers.desktop import DesktopNotifier
from alphagate.adapters.notifiers.http import TelegramNotifier, WebhookNotifier
from alphagate.adapters.notifiers.open import open_notifier
from alphagate.adapters.notifiers.routing import Route, RoutedNotifier
from alphagate.config.notifications import NotificationsConfig, RouteConfig
from alphagate.errors import ConfigError

SENTINEL_TOKEN = "123456:AKSENTINELTOKENxyz"


class Inbox:
    """What the local server received: (path, JSON body) pairs; answers ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, object]]] = []
        self.status = 200


@pytest.fixture
def server() -> Iterator[tuple[str, Inbox]]:
    inbox = Inbox()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            inbox.received.append((self.path, json.loads(self.rfile.read(length))))
            self.send_response(inbox.status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", inbox
    httpd.shutdown()
    httpd.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_webhook_posts_slack_and_discord_json(server: tuple[str, Inbox]) -> None:
    url, inbox = server
    WebhookNotifier(f"{url}/hook", "slack").send("kill switch", "tripped by ops", "error")
    WebhookNotifier(f"{url}/hook", "discord").send("candidate r1", "stress_passed", "info")
    (path1, slack), (_, discord) = inbox.received
    assert path1 == "/hook"
    assert "kill switch" in str(slack["text"]) and "tripped by ops" in str(slack["text"])
    assert set(discord) == {"content"} and "stress_passed" in str(discord["content"])


def test_the_telegram_sink_calls_send_message_for_its_chat(server: tuple[str, Inbox]) -> None:
    url, inbox = server
    TelegramNotifier(url, SENTINEL_TOKEN, "-1001").send("feed", "stale for 120 s", "warning")
    ((path, body),) = inbox.received
    assert path == f"/bot{SENTINEL_TOKEN}/sendMessage"
    assert body["chat_id"] == "-1001" and "stale for 120 s" in str(body["text"])


def test_a_failed_delivery_is_logged_without_the_secret_url_and_never_raised(
    server: tuple[str, Inbox], caplog: pytest.LogCaptureFixture
) -> None:
    url, inbox = server
    inbox.status = 500
    caplog.set_level(logging.DEBUG)
    TelegramNotifier(url, SENTINEL_TOKEN, "1").send("s", "b", "error")
    TelegramNotifier("http://127.0.0.1:9", SENTINEL_TOKEN, "1").send("s", "b", "error")
    text = caplog.text + repr(TelegramNotifier(url, SENTINEL_TOKEN, "1"))
    assert "HTTP 500" in caplog.text
    assert "AKSENTINEL" not in text and url not in caplog.text


def test_a_burst_of_identical_notices_is_delivered_once_then_counted(
    server: tuple[str, Inbox],
) -> None:
    url, inbox = server
    clock = Clock()
    notifier = RoutedNotifier(
        [Route(("*",), "info", ("webhook",))],
        {"webhook": WebhookNotifier(url)},
        per_minute=20,
        dedup_seconds=300.0,
        clock=clock,
    )
    for _ in range(50):
        notifier.send("reconciliation", "AAPL: engine 10, venue 0", "warning")
    assert len(inbox.received) == 1
    clock.now += 301.0
    notifier.send("reconciliation", "AAPL: engine 10, venue 0", "warning")
    assert len(inbox.received) == 2
    assert "49 earlier notices held back" in str(inbox.received[1][1]["text"])


def test_the_rate_limit_caps_each_sink_per_minute(server: tuple[str, Inbox]) -> None:
    url, inbox = server
    clock = Clock()
    notifier = RoutedNotifier(
        [Route(("*",), "info", ("webhook",))],
        {"webhook": WebhookNotifier(url)},
        per_minute=5,
        dedup_seconds=0.0,
        clock=clock,
    )
    for i in range(30):
        notifier.send("reject", f"order {i} rejected", "warning")
        clock.now += 1.0
    assert len(inbox.received) == 5
    clock.now += 60.0
    notifier.send("reject", "order 30 rejected", "warning")
    assert "25 earlier notices held back" in str(inbox.received[-1][1]["text"])


def test_routes_match_subject_patterns_and_severity() -> None:
    got: dict[str, list[str]] = {"ops": [], "all": []}

    class Sink:
        def __init__(self, name: str) -> None:
            self.name = name

        def send(self, subject: str, body: str, severity: str) -> None:
            got[self.name].append(subject)

    notifier = RoutedNotifier(
        [
            Route(("kill switch*", "reconciliation"), "warning", ("ops",)),
            Route(("*",), "info", ("all", "ops")),
        ],
        {"ops": Sink("ops"), "all": Sink("all")},
        dedup_seconds=0.0,
    )
    notifier.send("kill switch tripped", "x", "error")
    notifier.send("candidate r1", "y", "info")
    assert got == {
        "ops": ["kill switch tripped", "candidate r1"],
        "all": ["kill switch tripped", "candidate r1"],
    }
    only_ops = RoutedNotifier([Route(("kill*",), "error", ("ops",))], {"ops": Sink("ops")})
    only_ops.send("kill switch", "z", "warning")
    assert got["ops"] == ["kill switch tripped", "candidate r1"]
    with pytest.raises(ValueError, match="telegram"):
        RoutedNotifier([Route(("*",), "info", ("telegram",))], {"ops": Sink("ops")})


def test_the_desktop_sink_runs_notify_send_with_the_severity_as_urgency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "args.txt"
    script = tmp_path / "notify-send"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    DesktopNotifier().send("kill switch", "tripped", "error")
    assert record.read_text().splitlines() == [
        "--urgency", "critical", "--app-name", "alphagate", "kill switch", "tripped",
    ]  # fmt: skip
    assert not DesktopNotifier(program="no-such-notifier-here").available


def test_open_notifier_names_the_missing_variable() -> None:
    config = NotificationsConfig(routes=[RouteConfig(sinks=["log", "webhook"])])
    with pytest.raises(ConfigError, match="ALPHAGATE_WEBHOOK_URL"):
        open_notifier(config, environ={})
    telegram = NotificationsConfig(routes=[RouteConfig(sinks=["telegram"])])
    with pytest.raises(ConfigError, match="ALPHAGATE_TELEGRAM_TOKEN"):
        open_notifier(telegram, environ={"ALPHAGATE_TELEGRAM_TOKEN": SENTINEL_TOKEN})


def test_open_notifier_builds_the_configured_webhook(server: tuple[str, Inbox]) -> None:
    url, inbox = server
    config = NotificationsConfig(routes=[RouteConfig(sinks=["log", "webhook"])])
    open_notifier(config, environ={"ALPHAGATE_WEBHOOK_URL": f"{url}/h"}).send("a", "b", "info")
    assert [path for path, _ in inbox.received] == ["/h"]
