"""Writing one text file so that a reader sees the old file or the new one, never half.

Reports, manifests and summaries are opened by people and by other stages
while a run may still be writing them; a half-written page would be read as
a finished one. The text goes to a uniquely named temporary file beside the
target, is flushed to disk, and is renamed over the target (atomic on one
filesystem); if anything fails the temporary file is removed.

A rename is atomic but not yet durable: the directory that records it must be
flushed too. :func:`fsync_directory` is that step, shared by every writer
that renames files into place (the bar store, the pipeline's stages and
manifests), so each of them flushes a directory the same way.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` all at once; return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("x", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def fsync_directory(directory: Path) -> None:
    """Make a directory's entries (a new file, a rename) survive a power loss.

    Raises
    ------
    OSError
        When the directory cannot be opened or flushed (on a platform that
        cannot open directories, too): a writer that promised durability
        must not report success without it.
    """
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
