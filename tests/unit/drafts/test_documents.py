"""Reading the source document: PDF text, Markdown, and transcripts without their timings."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from alphagate.drafts.code import NoCodeError, extract_code, strategy_class
from alphagate.drafts.documents import DocumentError, read_document

SRT = """1
00:00:01,000 --> 00:00:03,500
Buy the breakout

2
00:00:03,500 --> 00:00:06,000
when volume <i>doubles</i>.
"""

VTT = """WEBVTT

NOTE recorded live

00:01.000 --> 00:03.000 align:start
Sell at the close.
"""


def test_srt_cues_lose_their_numbers_times_and_tags(tmp_path: Path) -> None:
    path = tmp_path / "talk.srt"
    path.write_text(SRT)

    document = read_document(path)

    assert document.text == "Buy the breakout\nwhen volume doubles."
    assert document.kind == "transcript"
    assert document.sha256 == hashlib.sha256(SRT.encode()).hexdigest()


def test_vtt_headers_and_notes_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "talk.vtt"
    path.write_text(VTT)

    assert read_document(path).text == "Sell at the close."


def test_a_txt_transcript_with_inline_times_is_cleaned_but_plain_text_is_kept(
    tmp_path: Path,
) -> None:
    timed, plain = tmp_path / "timed.txt", tmp_path / "plain.md"
    timed.write_text("[00:01] buy low\n[00:05] sell high\n[00:09] repeat\n")
    plain.write_text("# Idea\n\nAt 10:30 buy.\n")

    assert read_document(timed).text == "buy low\nsell high\nrepeat"
    assert read_document(plain).text == "# Idea\n\nAt 10:30 buy."


def test_an_unknown_kind_or_an_empty_file_is_refused_with_the_fix(tmp_path: Path) -> None:
    video, empty = tmp_path / "talk.mp4", tmp_path / "empty.txt"
    video.write_bytes(b"\x00")
    empty.write_text("  \n")

    with pytest.raises(DocumentError, match="make a transcript first"):
        read_document(video)
    with pytest.raises(DocumentError, match="holds no text"):
        read_document(empty)


def test_the_longest_python_block_is_the_module_and_its_on_bar_class_is_found() -> None:
    answer = (
        "Example:\n```python\nx = 1\n```\nThe module:\n```python\n"
        "class Helper:\n    pass\n\nclass Mine:\n    def on_bar(self, context):\n"
        "        return None\n```\nDone."
    )

    code = extract_code(answer)

    assert code.startswith("class Helper") and strategy_class(code) == "Mine"


def test_an_answer_without_code_or_without_a_strategy_class_says_what_to_send() -> None:
    with pytest.raises(NoCodeError, match="```python"):
        extract_code("I cannot do that: the paper is vague.")
    with pytest.raises(NoCodeError, match="on_bar"):
        strategy_class("class Nothing:\n    pass\n")
