"""The text of the document a strategy is drafted from: a PDF, a text file, or a transcript.

PDF text comes from pypdf (a maintained, pure-Python reader); a scanned PDF
has no text layer and is refused with a message saying so, rather than sent
to the model as nothing. Transcripts (``.srt``, ``.vtt``) keep their words and
lose their cue numbers, timestamps and WebVTT headers, which would otherwise
fill the prompt with numbers the model might read as data. A ``.txt`` whose
lines look like a transcript's is cleaned the same way.

Speech-to-text is not built in: a video's audio becomes a ``.srt``/``.vtt``
with a tool of the user's choice (see docs/strategy-drafts.md), and that
file is drafted from.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from alphagate.errors import AlphagateError

TEXT_SUFFIXES: Final = (".txt", ".md", ".markdown")
TRANSCRIPT_SUFFIXES: Final = (".srt", ".vtt")
PDF_SUFFIX: Final = ".pdf"

_CUE_TIME: Final = re.compile(
    r"^\s*(\d{1,2}:)?\d{1,2}:\d{2}([.,]\d{1,3})?\s*-->\s*(\d{1,2}:)?\d{1,2}:\d{2}([.,]\d{1,3})?.*$"
)
_CUE_NUMBER: Final = re.compile(r"^\s*\d+\s*$")
_INLINE_TIME: Final = re.compile(r"^\s*\[?\(?(\d{1,2}:)?\d{1,2}:\d{2}([.,]\d{1,3})?\)?\]?\s*")
_VTT_BLOCKS: Final = ("WEBVTT", "NOTE", "STYLE", "REGION")
_TAG: Final = re.compile(r"<[^>]{1,40}>")


class DocumentError(AlphagateError):
    """The source document cannot be read, or holds no text to draft from."""


@dataclass(frozen=True)
class Document:
    """A source document's text and the hash of its bytes (what the strategies table records)."""

    path: Path
    kind: str
    text: str
    sha256: str


def read_document(path: Path) -> Document:
    """Read ``path`` by its suffix: PDF, text/Markdown, or a transcript.

    Raises
    ------
    DocumentError
        When the file is missing, of another kind, unreadable, or has no text.
    """
    if not path.is_file():
        raise DocumentError(f"no file {str(path)!r}: give --from the path of a document")
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if suffix == PDF_SUFFIX:
        kind, text = "pdf", _pdf_text(path)
    elif suffix in TRANSCRIPT_SUFFIXES:
        kind, text = "transcript", strip_transcript(_decoded(path, data))
    elif suffix in TEXT_SUFFIXES:
        raw = _decoded(path, data)
        looks_timed = suffix == ".txt" and _looks_like_transcript(raw)
        kind, text = ("transcript", strip_transcript(raw)) if looks_timed else ("text", raw)
    else:
        known = ", ".join((PDF_SUFFIX, *TEXT_SUFFIXES, *TRANSCRIPT_SUFFIXES))
        raise DocumentError(
            f"{str(path)!r}: cannot draft from a {suffix or 'suffix-less'} file; give one of "
            f"{known} (for a video, make a transcript first: see docs/strategy-drafts.md)"
        )
    text = text.strip()
    if not text:
        hint = " (a scanned PDF has no text layer: run OCR first)" if kind == "pdf" else ""
        raise DocumentError(f"{str(path)!r} holds no text to draft from{hint}")
    return Document(path, kind, text, hashlib.sha256(data).hexdigest())


def strip_transcript(raw: str) -> str:
    """A transcript's words, without cue numbers, timestamps, tags or WebVTT blocks."""
    kept: list[str] = []
    skipping_block = False
    for line in raw.splitlines():
        stripped = line.strip()
        if not stripped:
            skipping_block = False
            continue
        if skipping_block:
            continue
        if stripped.split(" ", 1)[0] in _VTT_BLOCKS:
            skipping_block = True
            continue
        if _CUE_TIME.match(stripped) or _CUE_NUMBER.match(stripped):
            continue
        words = _TAG.sub("", _INLINE_TIME.sub("", stripped)).strip()
        if words and (not kept or kept[-1] != words):  # captions often repeat a rolling line
            kept.append(words)
    return "\n".join(kept)


def _looks_like_transcript(raw: str) -> bool:
    lines = [line for line in raw.splitlines() if line.strip()]
    if not lines:
        return False
    timed = sum(1 for line in lines if _CUE_TIME.match(line) or _INLINE_TIME.match(line))
    return timed >= max(2, len(lines) // 4)


def _decoded(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(
            f"{str(path)!r} is not UTF-8 text (byte {error.start}); save it as UTF-8"
        ) from None


def _pdf_text(path: Path) -> str:
    # Imported here: only a PDF source needs the reader.
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, OSError) as error:
        raise DocumentError(f"cannot read {str(path)!r} as a PDF: {error}") from error
    return "\n\n".join(page.strip() for page in pages if page.strip())
