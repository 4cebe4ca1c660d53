"""Stress throughput: 200 seeded scenarios for a LightGBM candidate, on two worker processes.

Steps, in a temporary folder (nothing outside it is touched):

1. ``alphagate data ingest`` of the bundled data and ``alphagate train
   --model lightgbm`` make the candidate (not timed);
2. :func:`alphagate.app.stress.run_stress` runs the default library of
   ``--scenarios`` scenarios through it with ``--workers`` processes (timed:
   from the call to the summary written, worker start-up included).

It prints the total, the scenarios per second and a per-family table: the
count, and the wall time between results attributed to the family of the
scenario that arrived (with two workers this apportions the wall clock, it
is not CPU time). The target is 60 s for 200 scenarios on 2 cores.

The wall time depends on what else the machine runs, so the report also
records the load average before and after, and the CPU seconds of the worker
processes (user + system, read from ``getrusage`` once they have exited):
on a busy machine compare those, not the wall time.
Usage::

    python benchmarks/bench_stress.py [--scenarios 200] [--workers 2] [--output FILE]

``--output`` defaults to ``bench-out/stress.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RUN_ID = "bench-lgbm"


def _alphagate(folder: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHAGATE__")}
    command = [str(Path(sys.executable).with_name("alphagate")), *args]
    subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True)


def make_candidate(folder: Path) -> None:
    """Ingest the bundled data and train a LightGBM run named :data:`RUN_ID` in ``folder``."""
    _alphagate(folder, "data", "ingest")
    _alphagate(folder, "train", "--model", "lightgbm", "--run-id", RUN_ID)


def bench(folder: Path, scenarios: int, workers: int) -> dict[str, Any]:
    """Run the stress library through the candidate; the timings and the gate's verdict."""
    os.chdir(folder)
    from alphagate.app import research
    from alphagate.app import stress as stress_app
    from alphagate.config import load_config

    settings = load_config([], environ={})
    bars = research.load_input(settings, tolerate_gaps=True).bars
    request = stress_app.StressRequest(run_id=RUN_ID, scenarios=scenarios, workers=workers)
    load_before = os.getloadavg()[0]
    children_before = _children_cpu_seconds()
    began = time.perf_counter()
    result = stress_app.run_stress(
        settings, bars, request, folder / "stress", settings.data.calendar
    )
    seconds = time.perf_counter() - began
    worker_cpu = _children_cpu_seconds() - children_before
    counts: dict[str, int] = {}
    for outcome in result.outcomes:
        counts[outcome.family] = counts.get(outcome.family, 0) + 1
    return {
        "scenarios": len(result.outcomes),
        "workers": workers,
        "seconds": round(seconds, 2),
        "scenarios_per_second": round(len(result.outcomes) / seconds, 2),
        "families": {
            name: {"scenarios": counts[name], "seconds": round(result.family_seconds[name], 2)}
            for name in sorted(counts)
        },
        "gate_passed": result.summary["gate"]["passed"],
        "worker_cpu_seconds": round(worker_cpu, 2),
        "load_average": {"before": load_before, "after": os.getloadavg()[0]},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=Path("bench-out/stress.json"))
    options = parser.parse_args()
    output = options.output.resolve()
    with tempfile.TemporaryDirectory(prefix="alphagate-bench-stress-") as temp:
        folder = Path(temp)
        print("making the LightGBM candidate (not timed) ...", flush=True)
        make_candidate(folder)
        report = bench(folder, options.scenarios, options.workers)
    print(f"{report['scenarios']} scenarios on {report['workers']} workers: {report['seconds']} s")
    load = report["load_average"]
    print(
        f"worker CPU {report['worker_cpu_seconds']} s; "
        f"load average {load['before']:.1f} before, {load['after']:.1f} after"
    )
    print(f"{'family':<24}{'scenarios':>10}{'seconds':>10}")
    for name, row in report["families"].items():
        print(f"{name:<24}{row['scenarios']:>10}{row['seconds']:>10.2f}")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
