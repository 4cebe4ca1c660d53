"""A journal held in memory: the ``ports.Journal`` contract without a file, for tests.

Records are stored as their canonical JSON text and decoded on replay, as a
durable journal stores them, so a value that would not survive the real
journal (a NaN, a Timestamp, a tuple that comes back a list) fails or
changes here too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any


def _encode(record: Mapping[str, object]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=False)


class MemoryJournal:
    """Append-only records and snapshots in lists; see the module docstring."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, str]] = []
        self._snapshots: list[tuple[int, str]] = []
        self._closed = False

    def append(self, kind: str, record: Mapping[str, object]) -> int:
        """Store one record; return its sequence number (1, 2, ...)."""
        if self._closed:
            raise RuntimeError("append to a closed journal")
        self.rows.append((len(self.rows) + 1, kind, _encode(record)))
        return len(self.rows)

    def append_many(self, records: Sequence[tuple[str, Mapping[str, object]]]) -> int:
        """Store the records in order; return the last one's sequence number."""
        for kind, record in records:
            self.append(kind, record)
        return len(self.rows)

    def replay(self, after: int = 0) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
        """Every record after ``after``, decoded."""
        for seq, kind, text in self.rows[after:]:
            yield seq, kind, json.loads(text)

    def snapshot(self, seq: int, state: Mapping[str, object]) -> None:
        """Keep a snapshot as of record ``seq``."""
        self._snapshots.append((seq, _encode(state)))

    def latest_snapshot(self) -> tuple[int, Mapping[str, Any]] | None:
        """The last snapshot kept, or ``None``."""
        if not self._snapshots:
            return None
        seq, text = self._snapshots[-1]
        return seq, json.loads(text)

    def close(self) -> None:
        """Refuse further appends."""
        self._closed = True
