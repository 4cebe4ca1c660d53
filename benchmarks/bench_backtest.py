"""Backtest throughput: the event engine and the vectorised path against backtesting.py.

Workload: an SMA(10, 30) crossover, long only and all in, market orders filled
at the next bar's open, whole units, no commission, 10,000 cash, on a seeded
synthetic random walk of one-minute bars around the clock (stamped at their
close, consistent OHLC, volume), built directly with NumPy and already in
memory before any timing starts. Sizes default to 100,000 and 1,000,000 bars.

Timed, each from in-memory bars to a finished result:

* ``event engine``: :func:`alphagate.backtest.runner.run_backtest` with
  :class:`~alphagate.engine.builtin.SmaCross` (``sizing="next_open"``,
  ``calendar=None``): orders, fills, trades, metrics;
* ``vectorized (cold)``: :func:`~alphagate.engine.signals.sma_cross_weights`
  plus :func:`~alphagate.backtest.vectorized.run_vectorized`, first call in a
  fresh process with an empty numba cache, so numba compiles the kernel;
* ``vectorized (warm)``: the same, compiled, best of ``--repeat``;
* ``backtesting.py``: ``Backtest(df, Strat, cash, commission=0,
  finalize_trades=True).run()`` with ``backtesting.lib.crossover`` over
  pandas rolling means (the oracle of ``tests/integration``); ``df`` is built
  beforehand.

The three must agree: the same trade count, and the same final equity.
backtesting.py with ``finalize_trades=True`` closes a trade still open at the
end at the last bar's *open*, where alphagate leaves it open and marks it at
the last close; so its final equity is compared with ours as if the position
were sold at the last open (no commission here, so nothing else differs).

Usage::

    python benchmarks/bench_backtest.py [--sizes 100000,1000000] [--skip-peers]
        [--repeat 3] [--output bench-out/backtest.json]
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
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CASH = 10_000.0
FAST, SLOW = 10, 30
SEED = 20240101


def random_walk_bars(n: int, seed: int = SEED) -> pd.DataFrame:
    """A canonical bars frame of ``n`` one-minute bars of symbol ``RW``, 24/7, stamped at close."""
    rng = np.random.default_rng(seed)
    log_close = np.log(100.0) + np.cumsum(rng.normal(0.0, 5e-4, n))
    close = np.exp(log_close)
    gap = np.exp(rng.normal(0.0, 1e-4, n))
    open_ = np.empty(n)
    open_[0] = 100.0
    open_[1:] = close[:-1] * gap[1:]
    wick = np.abs(rng.normal(0.0, 3e-4, (2, n)))
    high = np.maximum(open_, close) * (1.0 + wick[0])
    low = np.minimum(open_, close) * (1.0 - wick[1])
    volume = rng.integers(1, 1000, n).astype(np.float64)
    ts = pd.date_range("2020-01-01 00:01", periods=n, freq="min", tz="UTC").as_unit("ns")
    index = pd.MultiIndex.from_arrays(
        [pd.Index(["RW"] * n, dtype="object"), ts], names=["symbol", "ts"]
    )
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def _vectorized(bars: pd.DataFrame) -> Any:
    from alphagate.backtest.vectorized import run_vectorized
    from alphagate.engine.signals import sma_cross_weights

    weights = sma_cross_weights(bars["close"].to_numpy(), FAST, SLOW)
    return run_vectorized(bars, weights, cash=CASH, commission_bps=0.0, units="whole")


def _cold_child(n: int) -> None:
    bars = random_walk_bars(n)
    import alphagate.backtest.vectorized  # noqa: F401  (import is not part of the timing)

    start = time.perf_counter()
    result = _vectorized(bars)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "final": float(result.equity.iloc[-1])}))


def _time_cold(n: int) -> float:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run(
            [sys.executable, __file__, "--cold-child", str(n)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def _sma(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).mean().to_numpy()


def _backtesting_py(bars: pd.DataFrame) -> tuple[float, pd.Series]:
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    class SmaCrossBt(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(_sma, self.data.Close, FAST)
            self.slow = self.I(_sma, self.data.Close, SLOW)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()

    frame = bars.xs("RW", level="symbol")
    df = pd.DataFrame(
        {c.capitalize(): frame[c].to_numpy() for c in ("open", "high", "low", "close", "volume")},
        index=frame.index,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        stats = Backtest(df, SmaCrossBt, cash=CASH, commission=0, finalize_trades=True).run()
        seconds = time.perf_counter() - start
    return seconds, stats


def bench_size(n: int, repeat: int, skip_peers: bool) -> dict[str, Any]:
    """Time every path on ``n`` bars and check their agreement."""
    from alphagate.backtest.runner import run_backtest
    from alphagate.engine.builtin import SmaCross

    bars = random_walk_bars(n)
    out: dict[str, Any] = {"bars": n, "seconds": {}}
    seconds = out["seconds"]

    seconds["vectorized (cold)"] = _time_cold(n)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fast = _vectorized(bars)
        times.append(time.perf_counter() - start)
    seconds["vectorized (warm)"] = min(times)

    start = time.perf_counter()
    event = run_backtest(bars, SmaCross(FAST, SLOW), cash=CASH, units="whole", calendar=None)
    seconds["event engine"] = time.perf_counter() - start

    open_last = float(bars["open"].iloc[-1])
    held = float(fast.positions[-1])
    ours_final = float(fast.equity.iloc[-1])
    agreement: dict[str, Any] = {
        "trades": {"vectorized": fast.trades, "event engine": len(event.trades)},
        "final_equity": {"vectorized": ours_final, "event engine": float(event.equity.iloc[-1])},
        "max_rel_diff_equity_vectorized_vs_event": float(
            np.max(np.abs(fast.equity.to_numpy() / event.equity.to_numpy() - 1.0))
        ),
        "open_position_at_end": held,
    }
    if not skip_peers:
        seconds["backtesting.py"], stats = _backtesting_py(bars)
        agreement["trades"]["backtesting.py"] = int(stats["# Trades"])
        agreement["final_equity"]["backtesting.py"] = float(stats["Equity Final [$]"])
        # Ours as if the open position were sold at the last bar's open, as theirs does.
        agreement["final_equity"]["vectorized, closed at last open"] = (
            ours_final - held * float(bars["close"].iloc[-1]) + held * open_last
        )
    out["agreement"] = agreement
    return out


def _print(results: list[dict[str, Any]]) -> None:
    for result in results:
        n, seconds, agree = result["bars"], result["seconds"], result["agreement"]
        print(f"\n{n:,} bars")
        peers = [p for p in ("backtesting.py", "event engine") if p in seconds]
        header = f"{'path':<20}{'seconds':>10}{'bars/s':>14}" + "".join(
            f"{'speed-up vs ' + p:>28}" for p in peers
        )
        print(header)
        for name, s in seconds.items():
            ratios = "".join(f"{seconds[p] / s:>27.2f}x" for p in peers)
            print(f"{name:<20}{s:>10.4f}{n / s:>14,.0f}{ratios}")
        print(f"trades: {agree['trades']}")
        finals = agree["final_equity"]
        print("final equity: " + ", ".join(f"{k}={v:.6f}" for k, v in finals.items()))
        print(
            "vectorized vs event engine, max relative equity difference: "
            f"{agree['max_rel_diff_equity_vectorized_vs_event']:.3g}"
        )
        if "backtesting.py" in finals:
            rel = abs(finals["vectorized, closed at last open"] / finals["backtesting.py"] - 1.0)
            same = len(set(agree["trades"].values())) == 1
            print(
                f"agreement with backtesting.py: trades {'equal' if same else 'DIFFER'}, "
                f"final equity relative difference {rel:.3g}"
            )


def main() -> None:
    """Parse arguments, run the sizes, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=Path("bench-out/backtest.json"))
    parser.add_argument("--cold-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_child:
        _cold_child(args.cold_child)
        return
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results = [bench_size(n, args.repeat, args.skip_peers) for n in sizes]
    _print(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "python": platform.python_version(),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "results": results,
    }
    args.output.write_text(json.dumps(payload, indent=2))
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
