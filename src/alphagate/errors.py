"""The exceptions a user of alphagate can see.

Every error carries enough context to act on without a traceback: the file,
the row, the rule or the dotted config key. The CLI prints ``str(error)`` and
exits non-zero; nothing else is needed to understand what went wrong.
"""

from __future__ import annotations


class AlphagateError(Exception):
    """Base class for errors that are the user's to fix (input, config, state)."""


class ConfigError(AlphagateError):
    """A configuration file or environment variable is invalid."""


class DataError(AlphagateError):
    """Market data could not be read, validated or stored."""


class StoreConflictError(DataError):
    """An ingest would overwrite stored bars with different values."""
