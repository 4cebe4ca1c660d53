"""The crash harness: ``kill -9`` an engine process at chosen checkpoints, restart it, repeat.

An engine's recovery is only proven by killing a real process: a ``kill -9``
runs no ``finally`` and flushes nothing, which no exception raised in a test
can imitate. The engine cooperates by naming its checkpoints
(:mod:`alphagate.live.checkpoints`): with ``ALPHAGATE_CRASH_AT=NAME:N`` (or
``any:N``) in its environment it sends itself ``SIGKILL`` the N-th time it
passes one. The harness runs a command once per crash point, expects each
run to die by ``SIGKILL``, then runs it without the variable until it exits
0, and returns every attempt so a test can compare the end with an
uninterrupted run.

Everything is deterministic: the crash points are given, or drawn by
:func:`random_points` from a seed, and the engine under test replays stored
bars, so a failing sequence reruns exactly.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from alphagate.live.checkpoints import CRASH_ENV

KILLED: Final = -signal.SIGKILL
"""``Popen.returncode`` of a process that died by ``SIGKILL``."""


class CrashHarnessError(AssertionError):
    """An attempt ended in a way the harness did not expect: the engine failed, not crashed."""


@dataclass(frozen=True)
class Attempt:
    """One run of the command: where it was told to crash, and how it ended."""

    crash_at: str | None
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def killed(self) -> bool:
        """Whether it died by ``SIGKILL``, that is, it reached its crash point."""
        return self.returncode == KILLED


@dataclass(frozen=True)
class CrashRun:
    """Every attempt, in order; the last one exited 0."""

    attempts: tuple[Attempt, ...]

    @property
    def final(self) -> Attempt:
        """The run that finished."""
        return self.attempts[-1]

    @property
    def crashes(self) -> int:
        """How many attempts died at their crash point."""
        return sum(a.killed for a in self.attempts)


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment, with its import path, so a child imports the same code."""
    env = dict(os.environ)
    env.pop(CRASH_ENV, None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.update(extra or {})
    return env


def attempt(
    command: Sequence[str],
    crash_at: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> Attempt:
    """Run ``command`` once, crashing at ``crash_at`` when given; return how it ended."""
    child_env = dict(env if env is not None else child_environment())
    child_env.pop(CRASH_ENV, None)
    if crash_at is not None:
        child_env[CRASH_ENV] = crash_at
    started = time.monotonic()
    done = subprocess.run(
        list(command), env=child_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return Attempt(crash_at, done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def run_with_crashes(
    command: Sequence[str],
    crash_points: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    restarts: int = 3,
    timeout: float = 120.0,
    inspect: Callable[[Attempt], None] | None = None,
) -> CrashRun:
    """Run ``command`` once per crash point, each expected to die there, then to completion.

    A run that exits 0 before its crash point ends the sequence early (the
    process finished first; the caller sees it in :attr:`Attempt.killed`).
    ``inspect`` is called after every attempt, to check the files the
    process left (say ``PRAGMA integrity_check``) before the next one starts.

    Raises
    ------
    CrashHarnessError
        An attempt ended other than by ``SIGKILL`` or exit 0, or ``restarts``
        clean restarts did not finish; the message holds its stderr.
    """
    attempts: list[Attempt] = []

    def run(crash_at: str | None) -> Attempt:
        done = attempt(command, crash_at, env=env, timeout=timeout)
        attempts.append(done)
        if inspect is not None:
            inspect(done)
        if done.returncode not in (0, KILLED):
            raise CrashHarnessError(
                f"attempt {len(attempts)} (crash at {crash_at or 'nowhere'}) exited "
                f"{done.returncode}:\n{done.stderr[-4000:]}"
            )
        return done

    for point in crash_points:
        if not run(point).killed:
            return CrashRun(tuple(attempts))
    for _ in range(restarts):
        if run(None).returncode == 0:
            return CrashRun(tuple(attempts))
    raise CrashHarnessError(f"{restarts} clean restarts after the crashes did not finish")


def random_points(seed: int, count: int, passes: int) -> list[str]:
    """``count`` seeded ``any:N`` crash points spread over a run of ``passes`` checkpoint passes.

    ``count`` distinct positions are drawn in ``1..passes`` and returned as
    the gaps between them: each is counted from the previous crash's
    restart, so a chained run crashes near each drawn position in turn.
    """
    if not 1 <= count <= passes:
        raise ValueError(f"cannot draw {count} distinct crash points from {passes} passes")
    positions = sorted(random.Random(seed).sample(range(1, passes + 1), count))
    gaps = [b - a for a, b in zip([0, *positions], positions, strict=False)]
    return [f"any:{gap}" for gap in gaps]
