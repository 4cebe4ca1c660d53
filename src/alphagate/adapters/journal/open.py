"""Build a journal from one URL, so the configuration names a journal with a single string.

* ``sqlite:///journal.db`` (relative) or ``sqlite:////var/alphagate/journal.db``
  (absolute), as SQLAlchemy spells them;
* ``redis://[:password@]host:port/db?stream=KEY`` (also ``rediss://``,
  ``unix://``); the stream key defaults to ``alphagate:journal``;
* ``sqlite:///journal.db?mirror=redis://host:port/0`` for SQLite mirrored to
  Redis. Percent-encode a mirror URL that has its own ``?`` or ``&``
  (``mirror=redis%3A%2F%2Fhost%2F0%3Fstream%3Dpaper``).

A Redis password belongs in the environment, not in a config file: pass
``password`` and it is set on the connection without ever appearing in a URL
or a message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from alphagate.adapters.journal.errors import JournalError
from alphagate.adapters.journal.mirrored import MirroredJournal, MirrorListener
from alphagate.adapters.journal.redis import RedisJournal, mask_url
from alphagate.adapters.journal.sqlite import SqliteJournal

DEFAULT_STREAM: Final = "alphagate:journal"
_REDIS_SCHEMES: Final = ("redis", "rediss", "unix")
_EXAMPLES: Final = (
    "sqlite:///journal.db, redis://127.0.0.1:6379/0?stream=alphagate:journal, "
    "or sqlite:///journal.db?mirror=redis://127.0.0.1:6379/0"
)


def open_journal(
    url: str,
    *,
    password: str | None = None,
    on_mirror_change: MirrorListener | None = None,
    clock: Callable[[], float] | None = None,
) -> SqliteJournal | RedisJournal | MirroredJournal:
    """Open the journal ``url`` names (see the module docstring for the forms).

    Raises
    ------
    JournalError
        The URL's scheme or options are not understood (the message lists the
        accepted forms), or the journal cannot be opened.
    """
    scheme, _, rest = url.partition("://")
    if not rest:
        raise JournalError(f"{mask_url(url)!r} is not a journal URL; use {_EXAMPLES}")
    if scheme == "sqlite":
        return _open_sqlite(url, rest, password, on_mirror_change, clock)
    if scheme in _REDIS_SCHEMES:
        return _open_redis(url, password, verify=True)
    raise JournalError(
        f"the journal URL {mask_url(url)!r} has the scheme {scheme!r}; use {_EXAMPLES}"
    )


def _open_sqlite(
    url: str,
    rest: str,
    password: str | None,
    on_mirror_change: MirrorListener | None,
    clock: Callable[[], float] | None,
) -> SqliteJournal | MirroredJournal:
    location, _, query = rest.partition("?")
    if not location.startswith("/") or location == "/":
        raise JournalError(
            f"the journal URL {mask_url(url)!r} names no file: write sqlite:///relative.db "
            "or sqlite:////absolute/path.db"
        )
    options = dict(parse_qsl(query, keep_blank_values=True))
    mirror_url = options.pop("mirror", None)
    if options:
        raise JournalError(
            f"the journal URL {mask_url(url)!r} has unknown options {sorted(options)}; "
            "a SQLite journal takes only mirror=<redis URL>"
        )
    primary = SqliteJournal(location[1:])
    if mirror_url is None:
        return primary
    try:
        mirror = _open_redis(mirror_url, password, verify=False)
        return MirroredJournal(
            primary, mirror, on_change=on_mirror_change, clock=clock or time.monotonic
        )
    except BaseException:
        primary.close()
        raise


def _open_redis(url: str, password: str | None, *, verify: bool) -> RedisJournal:
    if url.partition("://")[0] not in _REDIS_SCHEMES:
        raise JournalError(
            f"the journal mirror {mask_url(url)!r} is not a Redis URL; use {_EXAMPLES}"
        )
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    stream = next((value for key, value in pairs if key == "stream"), DEFAULT_STREAM)
    query = urlencode([(key, value) for key, value in pairs if key != "stream"])
    netloc = parts.netloc
    if password is not None:
        host = netloc.rpartition("@")[2]
        user = parts.username or ""
        netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    plain = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return RedisJournal(plain, stream, verify=verify)
