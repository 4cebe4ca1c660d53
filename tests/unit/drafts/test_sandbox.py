"""The subprocess: no network at all, a time limit, and no secrets in its environment."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alphagate.config import ExecutionConfig
from alphagate.drafts.records import Stage
from alphagate.drafts.sandbox import Sandbox, SandboxJob, child_environment
from alphagate.testing.bars import bars_of


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that notes every request it gets."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"a\n1\n")

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/data.csv", hits
    finally:
        server.shutdown()
        server.server_close()


def job(tmp_path: Path, source: str) -> SandboxJob:
    draft = tmp_path / "draft.py"
    draft.write_text(source)
    bars = bars_of(100.0 + np.arange(40.0), freq="D")
    stamps = bars.index.get_level_values("ts").as_unit("ns").asi8
    return SandboxJob(
        draft_file=draft,
        class_name="Draft",
        bars=bars,
        training_end_ns=int(stamps[19]),
        windows=((int(stamps[20]), int(stamps[29])), (int(stamps[30]), int(stamps[39]))),
        execution=ExecutionConfig(cash=10_000.0),
        calendar=None,
    )


STRATEGY = """\
class Draft:
    name = "d"
    warmup = 0

    def on_bar(self, context):
        return None
"""


def test_a_draft_reaching_for_the_network_at_import_is_stopped_and_nothing_arrives(
    tmp_path: Path, listener: tuple[str, list[str]]
) -> None:
    url, hits = listener
    source = f"import pandas as pd\nDATA = pd.read_csv({url!r})\n{STRATEGY}"

    report = Sandbox(60).run(job(tmp_path, source))

    assert (report.stage, report.passed) == (Stage.IMPORT, False)
    assert "network access is blocked" in (report.error or "")
    assert hits == []


def test_a_draft_that_runs_too_long_is_killed_at_the_limit(tmp_path: Path) -> None:
    source = f"{STRATEGY}\nwhile True:\n    pass\n"

    report = Sandbox(4).run(job(tmp_path, source))

    assert (report.stage, report.passed) == (Stage.IMPORT, False)
    assert "longer than 4s" in (report.error or "")


def test_a_flat_draft_runs_every_check_and_measures_each_window(tmp_path: Path) -> None:
    report = Sandbox(60).run(job(tmp_path, STRATEGY))

    assert (report.stage, report.passed, report.error) == (Stage.WALK_FORWARD, True, None)
    assert report.training is not None and report.training.sharpe is None  # never traded
    assert [w.bars for w in report.windows] == [10, 10]


def test_the_child_environment_holds_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALPHAGATE_LLM_API_KEY", "sk-secret")
    monkeypatch.setenv("ALPHAGATE__STORAGE__DATABASE_PASSWORD", "pw")

    environment = child_environment(tmp_path)

    assert "sk-secret" not in environment.values() and "pw" not in environment.values()
    assert set(environment) <= {
        "PATH", "PYTHONPATH", "PYTHONNOUSERSITE", "PYTHONDONTWRITEBYTECODE", "HOME", "LANG",
        "MPLBACKEND",
    }  # fmt: skip
