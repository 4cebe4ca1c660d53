"""The live driver's decision cycle for 500 symbols: bars in to commands journaled, durably.

Target (issue 17): p99 <= 50 ms per cycle on 2 cores, with the journal a
SQLite file in WAL mode with ``synchronous=FULL`` on the local disk (every
append fsynced before it returns).

Workload: 500 symbols of seeded random-walk daily bars, all closing together.
A strategy sends a market order for a tenth of the symbols each bar (which
tenth rotates; it buys one unit where it is flat or short and sells one where
it is long), so every cycle carries orders out, and the previous cycle's
orders fill at this cycle's open. One cycle is
:meth:`alphagate.live.driver.LiveDriver.cycle`: journal the bars, show them
to the venue and journal its fills, journal the close, let the kernel decide,
journal the commands (one write), send them, journal the venue's answers
(one write). Its wall time is taken per cycle, after ``--warmup`` cycles;
its CPU time too, so the share spent waiting on fsync shows.

Two venues: ``paper (memory ledger)``, the simulated venue answering in
process, as a broker's adapter would hand its replies back, so what is timed
is the engine and its journal; and ``paper (durable ledger)``, the paper
venue of ``alphagate paper``, whose own ledger fsyncs once per instruction
(one per order sent), for the whole paper session's cost.

Also timed: one durable append of a small record, alone (``--appends`` of
them), the floor under every journaled step.

``python benchmarks/bench_cycle.py [--symbols 500] [--cycles 300] [--warmup 30]
[--share 0.1] [--dir DIR] [--profile] [--output bench-out/cycle.json]``

``--dir`` is where the journals go (default: a temporary folder under the
current directory, which is on the local disk, where ``/tmp`` may be a RAM
disk). ``--profile`` runs the cycles of the memory-ledger venue a second
time under cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphagate.adapters.journal.sqlite import SqliteJournal
from alphagate.domain.bar import Bar
from alphagate.domain.bars import bars_from_flat
from alphagate.domain.strategy import OrderIntent, StrategyContext
from alphagate.engine.kernel import Kernel
from alphagate.engine.market import MarketData
from alphagate.execution.fill_models import NextOpenFill
from alphagate.execution.portfolio import Portfolio
from alphagate.execution.venue import SimulatedVenue
from alphagate.live.driver import LiveDriver
from alphagate.live.feeds import steps_of
from alphagate.live.paper_venue import PaperVenue
from alphagate.testing.journal import MemoryJournal

TARGET_P99_MS = 50.0
CASH = 1e9
SEED = 17


class Rotates:
    """Each bar, one market order for every ``every``-th symbol, the tenth chosen rotating."""

    name, warmup = "rotates", 1

    def __init__(self, share: float) -> None:
        self.every = max(1, round(1 / share))

    def on_bar(self, context: StrategyContext) -> list[OrderIntent] | None:
        intents = []
        for i, symbol in enumerate(context.updated):
            if (context.bars_seen(symbol) + i) % self.every == 0:
                intents.append(OrderIntent(symbol, 1 if context.position(symbol) <= 0 else -1))
        return intents or None


class Counted:
    """A journal that counts its durable writes (an ``append`` or an ``append_many``)."""

    def __init__(self, inner: SqliteJournal) -> None:
        self.inner, self.writes, self.records = inner, 0, 0

    def append(self, kind: str, record: Mapping[str, object]) -> int:
        self.writes += 1
        self.records += 1
        return self.inner.append(kind, record)

    def append_many(self, records: Sequence[tuple[str, Mapping[str, object]]]) -> int:
        self.writes += 1
        self.records += len(records)
        return self.inner.append_many(records)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def random_walk(symbols: int, bars: int) -> pd.DataFrame:
    """Seeded daily random walks with consistent OHLC, every symbol on every day."""
    rng = np.random.default_rng(SEED)
    closes = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (symbols, bars)), axis=1))
    opens = closes * np.exp(rng.normal(0, 0.005, (symbols, bars)))
    ts = pd.date_range("2020-01-01 21:00", periods=bars, freq="D", tz="UTC")
    flat = pd.DataFrame(
        {
            "symbol": np.repeat([f"S{i:03d}" for i in range(symbols)], bars),
            "ts": np.tile(ts, symbols),
            "open": opens.ravel(),
            "high": np.maximum(opens, closes).ravel() * 1.01,
            "low": np.minimum(opens, closes).ravel() * 0.99,
            "close": closes.ravel(),
            "volume": 1e6,
        }
    )
    return bars_from_flat(flat)


def build(bars: pd.DataFrame, folder: Path, share: float, durable_ledger: bool) -> LiveDriver:
    symbols = list(dict.fromkeys(bars.index.get_level_values("symbol")))
    kernel = Kernel(Rotates(share), Portfolio(CASH), MarketData.empty(symbols))
    venue = SimulatedVenue(NextOpenFill(), symbols=symbols, starting_cash=CASH)
    ledger: Any = SqliteJournal(folder / "venue.db") if durable_ledger else MemoryJournal()
    journal = Counted(SqliteJournal(folder / "journal.db"))
    return LiveDriver(kernel, PaperVenue(venue, ledger), journal)


def run_cycles(
    steps: list[tuple[int, list[Bar]]], driver: LiveDriver, warmup: int
) -> dict[str, Any]:
    journal: Any = driver.journal
    wall, cpu, writes, records, orders = [], [], [], [], []
    for n, (ts, bars) in enumerate(steps):
        before = (journal.writes, journal.records, len(driver.kernel.orders))
        w0, c0 = time.perf_counter(), time.process_time()
        driver.cycle(ts, bars)
        w1, c1 = time.perf_counter(), time.process_time()
        if n >= warmup:
            wall.append((w1 - w0) * 1e3)
            cpu.append((c1 - c0) * 1e3)
            writes.append(journal.writes - before[0])
            records.append(journal.records - before[1])
            orders.append(len(driver.kernel.orders) - before[2])
    return {
        **quantiles(np.array(wall)),
        "cpu_p50_ms": float(np.percentile(cpu, 50)),
        "cpu_p99_ms": float(np.percentile(cpu, 99)),
        "cycles": len(wall),
        "orders_per_cycle": float(np.mean(orders)),
        "journal_writes_per_cycle": float(np.mean(writes)),
        "journal_records_per_cycle": float(np.mean(records)),
    }


def quantiles(ms: np.ndarray[Any, np.dtype[np.float64]]) -> dict[str, float]:
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }


def one_append(folder: Path, n: int) -> dict[str, float]:
    """A small record appended ``n`` times, each its own fsynced transaction."""
    record = {"client_order_id": "ag" + "0" * 30, "event": "accepted", "venue_order_id": "v1"}
    ms = []
    with SqliteJournal(folder / "appends.db") as journal:
        for _ in range(n):
            start = time.perf_counter()
            journal.append("update", record)
            ms.append((time.perf_counter() - start) * 1e3)
    return quantiles(np.array(ms))


def profile(
    bars: pd.DataFrame, steps: list[tuple[int, list[Bar]]], folder: Path, share: float
) -> str:
    """Where a cycle's time goes, by own time per function (memory-ledger venue)."""
    driver = build(bars, folder, share, durable_ledger=False)
    profiler = cProfile.Profile()
    profiler.enable()
    for ts, step in steps:
        driver.cycle(ts, step)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--share", type=float, default=0.1, help="share of symbols ordered a bar")
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--output", type=Path, default=Path("bench-out/cycle.json"))
    args = parser.parse_args()
    bars = random_walk(args.symbols, args.warmup + args.cycles)
    steps = list(steps_of(bars))
    root = args.dir if args.dir is not None else Path.cwd()
    root.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cycle-", dir=root) as scratch:
        folder = Path(scratch)
        results["append"] = one_append(folder / "append", args.appends)
        for label, durable in (
            ("paper (memory ledger)", False),
            ("paper (durable ledger)", True),
        ):
            sub = folder / label.split()[1].strip("(")
            results[label] = run_cycles(steps, build(bars, sub, args.share, durable), args.warmup)
        report = profile(bars, steps, folder / "profile", args.share) if args.profile else None
    print(
        f"{args.symbols} symbols, {args.cycles} cycles after {args.warmup} warm-up, "
        f"{args.share:.0%} of symbols ordered a bar; journal on {root} (WAL, synchronous=FULL); "
        f"{os.cpu_count()} cores"
    )
    header = f"{'':<26}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}{'cpu p50':>9}{'writes':>8}"
    print(header + f"{'records':>9}{'orders':>8}  (ms; per cycle)")
    for label in ("paper (memory ledger)", "paper (durable ledger)"):
        r = results[label]
        print(
            f"{label:<26}{r['p50_ms']:8.2f}{r['p90_ms']:8.2f}{r['p99_ms']:8.2f}{r['max_ms']:8.2f}"
            f"{r['cpu_p50_ms']:9.2f}{r['journal_writes_per_cycle']:8.1f}"
            f"{r['journal_records_per_cycle']:9.1f}{r['orders_per_cycle']:8.1f}"
        )
    a = results["append"]
    print(
        f"{'one durable append':<26}{a['p50_ms']:8.3f}{a['p90_ms']:8.3f}{a['p99_ms']:8.3f}"
        f"{a['max_ms']:8.3f}"
    )
    p99 = results["paper (memory ledger)"]["p99_ms"]
    verdict = "meets" if p99 <= TARGET_P99_MS else "misses"
    print(f"p99 {p99:.1f} ms {verdict} the target p99 <= {TARGET_P99_MS:.0f} ms")
    if report is not None:
        print(report)
    payload = {
        "symbols": args.symbols,
        "cycles": args.cycles,
        "warmup": args.warmup,
        "share": args.share,
        "cores": os.cpu_count(),
        "target_p99_ms": TARGET_P99_MS,
        "results": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
