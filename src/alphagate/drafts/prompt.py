"""What the model is told: the strategy contract, the rules a draft must keep, and the document.

The system message is the contract as docs/strategies.md states it, cut to
what a model needs to write one module, plus the rules the static check and
the look-ahead check enforce, so the first answer can pass them. The repair
message sends back the failed code with the check's own words: the model
fixes what was reported instead of guessing.
"""

from __future__ import annotations

from typing import Final

from alphagate.drafts.llm_client import ChatMessage
from alphagate.drafts.safety import ALLOWED_MODULES

SYSTEM_PROMPT: Final = f"""\
You turn a trading idea described in a document into ONE Python module for the
alphagate backtester. Answer with the whole module in a single ```python block.

The module defines one class with:
- `name` (str attribute): a stable name for the strategy;
- `warmup` (int attribute): bars of history needed before the first call;
- `on_bar(self, context)`: called at each bar close. `context.updated` lists the
  symbols whose bar closed now; `context.history[symbol]` has read-only NumPy
  arrays `open high low close volume ts` up to the current bar only;
  `context.position(symbol)` is the signed quantity held. Return target weights
  as a dict {{symbol: weight}} with weights in [-1, 1] of equity (0 closes the
  position), or None when nothing changes.
- optionally `indicators(self, symbol, history)`: returns a dict of NumPy arrays
  with one value per bar of `history` (same length), value i computed from bars
  0..i ONLY. Read them in on_bar with `context.value(symbol, "name")` (current
  bar) or `context.value(symbol, "name", ago=1)`. They are recomputed on cut
  histories and the draft is discarded if any value uses later bars: no
  centred windows, no negative shifts, no normalising by the whole series.

Rules: import only from {", ".join(sorted(ALLOWED_MODULES))}. No file, network,
process or environment access; no open, exec, eval, getattr, globals or dunder
attributes; no global statements. The constructor takes no required arguments.
Keep it short and deterministic (no randomness)."""

REPAIR_TEMPLATE: Final = """\
The module failed the check `{stage}`:

{report}

Fix it and answer with the whole corrected module in a single ```python block."""


def first_messages(document_text: str, max_chars: int) -> list[ChatMessage]:
    """The opening conversation: the contract, then the document (cut to ``max_chars``)."""
    text = document_text[:max_chars]
    cut = "" if len(document_text) <= max_chars else "\n\n[document cut here]"
    return [
        ChatMessage("system", SYSTEM_PROMPT),
        ChatMessage(
            "user",
            "Write the strategy this document describes.\n\n--- document ---\n"
            f"{text}{cut}\n--- end of document ---",
        ),
    ]


def repair_messages(
    conversation: list[ChatMessage], answer: str, stage: str, report: str
) -> list[ChatMessage]:
    """``conversation`` with the model's ``answer`` and the report of the check it failed."""
    return [
        *conversation,
        ChatMessage("assistant", answer),
        ChatMessage("user", REPAIR_TEMPLATE.format(stage=stage, report=report)),
    ]


def transcript(messages: list[ChatMessage]) -> str:
    """The conversation as one text, as the strategies table records a prompt."""
    return "\n\n".join(f"[{message.role}]\n{message.content}" for message in messages)
