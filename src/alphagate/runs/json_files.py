"""Reading and writing a run's JSON files: whole or not at all, and the same bytes each time.

Manifests, evaluations and calibrators are read by later stages, by the
backtest of a run and by people diffing two runs. So every file is written
indented with sorted keys (two runs' files diff line by line) and atomically
(``alphagate.atomic``: a temporary file beside the target, fsynced, renamed
over it), so a reader, or a run resumed after a crash, sees the old file or
the new one and never half of one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alphagate.atomic import write_text_atomically
from alphagate.errors import AlphagateError


def write_json(path: Path, payload: object, *, allow_nan: bool = False) -> Path:
    """Write ``payload`` to ``path`` atomically; return ``path``.

    NaN is not JSON; it is refused unless ``allow_nan``, which only records
    made elsewhere (a search's scores in a training manifest) should need.
    The text is built before anything touches the disk, so a payload that
    cannot be written (NaN, an object JSON does not know) leaves the old file,
    or no file, exactly as it was.
    """
    text = json.dumps(payload, indent=2, sort_keys=True, allow_nan=allow_nan) + "\n"
    return write_text_atomically(path, text)


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``.

    Raises
    ------
    AlphagateError
        When the file is missing, is not JSON, or holds something other than
        an object, naming the file.
    """
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AlphagateError(f"{path} is missing") from None
    except (OSError, ValueError) as error:
        raise AlphagateError(f"{path} cannot be read as JSON: {error}") from None
    if not isinstance(loaded, dict):
        raise AlphagateError(f"{path}: expected a JSON object, found {type(loaded).__name__}")
    return loaded


def read_json_or_none(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or ``None`` when there is none to read.

    For files whose absence (or damage) means "not there yet", such as a stage
    that did not finish: the caller decides what that means, nothing raises.
    """
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None
