"""``kill -9`` the gates daemon in the middle of a gate, restart it, and end where a clean run ends.

Issue 19's acceptance: "killing the daemon mid-gate and restarting it
finishes that gate once, with no duplicate transitions". The daemon runs as
a real process (``alphagate gates run --daemon``) on a small trained run; with
``ALPHAGATE_CRASH_AT`` (:mod:`alphagate.live.checkpoints`) it sends itself
``SIGKILL`` half-way through the paper gate's replay, after gates 1 and 2
were recorded. A second daemon, started without the variable, must take the
candidate on to ``awaiting_approval``.

The oracle is an uninterrupted daemon on a copy of the same trained
workspace: the same moves in the same order with the same reasons and
evidence, the same paper books, and every move recorded once. Paths in the
configuration are relative, so both workspaces write the same evidence.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from alphagate.adapters.trading_db import TradingStore
from alphagate.app.paper_engine import JOURNAL
from alphagate.live.checkpoints import CRASH_ENV
from alphagate.testing.crash import KILLED, child_environment

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-c", "from alphagate.cli.console import main; main()"]
LENIENT = {
    "min_sharpe": -100.0,
    "max_drawdown": 1.0,
    "min_win_rate": 0.0,
    "min_deflated_sharpe": 0.0,
}
EASY_SCORE = {"floor": -1000.0, "full": -999.0, "weight": 1.0}
SETTINGS: dict[str, Any] = {
    "data": {
        "dir": "data",
        "synthetic": {"symbols": ["AAA"], "start": "2016-01-04", "end": "2018-12-31"},
    },
    "storage": {
        "database_url": "sqlite:///state.db",
        "trading_database_url": "sqlite:///trading.db",
    },
    "risk": {"kill_switch_state": "kill_switch.json"},
    "decision": {s: {"enabled": False} for s in ("confidence", "blend", "kelly", "band", "gate")},
    "stress": {
        "pipeline_scenarios": 2, "workers": 1, "monte_carlo_runs": 10,
        "min_profitable": 0.0, "min_median_sharpe": -100.0, "max_catastrophic": 2,
    },
    "gates": {
        "early": LENIENT, "mid": LENIENT, "late": LENIENT, "mature": LENIENT,
        # Gate 1's walk-forward retraining is tested elsewhere; here it would only add minutes.
        "walk_forward": {"enabled": False},
        "stop_file": "gates.stop",
        "grader": {
            "win_rate": EASY_SCORE, "sharpe": EASY_SCORE, "alpha": EASY_SCORE,
            "drawdown": {"floor": 1000.0, "full": 999.0, "weight": 1.0},
            "tracking_error": {"floor": 1000.0, "full": 999.0, "weight": 1.0},
        },
    },
}  # fmt: skip
CRASH_AT = "bars-journaled:40"
"""The 40th bar the paper engine journals: half-way through the run's holdout replay."""
DEADLINE = 240.0


def _cli(folder: Path, *args: str) -> None:
    done = subprocess.run(
        [*CLI, "--config", "c.yaml", *args],
        cwd=folder,
        env=child_environment(),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with bars, a trained run ``r1`` submitted as a candidate; no gate run yet."""
    folder = tmp_path_factory.mktemp("trained")
    (folder / "c.yaml").write_text(yaml.safe_dump(SETTINGS), encoding="utf-8")
    _cli(folder, "data", "ingest", "--source", "synthetic")
    _cli(folder, "train", "--model", "logreg", "--horizons", "1", "--run-id", "r1")
    _cli(folder, "gates", "submit", "--run", "r1")
    return folder


def _copy(trained: Path, into: Path) -> Path:
    shutil.copytree(trained, into)
    return into


def _daemon(folder: Path, crash_at: str | None = None) -> subprocess.Popen[str]:
    env = child_environment({CRASH_ENV: crash_at} if crash_at else None)
    return subprocess.Popen(
        [*CLI, "--config", "c.yaml", "gates", "run", "--daemon", "--interval", "1s"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _store(folder: Path) -> TradingStore:
    return TradingStore.open(f"sqlite:///{folder / 'trading.db'}")


def _state(folder: Path) -> str | None:
    with _store(folder) as store:
        moves = store.transitions("r1")
    return moves[-1].target.value if moves else None


@pytest.fixture
def stopped() -> Iterator[list[subprocess.Popen[str]]]:
    """Daemons a test started; any still running at its end is killed, by its own id."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def _run_until_awaiting_approval(folder: Path, started: list[subprocess.Popen[str]]) -> None:
    """A clean daemon until the candidate awaits approval, then SIGTERM: it ends after its pass."""
    process = _daemon(folder)
    started.append(process)
    deadline = time.monotonic() + DEADLINE
    while _state(folder) != "awaiting_approval":
        assert process.poll() is None, f"the daemon exited {process.returncode}"
        assert time.monotonic() < deadline, f"still {_state(folder)} after {DEADLINE} s"
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=DEADLINE)
    assert process.returncode == 0, stderr[-4000:]


def _without_timings(value: Any) -> Any:
    """Evidence without wall-clock fields: the only part two identical runs may differ in."""
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if "seconds" not in k}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def _moves(folder: Path) -> list[tuple[Any, ...]]:
    with _store(folder) as store:
        moves = store.transitions("r1")
    return [
        (m.seq, m.source, m.target, m.actor, m.reason, _without_timings(dict(m.evidence)))
        for m in moves
    ]


def _starts(folder: Path) -> list[tuple[str, int, int]]:
    with _store(folder) as store:
        events = store.system_events("gate_started", limit=10_000)
    details = [e.detail or {} for e in sorted(events, key=lambda e: e.ts)]
    return [(d["gate"], d["seq"], d["rerun"]) for d in details]


def _books(folder: Path) -> list[tuple[int, float]]:
    with _store(folder) as store:
        return [(p.ts, p.equity) for p in store.equity("r1")]


def test_a_daemon_killed_mid_gate_finishes_that_gate_once_on_restart(
    trained: Path, tmp_path: Path, stopped: list[subprocess.Popen[str]]
) -> None:
    clean = _copy(trained, tmp_path / "clean")
    _run_until_awaiting_approval(clean, stopped)

    crashed = _copy(trained, tmp_path / "crashed")
    killed = _daemon(crashed, CRASH_AT)
    stopped.append(killed)
    _, stderr = killed.communicate(timeout=DEADLINE)
    assert killed.returncode == KILLED, stderr[-4000:]
    # Killed inside the paper gate: begun (its start stored), its move not stored.
    assert _state(crashed) == "paper"
    assert _starts(crashed)[-1] == ("paper", 3, 0)
    assert (crashed / "runs" / "r1" / "paper" / JOURNAL).is_file()  # the replay had begun

    _run_until_awaiting_approval(crashed, stopped)

    moves = _moves(crashed)
    assert moves == _moves(clean)
    assert [m[0] for m in moves] == list(range(5))  # one move per gate, none twice
    assert [m[2].value for m in moves] == [
        "registered", "backtest_passed", "stress_passed", "paper", "awaiting_approval",
    ]  # fmt: skip
    # The paper gate ran twice (the second a rerun after the kill) and moved once.
    assert _starts(crashed) == [
        ("backtest", 0, 0), ("stress", 1, 0), ("paper", 2, 0), ("paper", 3, 0), ("paper", 3, 1),
    ]  # fmt: skip
    books = _books(clean)
    assert len(books) > 40  # the kill at the 40th bar was inside the replay, not after it
    assert _books(crashed) == books
