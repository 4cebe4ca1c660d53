"""The HTTP sinks: a chat webhook (Slack or Discord JSON) and a Telegram-compatible bot API.

Both URLs are credentials (a webhook URL lets anyone post to the channel; a
bot URL holds its token), so neither ever appears in a log record or an
exception: a failed delivery is logged with the sink's name and the HTTP
status or the error's type only. A delivery that fails is given up, never
retried in a loop, and never raised: a notice must not stop trading.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Literal

log = logging.getLogger("alphagate.notify")

ICONS = {"info": "i", "warning": "!", "error": "!!"}


def post_json(sink: str, url: str, payload: dict[str, object], timeout: float) -> bool:
    """POST ``payload`` as JSON; True on a 2xx answer. Never raises, never logs the URL."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status: int = answer.status
            return 200 <= status < 300
    except urllib.error.HTTPError as error:
        log.warning("%s notice not delivered: HTTP %s", sink, error.code)
    except (urllib.error.URLError, OSError) as error:
        log.warning("%s notice not delivered: %s", sink, type(error).__name__)
    return False


def text_of(subject: str, body: str, severity: str) -> str:
    """The one-message text both chat sinks post."""
    return f"[{ICONS.get(severity, '!')} {severity}] {subject}\n{body}"


class WebhookNotifier:
    """POST each notice to a Slack- or Discord-compatible incoming webhook."""

    def __init__(
        self, url: str, style: Literal["slack", "discord"] = "slack", timeout: float = 5.0
    ) -> None:
        self._url, self._style, self._timeout = url, style, timeout

    def send(self, subject: str, body: str, severity: str) -> None:
        """Deliver one notice as ``{"text": ...}`` (Slack) or ``{"content": ...}`` (Discord)."""
        key = "text" if self._style == "slack" else "content"
        post_json("webhook", self._url, {key: text_of(subject, body, severity)}, self._timeout)

    def __repr__(self) -> str:
        return f"WebhookNotifier(style={self._style!r})"  # never the URL


class TelegramNotifier:
    """Post each notice through a Telegram-compatible bot API's ``sendMessage``."""

    def __init__(self, base_url: str, token: str, chat_id: str, timeout: float = 5.0) -> None:
        self._url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"
        self._chat_id, self._timeout = chat_id, timeout

    def send(self, subject: str, body: str, severity: str) -> None:
        """Deliver one notice to the configured chat."""
        payload: dict[str, object] = {
            "chat_id": self._chat_id,
            "text": text_of(subject, body, severity),
            "disable_web_page_preview": True,
        }
        post_json("telegram", self._url, payload, self._timeout)

    def __repr__(self) -> str:
        return f"TelegramNotifier(chat_id={self._chat_id!r})"  # never the token
