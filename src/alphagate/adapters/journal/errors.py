"""What can go wrong with a journal, as errors a user can act on.

Each message names the store (the file, or the Redis URL with its password
masked) and says what to do, because a journal failure stops trading and
the person reading it is an operator at the console, not a developer.
"""

from __future__ import annotations

from alphagate.errors import AlphagateError


class JournalError(AlphagateError):
    """A journal could not be opened, read or written."""


class JournalEncodingError(JournalError, ValueError):
    """A record holds a value the canonical JSON encoding refuses (NaN, a datetime...)."""


class JournalLockedError(JournalError):
    """Another live process is the journal's writer; a journal has one writer at a time."""


class JournalClosedError(JournalError):
    """The journal was closed; nothing may be appended after closing."""


class JournalUnavailable(JournalError):  # noqa: N818 - the name the live runner and health registry use
    """The journal's server cannot be reached (connection refused, timed out, auth failed)."""
