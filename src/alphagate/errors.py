"""The exceptions a user of alphagate can see.

Every error carries enough context to act on without a traceback: the file,
the row, the rule or the dotted config key. The CLI prints ``str(error)`` and
exits non-zero; nothing else is needed to understand what went wrong.
"""

from __future__ import annotations

from typing import TypeVar

_Error = TypeVar("_Error", bound=BaseException)


class AlphagateError(Exception):
    """Base class for errors that are the user's to fix (input, config, state)."""


class ConfigError(AlphagateError):
    """A configuration file or environment variable is invalid."""


class DataError(AlphagateError):
    """Market data could not be read, validated or stored."""


class StoreConflictError(DataError):
    """An ingest would overwrite stored bars with different values."""


def caused_by(error: _Error, cause: BaseException) -> _Error:
    """Return ``error`` with ``cause`` set as its ``__cause__``, for ``raise ... from cause``.

    CPython's ``raise error from cause`` sets it, but code compiled by mypyc
    (the engine's hot modules, :mod:`alphagate.native_core`) drops it, and the
    cause is what carries, say, a failing strategy's own traceback. Compiled
    modules therefore write ``raise caused_by(error, exc) from exc``.
    """
    error.__cause__ = cause
    return error
