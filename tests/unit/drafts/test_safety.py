"""The static check refuses generated code before anything imports it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alphagate.config import ExecutionConfig
from alphagate.config.llm import DraftValidationConfig
from alphagate.drafts.documents import Document
from alphagate.drafts.llm_client import ChatMessage
from alphagate.drafts.records import Attempt, Draft, DraftStatus, Stage, ValidationReport
from alphagate.drafts.safety import UnsafeCodeError, check_code
from alphagate.drafts.sandbox import SandboxJob
from alphagate.drafts.workflow import DraftRequest, draft_strategy
from alphagate.testing.bars import bars_of

CLEAN = """\
from __future__ import annotations

import math
import numpy as np
import pandas as pd
from alphagate import StrategyContext
from alphagate.domain.orders import OrderType


class Fine:
    name = "fine"
    warmup = 0

    def __init__(self) -> None:
        self.seen = 0

    def on_bar(self, context: StrategyContext):
        self.seen += 1
        return {s: 0.5 * math.tanh(1.0) for s in context.updated}
"""


def problems(source: str) -> list[str]:
    with pytest.raises(UnsafeCodeError) as caught:
        check_code(source)
    return caught.value.problems


def test_a_strategy_using_only_allowed_modules_passes() -> None:
    check_code(CLEAN)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import socket\n", "import of 'socket'"),
        ("import os.path\n", "import of 'os.path'"),
        ("from subprocess import run\n", "import of 'subprocess'"),
        ("import urllib.request\n", "import of 'urllib.request'"),
        ("x = open('f')\n", "use of 'open'"),
        ("exec('1')\n", "use of 'exec'"),
        ("__import__('os')\n", "use of '__import__'"),
        ("y = ().__class__.__bases__\n", "dunder attribute '__class__'"),
        ("import numpy as np\nnp.random = None\n", "assigning into the module 'np'"),
        ("import pandas as pd\npd.read_pickle('x')\n", "attribute 'read_pickle'"),
        ("from . import sibling\n", "relative import"),
        ("def f():\n    global g\n", "'global'"),
        ("def broken(:\n", "syntax error"),
    ],
)
def test_unsafe_code_is_refused_with_its_line(source: str, expected: str) -> None:
    found = problems(source)

    assert any(expected in problem for problem in found), found
    assert all(problem.startswith("line ") for problem in found)


def test_every_problem_is_listed_in_line_order() -> None:
    found = problems("import numpy\nimport socket\nx = eval('1')\nimport os\n")

    assert [p.split(":")[0] for p in found] == ["line 2", "line 3", "line 4"]


class _Script:
    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)

    def complete(self, messages: list[ChatMessage]) -> str:
        return self.answers.pop(0)


class _Memory:
    def __init__(self) -> None:
        self.drafts: dict[str, Draft] = {}
        self.attempts: list[Attempt] = []

    def start_draft(self, draft: Draft) -> None:
        self.drafts[draft.name] = draft

    def add_attempt(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)

    def finish_draft(self, name: str, status: DraftStatus, **fields: object) -> None:
        kept = {k: v for k, v in fields.items() if k != "ts"}
        kept["reasons"] = tuple(kept["reasons"])  # type: ignore[arg-type]
        kept["run_ids"] = tuple(kept["run_ids"])  # type: ignore[arg-type]
        old = self.drafts[name]
        self.drafts[name] = Draft(
            **{**old.__dict__, **kept, "status": status, "attempts": tuple(self.attempts)}
        )

    def draft(self, name: str) -> Draft | None:
        return self.drafts.get(name)


def test_a_draft_importing_socket_is_refused_before_it_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran.csv"
    module = (
        "```python\nimport pandas as pd\n"
        f"pd.DataFrame({{'a': [1]}}).to_csv({str(marker)!r})\n"
        "import socket\n"
        "class Net:\n    name = 'net'\n    warmup = 0\n"
        "    def on_bar(self, context):\n        return None\n```"
    )
    runs: list[SandboxJob] = []

    def run_checks(job: SandboxJob) -> ValidationReport:
        runs.append(job)
        return ValidationReport(Stage.WALK_FORWARD, True)

    recorder = _Memory()
    request = DraftRequest(
        document=Document(tmp_path / "doc.txt", "text", "an idea", "0" * 64),
        name="net",
        model="scripted",
        workspace=tmp_path,
        bars=bars_of(100.0 + np.arange(60.0), freq="D"),
        execution=ExecutionConfig(),
        calendar=None,
        validation=DraftValidationConfig(),
        max_document_chars=10_000,
    )

    record = draft_strategy(request, _Script(module, module), run_checks, recorder)

    assert record.status is DraftStatus.DISCARDED
    assert runs == []  # no subprocess was started
    assert not marker.exists()  # and the module's first line never ran
    assert not (tmp_path / "strategies" / "drafts" / "net.py").exists()
    assert [a.stage for a in recorder.attempts] == [Stage.SAFETY, Stage.SAFETY]
    assert all("import of 'socket'" in reason for reason in record.reasons)
