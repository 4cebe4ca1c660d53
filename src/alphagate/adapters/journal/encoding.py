"""The canonical encoding of journal records: one function, used by every journal.

Two runs fed the same events must write byte-identical journals
(RELIABILITY I5), whatever store holds them. That needs one spelling per
value: keys sorted, no whitespace, UTF-8 text rather than ``\\u`` escapes,
and floats as Python's shortest repr, which reads back to the same bits.

Values JSON cannot hold are refused here, naming the field, rather than
coerced: ``json.dumps`` would turn an ``int`` key into a string, write
``NaN`` (not JSON at all), or fail on a datetime without saying where it
sits. A record that reads back different from what was written would make
a replayed decision differ from the original one. (A tuple is the one
exception: it is written as an array and reads back as a list.)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

from alphagate.adapters.journal.errors import JournalEncodingError


def encode_record(record: Mapping[str, object]) -> str:
    """Return the canonical JSON text of ``record``.

    Raises
    ------
    JournalEncodingError
        A value is not JSON (a datetime, a set, bytes, a numpy array...), a
        float is NaN or infinite, a key is not a string, or a string is not
        valid Unicode; the message names the field.
    """
    if not isinstance(record, Mapping):
        raise JournalEncodingError(
            f"a journal record must be a mapping of field names to values, not {_type_name(record)}"
        )
    plain = record if isinstance(record, dict) else dict(record)
    _check(plain, "")
    text = json.dumps(
        plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JournalEncodingError(
            f"journal record field {_where(_find_bad_text(plain, ''))!s} holds a string that is "
            "not valid Unicode (a lone surrogate); decode the source text with errors='replace'"
        ) from None
    return text


def decode_record(text: str | bytes) -> dict[str, object]:
    """Read a record written by :func:`encode_record` back into plain dicts and lists.

    Raises
    ------
    JournalEncodingError
        The text is not one JSON object, or holds ``NaN``/``Infinity``, which
        :func:`encode_record` never writes: the store was altered or damaged.
    """
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise JournalEncodingError(f"a stored journal record is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise JournalEncodingError(
            f"a stored journal record is a JSON {_type_name(value)}, not an object"
        )
    return value


def _check(value: object, path: str) -> None:
    """Raise naming ``path`` at the first value the canonical encoding refuses.

    Subclasses of the JSON types pass (``IntEnum``, ``numpy.float64``, an
    ``OrderedDict``): ``json`` writes them as their base type.
    """
    if isinstance(value, (str, int)) or value is None:  # bool is an int
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise JournalEncodingError(
                f"journal record field {_where(path)} is {value!r}; a journal stores finite "
                "numbers only: store a missing value as null"
            )
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise JournalEncodingError(
                    f"journal record field {_where(path)} has the key {key!r} "
                    f"({_type_name(key)}); JSON keys are strings: convert it with str()"
                )
            _check(item, f"{path}.{key}" if path else key)
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    hint = (
        " (store a timestamp as int nanoseconds since the epoch, UTC)"
        if hasattr(value, "isoformat")
        else ""
    )
    raise JournalEncodingError(
        f"journal record field {_where(path)} holds a {_type_name(value)}, which JSON cannot "
        f"hold{hint}; store str, int, float, bool, None, and lists and dicts of them"
    )


def _find_bad_text(value: object, path: str) -> str:
    """Return the path of the first string (or key) that UTF-8 cannot encode."""
    if isinstance(value, str):
        return path if not _encodes(value) else ""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if not _encodes(str(key)):
                return here
            found = _find_bad_text(item, here)
            if found:
                return found
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _find_bad_text(item, f"{path}[{index}]")
            if found:
                return found
    return ""


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _where(path: str) -> str:
    return repr(path) if path else "(the record itself)"


def _type_name(value: object) -> str:
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
