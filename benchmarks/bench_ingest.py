"""Ingest throughput and peak memory against a plain ``pandas.read_csv`` of the same file.

Generates a CSV of ``--rows`` one-minute bars (ten symbols, ISO timestamps
with offsets), then runs, each in a fresh process so peak RSS is its own:

* ``alphagate``: the full ingest (chunked parse, every quality rule, the
  atomic Parquet store write);
* ``pandas``: ``pandas.read_csv`` of the same file and nothing else, the peer
  every user already has;
* ``pandas_to_parquet``: ``read_csv`` with the timestamps parsed, then
  ``to_parquet``: the least a hand-rolled ingest does, with no checks at all.

Reports rows/s, peak RSS and the ratios. Usage::

    python benchmarks/bench_ingest.py --rows 10000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SYMBOLS = 10

CHILD_ALPHAGATE = """
import json, resource, sys, time
from pathlib import Path
from alphagate.config import CsvConfig, QualityConfig
from alphagate.data.ingest import ingest
from alphagate.data.sources.csv import CsvSource
from alphagate.data.store import BarStore
from alphagate.domain.timeframe import Timeframe
path, store_dir = Path(sys.argv[1]), Path(sys.argv[2])
start = time.perf_counter()
source = CsvSource(path, CsvConfig(label="end"), timeframe=Timeframe.parse("1m"), calendar=None)
result = ingest(source, BarStore(store_dir), QualityConfig())
seconds = time.perf_counter() - start
rows = sum(w.new_rows for w in result.writes)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": peak}))
"""

CHILD_PANDAS = """
import json, resource, sys, time
import pandas as pd
start = time.perf_counter()
frame = pd.read_csv(sys.argv[1])
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rows": len(frame), "peak_mb": peak}))
"""


CHILD_PANDAS_PARQUET = """
import json, resource, sys, time
import pandas as pd
start = time.perf_counter()
frame = pd.read_csv(sys.argv[1], parse_dates=["ts"])
frame.to_parquet(sys.argv[2])
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rows": len(frame), "peak_mb": peak}))
"""


def generate(path: Path, rows: int, seed: int = 11) -> None:
    """Write ``rows`` valid one-minute bars for ten symbols, in blocks to bound memory."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    per_symbol = rows // SYMBOLS
    rng = np.random.default_rng(seed)
    start = np.datetime64("2020-01-01T00:01:00", "ns")
    block = 1_000_000
    with pacsv.CSVWriter(
        str(path),
        pa.schema(
            [("symbol", pa.string()), ("ts", pa.string())]
            + [(c, pa.float64()) for c in ("open", "high", "low", "close", "volume")]
        ),
    ) as writer:
        for number in range(SYMBOLS):
            price = 100.0
            for offset in range(0, per_symbol, block):
                size = min(block, per_symbol - offset)
                minutes = np.arange(offset, offset + size)
                stamps = (start + minutes.astype("timedelta64[m]")).astype(str)
                returns = rng.normal(0, 0.0005, size)
                close = price * np.exp(np.cumsum(returns))
                open_ = np.concatenate([[price], close[:-1]])
                price = float(close[-1])
                spread = np.abs(rng.normal(0, 0.0003, size))
                high = np.maximum(open_, close) * (1 + spread)
                low = np.minimum(open_, close) * (1 - spread)
                volume = np.round(rng.lognormal(8, 0.5, size))
                table = pa.table(
                    {
                        "symbol": pa.array([f"SYM{number:02d}"] * size),
                        "ts": pa.array(np.char.add(stamps, "Z")),
                        "open": open_.round(6),
                        "high": high.round(6),
                        "low": low.round(6),
                        "close": close.round(6),
                        "volume": volume,
                    }
                )
                writer.write_table(table)


def run_child(code: str, *args: str) -> dict[str, float]:
    """Run one measurement in a fresh interpreter and return its JSON line."""
    output = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    """Generate the file, measure both, print and save the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--output", type=Path, default=Path("bench-out/ingest.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alphagate-bench-") as folder:
        path = Path(folder) / "bars.csv"
        began = time.perf_counter()
        generate(path, args.rows)
        size_mb = path.stat().st_size / 2**20
        print(
            f"generated {args.rows:,} rows ({size_mb:,.0f} MiB) "
            f"in {time.perf_counter() - began:.1f}s",
            flush=True,
        )
        ours = run_child(CHILD_ALPHAGATE, str(path), str(Path(folder) / "store"))
        peer = run_child(CHILD_PANDAS, str(path))
        plain = run_child(CHILD_PANDAS_PARQUET, str(path), str(Path(folder) / "plain.parquet"))
    assert ours["rows"] == peer["rows"], (ours, peer)
    report = {
        "rows": args.rows,
        "file_mib": round(size_mb, 1),
        "alphagate_ingest": {
            "seconds": round(ours["seconds"], 2),
            "rows_per_s": round(ours["rows"] / ours["seconds"]),
            "peak_rss_mib": round(ours["peak_mb"]),
        },
        "pandas_read_csv": {
            "seconds": round(peer["seconds"], 2),
            "rows_per_s": round(peer["rows"] / peer["seconds"]),
            "peak_rss_mib": round(peer["peak_mb"]),
        },
        "pandas_read_csv_parse_dates_to_parquet": {
            "seconds": round(plain["seconds"], 2),
            "rows_per_s": round(plain["rows"] / plain["seconds"]),
            "peak_rss_mib": round(plain["peak_mb"]),
        },
        "time_ratio_alphagate_over_pandas": round(ours["seconds"] / peer["seconds"], 2),
        "time_ratio_alphagate_over_pandas_to_parquet": round(ours["seconds"] / plain["seconds"], 2),
        "memory_ratio_alphagate_over_pandas": round(ours["peak_mb"] / peer["peak_mb"], 2),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
