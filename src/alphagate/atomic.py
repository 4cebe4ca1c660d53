"""Writing one text file so that a reader sees the old file or the new one, never half.

Reports, manifests and summaries are opened by people and by other stages
while a run may still be writing them; a half-written page would be read as
a finished one. The text goes to a uniquely named temporary file beside the
target, is flushed to disk, and is renamed over the target (atomic on one
filesystem); if anything fails the temporary file is removed.
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
