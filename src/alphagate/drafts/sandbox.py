"""Run a draft's checks in a subprocess: a time limit, no network, no secrets, a scratch folder.

The parent writes the bars and a job file into a fresh temporary folder,
starts ``python -m alphagate.drafts.child`` there in its own session, and
reads the report back. The child's environment holds only what Python needs
to start (``PATH``, ``PYTHONPATH`` naming this alphagate, a locale, ``HOME``
set to the scratch folder), so an API key or a database password in the
parent's environment never reaches generated code. A child still running at
the limit is killed with its whole process group, and the attempt fails at
the check it was in.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import alphagate
from alphagate.config import ExecutionConfig
from alphagate.drafts.records import Stage, ValidationReport
from alphagate.drafts.validation_run import STAGE_FILE, job_payload

_OUTPUT_TAIL = 2_000


@dataclass(frozen=True)
class SandboxJob:
    """One draft to check: its file and class, the bars, the periods, the run's execution."""

    draft_file: Path
    class_name: str
    bars: pd.DataFrame
    training_end_ns: int
    windows: tuple[tuple[int, int], ...]
    execution: ExecutionConfig
    calendar: str | None


@dataclass(frozen=True)
class Sandbox:
    """Runs jobs with a wall-clock limit of ``seconds`` under ``python``."""

    seconds: float
    python: str = sys.executable

    def run(self, job: SandboxJob) -> ValidationReport:
        """Run ``job`` in a subprocess; its report, or a failed one saying why there is none."""
        with tempfile.TemporaryDirectory(prefix="alphagate-draft-") as scratch:
            folder = Path(scratch)
            bars_file, report_file = folder / "bars.parquet", folder / "report.json"
            job.bars.to_parquet(bars_file)
            payload = job_payload(
                strategy=f"{job.draft_file.resolve()}:{job.class_name}",
                bars=bars_file,
                training_end_ns=job.training_end_ns,
                windows=list(job.windows),
                execution=job.execution,
                calendar=job.calendar,
                report=report_file,
            )
            job_file = folder / "job.json"
            job_file.write_text(json.dumps(payload), encoding="utf-8")
            command = [
                self.python, "-m", "alphagate.drafts.child", str(job_file), str(self.seconds),
            ]  # fmt: skip
            finished, output = self._launch(command, folder)
            if not finished:
                stage = _stage_reached(folder)
                return ValidationReport(
                    stage,
                    False,
                    f"the draft ran longer than {self.seconds:g}s "
                    f"(llm.validation.sandbox_seconds) during the {stage.value} check and was "
                    "stopped",
                )
            if not report_file.is_file():
                return ValidationReport(
                    _stage_reached(folder),
                    False,
                    f"the draft's process ended without a report: {output[-_OUTPUT_TAIL:]}",
                )
            return ValidationReport.of_json(json.loads(report_file.read_text(encoding="utf-8")))

    def _launch(self, command: list[str], folder: Path) -> tuple[bool, str]:
        """Run ``command`` in ``folder``; (whether it finished in time, its output)."""
        with subprocess.Popen(
            command,
            cwd=folder,
            env=child_environment(folder),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed whole at the limit
        ) as process:
            try:
                output, _ = process.communicate(timeout=self.seconds)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                return False, ""
        return True, output.decode(errors="replace")


def child_environment(home: Path) -> dict[str, str]:
    """The subprocess's whole environment: nothing secret, enough to import this alphagate."""
    package_root = str(Path(alphagate.__file__).resolve().parent.parent)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": package_root,
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
    }


def _stage_reached(folder: Path) -> Stage:
    try:
        return Stage((folder / STAGE_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return Stage.IMPORT
