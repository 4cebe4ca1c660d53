"""``alphagate pipeline run`` as a user runs it: a full run, a ``kill -9`` mid-train, a resume.

Everything runs through the installed console script in a temporary working
directory, on two bundled indices over three years, with a small search (two
trials per horizon) so the train stage is long enough to be killed inside.
The resumed run must reuse the stages that finished before the kill and end
with exactly the numbers of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

SELECTION = ("--symbols", "^GSPC,^IXIC", "--start", "2016-01-01", "--end", "2018-12-31")
FAST = {
    "pipeline": {"trials": 2, "model": "lightgbm"},
    "labels": {"horizons": [1, 5]},
    "stress": {"pipeline_scenarios": 10},
}
ROW = re.compile(r"^│ (\w+)\s+│ (ran|cached|failed)\s+│")


def command(workdir: Path, run_id: str) -> tuple[list[str], dict[str, str]]:
    script = shutil.which("alphagate", path=str(Path(sys.executable).parent))
    assert script is not None, "the alphagate console script is not installed"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHAGATE__")}
    env["COLUMNS"] = "200"
    args = [script, "pipeline", "run", "--config", str(workdir / "fast.yaml"), *SELECTION]
    return [*args, "--run-id", run_id], env


def run_to_the_end(workdir: Path, run_id: str) -> subprocess.CompletedProcess[str]:
    args, env = command(workdir, run_id)
    done = subprocess.run(
        args, cwd=workdir, env=env, capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def statuses(stdout: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for line in stdout.splitlines() if (m := ROW.match(line))}


def numbers(workdir: Path, run_id: str) -> dict[str, Any]:
    """The validation report without the fields that name the run."""
    path = workdir / "runs" / run_id / "validate" / "validation_report.json"
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    report.pop("run_id")
    return report


def backtest_metrics(workdir: Path, run_id: str) -> dict[str, Any]:
    path = workdir / "runs" / run_id / "backtest" / "metrics.json"
    metrics: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return metrics


def wait_for(pattern: str, root: Path, process: subprocess.Popen[str], limit: float) -> Path:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = sorted(root.glob(pattern))
        if found:
            return found[0]
        assert process.poll() is None, "the run ended before reaching the train stage"
        time.sleep(0.05)
    raise AssertionError(f"nothing matched {pattern} under {root} within {limit}s")


def test_a_run_killed_mid_train_resumes_from_the_last_complete_stage(tmp_path: Path) -> None:
    (tmp_path / "fast.yaml").write_text(yaml.safe_dump(FAST), encoding="utf-8")

    full = run_to_the_end(tmp_path, "full")
    stages = (
        "data", "features", "labels", "train", "calibrate", "backtest", "validate", "stress",
        "report", "candidate",
    )  # fmt: skip
    assert statuses(full.stdout) == dict.fromkeys(stages, "ran")
    expected = numbers(tmp_path, "full")
    assert expected["counts"]["missing"] == 0
    expected_metrics = backtest_metrics(tmp_path, "full")

    args, env = command(tmp_path, "resumed")
    process = subprocess.Popen(
        args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )
    try:
        run_dir = tmp_path / "runs" / "resumed"
        # The scratch directory of run_training itself: training has begun.
        wait_for("train.tmp-*/train.tmp-*", run_dir, process, limit=120)
        time.sleep(0.5)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    assert not (run_dir / "train").exists()
    assert [p.name.split(".tmp-")[0] for p in run_dir.glob("*.tmp-*")] == ["train"]
    for stage in ("data", "features", "labels"):
        assert (run_dir / stage / "manifest.json").is_file()

    resumed = run_to_the_end(tmp_path, "resumed")

    assert statuses(resumed.stdout) == {
        **dict.fromkeys(("data", "features", "labels"), "cached"),
        **dict.fromkeys(
            ("train", "calibrate", "backtest", "validate", "stress", "report", "candidate"), "ran"
        ),
    }
    assert not list(run_dir.glob("*.tmp-*"))
    assert numbers(tmp_path, "resumed") == expected
    assert backtest_metrics(tmp_path, "resumed") == expected_metrics
    assert (run_dir / "report" / "report.html").is_file()
