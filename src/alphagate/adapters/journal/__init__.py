"""The journals behind :class:`alphagate.ports.Journal`: SQLite (the default), Redis, or both.

The live runner appends every decision, intent, submission, acknowledgement,
fill and risk event here before acting on it, and recovers by loading the
latest snapshot and replaying what follows. :func:`open_journal` builds one
from the configured URL; every journal stores records in the one canonical
encoding of :mod:`~alphagate.adapters.journal.encoding`, so equal runs write
equal bytes (RELIABILITY I5).
"""

from __future__ import annotations

from alphagate.adapters.journal.encoding import decode_record, encode_record
from alphagate.adapters.journal.errors import (
    JournalClosedError,
    JournalEncodingError,
    JournalError,
    JournalLockedError,
    JournalUnavailable,
)
from alphagate.adapters.journal.mirrored import MirroredJournal, MirrorListener
from alphagate.adapters.journal.open import open_journal
from alphagate.adapters.journal.redis import RedisJournal, mask_url
from alphagate.adapters.journal.sqlite import SqliteJournal

__all__ = [
    "JournalClosedError",
    "JournalEncodingError",
    "JournalError",
    "JournalLockedError",
    "JournalUnavailable",
    "MirrorListener",
    "MirroredJournal",
    "RedisJournal",
    "SqliteJournal",
    "decode_record",
    "encode_record",
    "mask_url",
    "open_journal",
]
