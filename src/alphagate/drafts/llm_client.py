"""An OpenAI-compatible chat-completions client: one POST per answer, the standard library only.

``POST {base_url}/chat/completions`` with ``{"model", "messages",
"temperature"}`` and the answer's ``choices[0].message.content`` is the one
shape llama.cpp's server, vLLM, Ollama (``/v1``) and hosted APIs share, so
one small client reaches them all; no SDK is needed for one request shape.
The key, when there is one, goes in ``Authorization: Bearer``; a local
server needs none.

Requests are not retried: a draft is one user's command, and a failed call
says what failed (unreachable, HTTP status with the server's words, an
answer of the wrong shape) so the user can fix the configuration.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from alphagate.errors import AlphagateError

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    """One message of a conversation."""

    role: Role
    content: str


class ChatModel(Protocol):
    """Anything that answers a conversation with text (the client, or a test's script)."""

    def complete(self, messages: Sequence[ChatMessage]) -> str:
        """The model's answer to ``messages``."""
        ...


class LlmError(AlphagateError):
    """The language model could not be reached, refused, or answered in another shape."""


@dataclass(frozen=True)
class ChatCompletionsClient:
    """The client for one endpoint and model; ``api_key`` is ``None`` for a local server."""

    base_url: str
    model: str
    timeout_seconds: float
    temperature: float = 0.0
    api_key: str | None = None

    def complete(self, messages: Sequence[ChatMessage]) -> str:
        """Send ``messages``; return the first choice's text.

        Raises
        ------
        LlmError
            When the server cannot be reached, answers with an HTTP error
            (its status and the start of its body are in the message), or its
            answer has no ``choices[0].message.content``.
        """
        url = f"{self.base_url.rstrip('/')}/chat/completions"
        body = json.dumps(
            {
                "model": self.model,
                "messages": [{"role": m.role, "content": m.content} for m in messages],
                "temperature": self.temperature,
            }
        ).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as answer:
                payload = answer.read()
        except urllib.error.HTTPError as error:
            detail = error.read(500).decode(errors="replace").strip()
            hint = " (check ALPHAGATE_LLM_API_KEY)" if error.code in (401, 403) else ""
            raise LlmError(
                f"the model at {url} answered HTTP {error.code}{hint}: {detail or error.reason}"
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise LlmError(
                f"cannot reach the model at {url}: {reason}; check llm.base_url and that the "
                f"server is running (llm.timeout_seconds={self.timeout_seconds:g})"
            ) from None
        return _content(url, payload)


def _content(url: str, payload: bytes) -> str:
    try:
        document: Any = json.loads(payload)
        content = document["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise LlmError(
            f"the answer from {url} is not a chat completion (no choices[0].message.content): "
            f"{payload[:200].decode(errors='replace')!r}"
        ) from None
    if not isinstance(content, str) or not content.strip():
        raise LlmError(f"the model at {url} answered with no text")
    return content
