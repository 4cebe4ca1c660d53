"""README and docs/quickstart.md show what `alphagate pipeline run` really prints.

The quick start is the first thing a user compares with their screen; a table
that drifted from the code would make every other number in the docs suspect.
This runs the default pipeline on the bundled data, as `make pipeline` does,
and requires every summary and validation row it prints to appear verbatim in
both pages (training is single-threaded and seeded, so the numbers are exact).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^│ (\w+)\s+│ (?:ran|cached)\s+│.*│ (.+?)\s*│$")
CHECK = re.compile(r"^│ (\w+)\s+│\s+(\S+) │\s+(.+?) │ (pass|FAIL|missing)\s+│$")


@pytest.mark.slow
def test_the_quick_start_pages_match_a_real_pipeline_run(tmp_path: Path) -> None:
    script = shutil.which("alphagate", path=str(Path(sys.executable).parent))
    assert script is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHAGATE__")}
    env["COLUMNS"] = "140"
    done = subprocess.run(
        [script, "pipeline", "run"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summaries = [m.group(1, 2) for line in done.stdout.splitlines() if (m := ROW.match(line))]
    checks = [m.group(1, 2, 4) for line in done.stdout.splitlines() if (m := CHECK.match(line))]
    assert [stage for stage, _ in summaries] == [
        "data", "features", "labels", "train", "calibrate", "backtest", "validate", "stress",
        "report", "candidate",
    ]  # fmt: skip
    assert len(checks) >= 10
    run_id = re.search(r"runs/(pipeline-bundled-\w+)/", done.stdout)
    assert run_id is not None
    for page in (ROOT / "README.md", ROOT / "docs" / "quickstart.md"):
        text = page.read_text(encoding="utf-8")
        for stage, outputs in summaries:
            assert outputs in text, f"{page.name}: {stage} row {outputs!r} is not in the page"
    quickstart = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    assert run_id.group(1) in quickstart, "quickstart.md names another run id"
    for name, value, result in checks:
        row = re.search(rf"│ {name}\s+│\s+{re.escape(value)} │.*│ {result}\s+│", quickstart)
        assert row is not None, f"quickstart.md: check {name} = {value} ({result}) is not shown"
