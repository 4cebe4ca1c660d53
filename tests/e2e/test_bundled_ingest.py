"""`make pipeline`'s job, end to end: the installed console script on the bundled real data."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def alphagate(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``alphagate`` script in ``workdir`` with a clean environment."""
    script = shutil.which("alphagate", path=str(Path(sys.executable).parent))
    assert script is not None, "the alphagate console script is not installed"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHAGATE__")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [script, *args], cwd=workdir, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pipeline")


def test_bundled_ingest_stores_both_indices_and_records_the_event(workdir: Path) -> None:
    first = alphagate(workdir, "data", "ingest", "--source", "bundled")
    assert first.returncode == 0, first.stderr
    assert "passed every rule" in first.stdout
    assert "1999-01-04 21:00" in first.stdout  # the first session's NYSE close, in UTC
    assert "2018-12-31 21:00" in first.stdout
    files = sorted(p.relative_to(workdir).as_posix() for p in workdir.rglob("bars.parquet"))
    assert files == [
        "data/bars/timeframe=1d/symbol=%5EGSPC/bars.parquet",
        "data/bars/timeframe=1d/symbol=%5EIXIC/bars.parquet",
    ]
    with sqlite3.connect(workdir / "state" / "alphagate.db") as connection:
        kinds = [row[0] for row in connection.execute("SELECT kind FROM system_events")]
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    assert kinds == ["ingest_completed"]
    assert mode == "wal"


def test_a_second_bundled_ingest_adds_nothing(workdir: Path) -> None:
    again = alphagate(workdir, "data", "query", "SELECT count(*) AS n FROM bars", "--format", "csv")
    assert again.stdout.split() == ["n", "10062"]
    rerun = alphagate(workdir, "data", "ingest", "--source", "bundled")
    assert rerun.returncode == 0, rerun.stderr
    after = alphagate(workdir, "data", "query", "SELECT count(*) AS n FROM bars", "--format", "csv")
    assert after.stdout.split() == ["n", "10062"]


def test_a_rejected_file_exits_1_without_a_traceback_and_is_recorded(workdir: Path) -> None:
    bad = workdir / "bad.csv"
    bad.write_text(
        "symbol,ts,open,high,low,close,volume\nZZZ,2020-01-02,1,1,2,1,1\n", encoding="utf-8"
    )
    result = alphagate(workdir, "data", "ingest", "--path", str(bad))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "row 1" in result.stdout
    assert "ohlc_consistent" in result.stdout
    assert not list((workdir / "data").rglob("*ZZZ*"))
    with sqlite3.connect(workdir / "state" / "alphagate.db") as connection:
        kinds = [row[0] for row in connection.execute("SELECT kind FROM system_events")]
    assert kinds[-1] == "ingest_rejected"
