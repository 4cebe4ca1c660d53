"""One draft from a document: ask, extract, check, run, judge; one repair; keep or discard.

Each attempt goes through the checks in order and stops at the first that
fails (:class:`~alphagate.drafts.records.Stage`): the answer must hold a
module with a strategy class; the module must pass the static check
(:mod:`~alphagate.drafts.safety`) before anything imports it; then, in the
subprocess (:mod:`~alphagate.drafts.sandbox`), it is imported, its declared
indicators are checked for look-ahead, the training period is backtested
and the later windows are run; last, here, the training backtest and the
windows are judged (:mod:`~alphagate.drafts.walk_forward`).

A failed first attempt sends the check's report back to the model once. A
second failure discards the draft; its reasons are every attempt's
failure, so the record says what went wrong first and what the fix broke.
The draft file stays on disk either way: a discarded draft is evidence too.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pandas as pd

from alphagate.atomic import write_text_atomically
from alphagate.config import ExecutionConfig
from alphagate.config.llm import DraftValidationConfig
from alphagate.drafts.code import NoCodeError, extract_code, strategy_class
from alphagate.drafts.documents import Document
from alphagate.drafts.llm_client import ChatModel
from alphagate.drafts.prompt import first_messages, repair_messages, transcript
from alphagate.drafts.records import (
    Attempt,
    Draft,
    DraftRecorder,
    DraftStatus,
    Stage,
    ValidationReport,
)
from alphagate.drafts.safety import UnsafeCodeError, check_code
from alphagate.drafts.sandbox import SandboxJob
from alphagate.drafts.walk_forward import judge_training, judge_windows, periods_of
from alphagate.errors import AlphagateError

ATTEMPTS: Final = 2
"""The first answer and one repair: the issue's "one automatic debugging attempt"."""

DRAFTS_FOLDER: Final = Path("strategies") / "drafts"
"""Where drafts are written, under the user's workspace (never under ``src/``)."""

_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

RunChecks = Callable[[SandboxJob], ValidationReport]
"""Runs a job in the subprocess (:meth:`alphagate.drafts.sandbox.Sandbox.run`)."""


@dataclass(frozen=True)
class DraftRequest:
    """What to draft from, under which name, and what to validate it on."""

    document: Document
    name: str
    model: str
    workspace: Path
    bars: pd.DataFrame
    execution: ExecutionConfig
    calendar: str | None
    validation: DraftValidationConfig
    max_document_chars: int


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended: the stage it reached, whether it passed, and why not."""

    stage: Stage
    passed: bool
    reasons: tuple[str, ...]
    report: ValidationReport | None = None


def check_name(name: str) -> str:
    """``name`` if it can be a draft's file and module name.

    Raises
    ------
    AlphagateError
        When it is not a Python identifier of at most 64 characters.
    """
    if not _NAME.fullmatch(name):
        raise AlphagateError(
            f"--name {name!r}: use letters, digits and underscores, not starting with a digit "
            "(it becomes strategies/drafts/<name>.py)"
        )
    return name


def draft_strategy(
    request: DraftRequest, chat: ChatModel, run_checks: RunChecks, recorder: DraftRecorder
) -> Draft:
    """Draft, check and keep or discard one strategy; return its record as stored.

    Raises
    ------
    AlphagateError
        When the name is taken or invalid, or there are too few bars for the
        windows (before the model is called); :class:`~alphagate.drafts.llm_client.LlmError`
        when the model cannot be reached (the draft stays ``drafted``, with
        the attempts made so far).
    """
    name = check_name(request.name)
    periods = periods_of(request.bars, request.validation)
    draft_file = request.workspace / DRAFTS_FOLDER / f"{name}.py"
    now = time.time_ns()
    recorder.start_draft(
        Draft(
            name=name,
            status=DraftStatus.DRAFTED,
            source_path=str(request.document.path),
            source_kind=request.document.kind,
            source_hash=request.document.sha256,
            model=request.model,
            ts_created=now,
            ts_updated=now,
        )
    )
    conversation = first_messages(request.document.text, request.max_document_chars)
    reasons: list[str] = []
    run_ids: list[str] = []
    code_hash: str | None = None
    class_name: str | None = None
    for number in range(1, ATTEMPTS + 1):
        answer = chat.complete(conversation)
        code, code_hash, class_name, outcome = _attempt(
            answer,
            draft_file,
            lambda found_class: SandboxJob(
                draft_file=draft_file,
                class_name=found_class,
                bars=request.bars,
                training_end_ns=periods.training_end_ns,
                windows=periods.windows,
                execution=request.execution,
                calendar=request.calendar,
            ),
            run_checks,
            request.validation,
        )
        run_id = f"draft-{name}-{number}-{(code_hash or 'nocode')[:8]}"
        run_ids.append(run_id)
        recorder.add_attempt(
            Attempt(
                name=name,
                attempt=number,
                run_id=run_id,
                prompt=transcript(conversation),
                response=answer,
                code_hash=code_hash,
                stage=outcome.stage,
                passed=outcome.passed,
                error="; ".join(outcome.reasons) or None,
                metrics=None if outcome.report is None else outcome.report.to_json(),
                ts=time.time_ns(),
            )
        )
        if outcome.passed:
            status = DraftStatus.VALIDATED
            break
        reasons.extend(f"attempt {number}, {outcome.stage.value}: {r}" for r in outcome.reasons)
        conversation = repair_messages(
            conversation, answer, outcome.stage.value, "\n".join(outcome.reasons)
        )
    else:
        status = DraftStatus.DISCARDED
    recorder.finish_draft(
        name,
        status,
        code_path=str(draft_file) if code is not None else None,
        code_hash=code_hash,
        class_name=class_name,
        reasons=reasons,
        run_ids=run_ids,
        ts=time.time_ns(),
    )
    stored = recorder.draft(name)
    assert stored is not None, "a draft just recorded reads back"
    return stored


def _attempt(
    answer: str,
    draft_file: Path,
    job_of: Callable[[str], SandboxJob],
    run_checks: RunChecks,
    validation: DraftValidationConfig,
) -> tuple[str | None, str | None, str | None, Outcome]:
    """One answer through every check: (code, its hash, its class, the outcome)."""
    try:
        code = extract_code(answer)
        class_name = strategy_class(code)
    except NoCodeError as error:
        return None, None, None, Outcome(Stage.CODE, False, (str(error),))
    code_hash = hashlib.sha256(code.encode()).hexdigest()
    try:
        check_code(code)
    except UnsafeCodeError as error:
        # Refused before it is written where the loader could find it: nothing imports it.
        return None, code_hash, class_name, Outcome(Stage.SAFETY, False, tuple(error.problems))
    write_text_atomically(draft_file, code)
    report = run_checks(job_of(class_name))
    if not report.passed:
        return (
            code,
            code_hash,
            class_name,
            Outcome(report.stage, False, (report.error or "",), report),
        )
    assert report.training is not None, "a passed run measured its training period"
    verdict = judge_training(report.training, validation)
    if not verdict.passed:
        return code, code_hash, class_name, Outcome(Stage.BACKTEST, False, verdict.reasons, report)
    verdict = judge_windows(report.training, report.windows, validation)
    return (
        code,
        code_hash,
        class_name,
        Outcome(Stage.WALK_FORWARD, verdict.passed, verdict.reasons, report),
    )
