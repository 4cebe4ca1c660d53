"""The chat-completions client: the request it sends, and errors that say what to fix."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from alphagate.app.drafts import chat_client
from alphagate.config import Settings
from alphagate.drafts.llm_client import ChatCompletionsClient, ChatMessage, LlmError
from alphagate.errors import ConfigError


@pytest.fixture
def server() -> Iterator[tuple[str, list[Any]]]:
    """Answers 401 without the right key, else echoes the last message's text back."""
    seen: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, self.headers.get("Authorization"), body))
            if self.headers.get("Authorization") != "Bearer right":
                self.send_response(401)
                self.end_headers()
                self.wfile.write(b'{"error": "bad key"}')
                return
            text = body["messages"][-1]["content"].upper()
            payload = json.dumps({"choices": [{"message": {"content": text}}]}).encode()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1/", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_conversation_is_posted_and_the_first_choice_returned(
    server: tuple[str, list[Any]],
) -> None:
    url, seen = server
    client = ChatCompletionsClient(url, "m1", 5.0, temperature=0.0, api_key="right")

    answer = client.complete([ChatMessage("system", "be brief"), ChatMessage("user", "hi")])

    assert answer == "HI"
    path, authorization, body = seen[0]
    assert path == "/v1/chat/completions" and authorization == "Bearer right"
    assert body == {
        "model": "m1",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "temperature": 0.0,
    }


def test_a_refused_key_names_the_status_and_the_variable(server: tuple[str, list[Any]]) -> None:
    client = ChatCompletionsClient(server[0], "m1", 5.0, api_key="wrong")

    with pytest.raises(LlmError, match=r"HTTP 401 \(check ALPHAGATE_LLM_API_KEY\).*bad key"):
        client.complete([ChatMessage("user", "hi")])


def test_an_unreachable_server_names_the_setting() -> None:
    client = ChatCompletionsClient("http://127.0.0.1:9/v1", "m1", 2.0)

    with pytest.raises(LlmError, match=r"cannot reach the model.*llm\.base_url"):
        client.complete([ChatMessage("user", "hi")])


def test_nothing_is_called_until_a_base_url_and_a_model_are_set() -> None:
    with pytest.raises(ConfigError, match=r"llm\.base_url is not set"):
        chat_client(Settings())
    configured = Settings.model_validate({"llm": {"base_url": "http://127.0.0.1:1/v1"}})
    with pytest.raises(ConfigError, match=r"--model NAME or set llm\.model"):
        chat_client(configured)
    assert chat_client(configured, "m2").model == "m2"
