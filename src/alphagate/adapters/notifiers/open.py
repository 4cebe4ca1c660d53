"""Build the notifier the settings and the environment describe."""

from __future__ import annotations

import os
from collections.abc import Mapping

from alphagate.adapters.notifiers.desktop import DesktopNotifier
from alphagate.adapters.notifiers.http import TelegramNotifier, WebhookNotifier
from alphagate.adapters.notifiers.log import LogNotifier
from alphagate.adapters.notifiers.routing import Route, RoutedNotifier
from alphagate.config.notifications import NotificationsConfig
from alphagate.errors import ConfigError
from alphagate.ports import Notifier

WEBHOOK_URL_ENV = "ALPHAGATE_WEBHOOK_URL"
TELEGRAM_TOKEN_ENV = "ALPHAGATE_TELEGRAM_TOKEN"


def open_notifier(
    config: NotificationsConfig, environ: Mapping[str, str] | None = None
) -> RoutedNotifier:
    """The routed notifier for ``config``; a sink a route names but cannot build is an error.

    Raises
    ------
    ConfigError
        When a route names ``webhook`` without ``ALPHAGATE_WEBHOOK_URL`` set, or
        ``telegram`` without ``ALPHAGATE_TELEGRAM_TOKEN`` or a chat id, with
        what to set.
    """
    env = os.environ if environ is None else environ
    wanted = {name for route in config.routes for name in route.sinks}
    sinks: dict[str, Notifier] = {"log": LogNotifier()}
    if "webhook" in wanted:
        url = env.get(WEBHOOK_URL_ENV)
        if not url:
            raise ConfigError(
                f"notifications.routes send to 'webhook' but {WEBHOOK_URL_ENV} is not set: set it "
                "to the incoming-webhook URL (environment only: the URL is a credential)"
            )
        sinks["webhook"] = WebhookNotifier(url, config.webhook_format, config.timeout_seconds)
    if "telegram" in wanted:
        token = env.get(TELEGRAM_TOKEN_ENV)
        if not token or not config.telegram_chat_id:
            raise ConfigError(
                f"notifications.routes send to 'telegram': set {TELEGRAM_TOKEN_ENV} in the "
                "environment and notifications.telegram_chat_id in the config"
            )
        sinks["telegram"] = TelegramNotifier(
            config.telegram_base_url, token, config.telegram_chat_id, config.timeout_seconds
        )
    if "desktop" in wanted:
        sinks["desktop"] = DesktopNotifier(timeout=config.timeout_seconds)
    routes = [Route(tuple(r.subjects), r.min_severity, tuple(r.sinks)) for r in config.routes]
    return RoutedNotifier(
        routes,
        sinks,
        per_minute=config.rate_limit_per_minute,
        dedup_seconds=config.dedup_seconds,
    )
