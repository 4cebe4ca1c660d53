"""Scale-out throughput: stress scenarios and a 1,000-point sweep, on 1 and 2 workers and on Ray.

Steps, in a temporary folder (nothing outside it is touched):

1. ``alphagate data ingest`` of the bundled data (not timed);
2. **stress**: :func:`alphagate.app.stress.run_stress` runs ``--scenarios``
   scenarios of the default library through a rule candidate (``sma_cross``
   10/30: cheap, so the fan-out, not the model, is measured);
3. **sweep**: :func:`alphagate.app.sweep.run_sweep` scores a 1,000-point
   ``sma_cross`` grid (``fast=5:50:5`` x ``slow=55:550:5``: every point valid)
   on ^GSPC's 5,031 daily bars;

each at 1 and 2 local worker processes and on a local Ray instance of 2 CPUs
(on loopback, started once, not timed). A timing is the whole call, as a user
waits for it: spawning the workers (importing alphagate, compiling numba) and
sending them the bars included. Scaling efficiency is throughput at 2 / (2 x
throughput at 1); Ray's is against the local 1-worker run.

4. **vectorbt**: the same grid on the same bars with ``vbt.MA.run`` and
   ``vbt.Portfolio.from_signals``: crosses taken as alphagate takes them
   (strictly, bar ``t-1`` against bar ``t``), filled at the next bar's open,
   whole units, the same cash and commission. Timed after a warm-up call (its
   numba compiled), in this process. The final equities of both are compared
   point by point and the largest relative difference is reported: where
   sizing and fees are computed the same way they agree to rounding; the
   README says where they do not.

Usage::

    python benchmarks/bench_scale.py [--scenarios 40] [--output FILE]

``--output`` defaults to ``bench-out/scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SYMBOL = "^GSPC"
GRID = "fast=5:50:5,slow=55:550:5"
STRATEGY_PARAMS = {"fast": "10", "slow": "30"}


def _alphagate(folder: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHAGATE__")}
    command = [str(Path(sys.executable).with_name("alphagate")), *args]
    subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True)


def _timed(call: Callable[[Any, int], int], settings: Any, workers: int) -> dict[str, float]:
    began = time.perf_counter()
    tasks = call(settings, workers)
    seconds = time.perf_counter() - began
    return {"tasks": tasks, "seconds": round(seconds, 2), "per_second": round(tasks / seconds, 2)}


def _efficiency(runs: dict[str, dict[str, float]]) -> dict[str, float]:
    one = runs["local-1"]["per_second"]
    return {name: round(runs[name]["per_second"] / (2 * one), 3) for name in ("local-2", "ray-2")}


def bench_parallel(folder: Path, scenarios: int) -> dict[str, Any]:
    """Stress and sweep at 1 and 2 local workers and on a local Ray of 2 CPUs."""
    os.chdir(folder)
    from alphagate import parallel
    from alphagate.app import research
    from alphagate.app import stress as stress_app
    from alphagate.app import sweep as sweep_app
    from alphagate.backtest.sweep import parse_grid
    from alphagate.config import Settings, load_config

    def settings_for(backend: str) -> Settings:
        return load_config([], environ={}, overrides=[f"parallel.backend={backend}"])

    local = settings_for("local")
    bars = research.load_input(local, tolerate_gaps=True).bars
    one = bars.loc[bars.index.get_level_values("symbol") == SYMBOL]

    def stress(settings: Settings, workers: int) -> int:
        request = stress_app.StressRequest(
            strategy="sma_cross", params=STRATEGY_PARAMS, scenarios=scenarios, workers=workers
        )
        result = stress_app.run_stress(
            settings, bars, request, folder / "stress", settings.data.calendar
        )
        return len(result.outcomes)

    def sweep(settings: Settings, workers: int) -> int:
        request = sweep_app.SweepRequest("sma_cross", parse_grid(GRID), {}, workers=workers)
        outcome = sweep_app.run_sweep(settings, one, request, folder / "sweep")
        assert outcome.failures == 0, outcome.failures
        return len(outcome.table)

    found: dict[str, Any] = {"stress": {}, "sweep": {}}
    for workers in (1, 2):
        for name, call in (("stress", stress), ("sweep", sweep)):
            found[name][f"local-{workers}"] = _timed(call, local, workers)
    ray_settings = settings_for("ray")
    parallel.start_ray(workers=2)
    try:
        for name, call in (("stress", stress), ("sweep", sweep)):
            call(ray_settings, 2)  # Ray's workers start and import on first use: not timed
            found[name]["ray-2"] = _timed(call, ray_settings, 2)
    finally:
        parallel.stop_ray()
    for name in ("stress", "sweep"):
        found[name]["efficiency"] = _efficiency(found[name])
    found["sweep_table"] = pd.read_csv(folder / "sweep" / "sweep.csv")
    found["bars"] = one
    found["cash"] = local.execution.cash
    found["commission_bps"] = local.execution.commission_bps or 0.0
    return found


def bench_vectorbt(
    bars: pd.DataFrame, table: pd.DataFrame, cash: float, commission_bps: float
) -> dict[str, Any]:
    """The same grid in vectorbt: timed after a warm-up; its final equities against ours."""
    import vectorbt as vbt  # type: ignore[import-untyped]

    frame = bars.droplevel("symbol")
    close, open_ = frame["close"], frame["open"]
    fast = table["fast"].to_numpy(int)
    slow = table["slow"].to_numpy(int)

    def run(columns: slice) -> pd.Series:
        fast_ma = vbt.MA.run(close, window=list(fast[columns]), short_name="fast").ma.to_numpy()
        slow_ma = vbt.MA.run(close, window=list(slow[columns]), short_name="slow").ma.to_numpy()
        before_f, before_s, now_f, now_s = fast_ma[:-1], slow_ma[:-1], fast_ma[1:], slow_ma[1:]
        up = np.zeros_like(fast_ma, dtype=bool)
        down = np.zeros_like(fast_ma, dtype=bool)
        up[1:] = (before_f < before_s) & (now_f > now_s)
        down[1:] = (before_s < before_f) & (now_s > now_f)
        # A cross seen at bar t's close is traded at bar t+1's open.
        entries = np.zeros_like(up)
        exits = np.zeros_like(down)
        entries[1:], exits[1:] = up[:-1], down[:-1]
        n = fast_ma.shape[1]
        portfolio = vbt.Portfolio.from_signals(
            close=pd.concat([close] * n, axis=1, keys=range(n)),
            entries=entries,
            exits=exits,
            price=pd.concat([open_] * n, axis=1, keys=range(n)),
            size=1.0,
            size_type="percent",
            size_granularity=1.0,
            fees=commission_bps / 1e4,
            init_cash=cash,
            freq="1D",
        )
        final: pd.Series = portfolio.final_value()
        return final

    run(slice(0, 4))  # compiles vectorbt's numba functions
    began = time.perf_counter()
    final = run(slice(None))
    seconds = time.perf_counter() - began
    ours = table["final_equity"].to_numpy(float)
    theirs = final.to_numpy(float)
    difference = np.abs(theirs - ours) / np.abs(ours)
    return {
        "tasks": len(table),
        "seconds": round(seconds, 2),
        "per_second": round(len(table) / seconds, 2),
        "final_equity_max_relative_difference": float(difference.max()),
        "final_equity_median_relative_difference": float(np.median(difference)),
        "points_within_1e-6": int((difference < 1e-6).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=40)
    parser.add_argument("--output", type=Path, default=Path("bench-out/scale.json"))
    options = parser.parse_args()
    output = options.output.resolve()
    with tempfile.TemporaryDirectory(prefix="alphagate-bench-scale-") as temp:
        folder = Path(temp)
        print("ingesting the bundled data (not timed) ...", flush=True)
        _alphagate(folder, "data", "ingest")
        here = Path.cwd()
        try:
            found = bench_parallel(folder, options.scenarios)
        finally:
            os.chdir(here)  # numba resolves paths from the working folder, about to be deleted
    vbt_run = bench_vectorbt(
        found.pop("bars"), found.pop("sweep_table"), found.pop("cash"), found.pop("commission_bps")
    )
    ours_best = max(found["sweep"][k]["per_second"] for k in ("local-1", "local-2", "ray-2"))
    vbt_run["alphagate_best_over_vectorbt"] = round(ours_best / vbt_run["per_second"], 3)
    report = {
        **found,
        "vectorbt": vbt_run,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    for name in ("stress", "sweep"):
        print(f"{name}:")
        for run_name, row in found[name].items():
            print(f"  {run_name:<11}{row}")
    print(f"vectorbt: {report['vectorbt']}")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
