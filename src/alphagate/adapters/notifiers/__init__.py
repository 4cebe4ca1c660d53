"""The :class:`~alphagate.ports.Notifier` sinks and the router that feeds them.

``log`` (always available), ``webhook`` (Slack- or Discord-compatible JSON),
``telegram`` (a Telegram-compatible bot API) and ``desktop`` (``notify-send``
where present); :class:`~alphagate.adapters.notifiers.routing.RoutedNotifier`
sends each notice to the sinks its routes name, at most ``rate_limit`` a
minute per sink and never the same notice twice within the de-duplication
window. :func:`~alphagate.adapters.notifiers.open.open_notifier` builds the
whole thing from settings and the environment.
"""
