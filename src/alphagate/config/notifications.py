"""Who hears about what: notification routes, their sinks, rate limits and de-duplication.

The sinks' secrets (a webhook URL is a credential: anyone holding it can
post to the channel; a Telegram bot token) come from the environment only:
``ALPHAGATE_WEBHOOK_URL`` and ``ALPHAGATE_TELEGRAM_TOKEN``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from alphagate.config.base import Section

Severity = Literal["info", "warning", "error"]
SinkName = Literal["log", "webhook", "telegram", "desktop"]


def _log_only() -> list[SinkName]:
    return ["log"]


class RouteConfig(Section):
    """One route: notices whose subject matches and whose severity is high enough, to sinks."""

    subjects: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Shell-style patterns on the notice's subject, e.g. 'candidate *', "
        "'kill switch*'.",
    )
    min_severity: Severity = Field("info", description="The least severity routed.")
    sinks: list[SinkName] = Field(
        default_factory=_log_only, description="Where matching notices go."
    )


class NotificationsConfig(Section):
    """Notification routing for the gates, the paper and live engines and the monitor."""

    routes: list[RouteConfig] = Field(
        default_factory=lambda: [RouteConfig()],
        description="Every route a notice matches delivers it (each sink at most once).",
    )
    rate_limit_per_minute: int = Field(
        20,
        ge=1,
        description="At most this many notices per sink per minute; the rest are "
        "counted and the count rides on the next notice delivered.",
    )
    dedup_seconds: float = Field(
        300.0,
        ge=0.0,
        description="An identical notice (subject, body, severity) within this "
        "many seconds of the last delivered one is dropped and counted.",
    )
    webhook_format: Literal["slack", "discord"] = Field(
        "slack", description="The JSON the webhook gets: Slack's {'text'} or Discord's {'content'}."
    )
    telegram_base_url: str = Field(
        "https://api.telegram.org",
        description="Base URL of a Telegram-compatible bot API (the token comes from "
        "ALPHAGATE_TELEGRAM_TOKEN).",
    )
    telegram_chat_id: str | None = Field(None, description="The chat the bot posts to.")
    timeout_seconds: float = Field(
        5.0, gt=0.0, description="How long one delivery may take before it is given up."
    )
