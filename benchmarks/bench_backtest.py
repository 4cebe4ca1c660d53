"""Backtest throughput: alphagate's event engine and vectorised path against three peers.

Workload: an SMA(10, 30) crossover, long only and all in, market orders filled
at the next bar's open, whole units, no commission, 10,000 cash, on a seeded
synthetic random walk of one-minute bars around the clock (stamped at their
close, consistent OHLC, volume), built directly with NumPy and already in
memory before any timing starts. Sizes default to 100,000 and 1,000,000 bars.

Every path runs in its own child process (this script again, with the hidden
``--child PATH N``), which builds the bars, imports what it needs, notes its
resident memory, times the run and prints seconds, peak RSS, trade count and
final equity as JSON; its trades (and equity curve, where there is one) go to
files the parent compares. Paths, each from in-memory bars to a finished
result:

* ``event engine``: :func:`alphagate.backtest.runner.run_backtest` with
  :class:`~alphagate.strategies.builtin.SmaCross` (``sizing="next_open"``,
  ``calendar=None``): orders, fills, trades, metrics;
* ``vectorized (warm)``: :func:`~alphagate.strategies.signals.sma_cross_weights`
  plus :func:`~alphagate.backtest.vectorized.run_vectorized`, run once untimed
  (numba compiles or loads its cache), then best of ``--repeat``;
* ``vectorized (cold)``: the same, first call in a process with an empty
  ``NUMBA_CACHE_DIR``, so numba compiles the kernel inside the timing;
* ``backtesting.py``: ``Backtest(df, Strat, cash, commission=0,
  finalize_trades=True).run()`` with ``backtesting.lib.crossover`` over
  pandas rolling means (the oracle of ``tests/integration``); ``df`` is built
  beforehand;
* ``backtrader``: ``Cerebro(cheat_on_open=True, stdstats=False)`` (no
  observers: nothing here plots), a ``PandasData`` feed, ``bt.ind.SMA`` of the
  closes; the cross (``fast[-1] < slow[-1] and fast[0] > slow[0]``, and the
  reverse to close) is decided in ``next()`` and acted on in ``next_open()``,
  buying ``floor(cash / open)`` units at that bar's open; timed from the feed
  to the end of ``run()``; final equity is the broker's value (last close);
* ``vectorbt (warm)``: ``vbt.MA.run`` of the closes, ``ma_crossed_above`` /
  ``ma_crossed_below`` shifted by one bar, ``Portfolio.from_signals(close,
  entries, exits, price=open, size=np.inf, size_granularity=1,
  init_cash=10000, fees=0)``, ``final_value()`` and ``trades.count()``; once
  untimed, then best of ``--repeat``;
* ``vectorbt (cold)``: the same, first call with an empty ``NUMBA_CACHE_DIR``
  (the ``import vectorbt`` before it is reported apart, not timed);
* ``alphagate backtest process``: wall time of the whole
  ``alphagate --config CFG backtest --data FILE.parquet --output DIR
  --strategy sma_cross --params fast=10,slow=30 --timeframe 1m`` process
  (start-up, load and quality checks, run, metrics, CSVs, report.html); the
  bars are written to Parquet first (``symbol, ts, open, high, low, close,
  volume``, ``ts`` UTC at the bar's close) and ``CFG`` sets
  ``data.calendar: null`` (24/7 bars: no session calendar, gaps checked against
  the one-minute spacing) and ``data.csv.label: end``; its peak RSS is that of
  the CLI process (``RUSAGE_CHILDREN``). The process runs ``--repeat`` times,
  each a fresh start, and its time is the median (all runs are printed).

Peak RSS is the child's ``ru_maxrss``, everything included (interpreter,
imports, bars, warm-up runs); ``rss before`` is its resident memory just
before the timed run, so the difference is what the run added.

Agreement is checked against the event engine: the same round trips (a trade
still open at the end counts; entry and exit bars, prices and quantities) and
the final equity. backtesting.py with ``finalize_trades=True`` closes a trade
still open at the end at the last bar's open, where alphagate leaves it open
and marks it at the last close; so its final equity is compared with ours as
if the position were sold at the last open (no commission here, so nothing
else differs), and its last trade closed on the last bar matches our open one.
Any disagreement is printed with its size and the first differing trade.

Usage::

    python benchmarks/bench_backtest.py [--sizes 100000,1000000] [--skip-peers]
        [--repeat 3] [--paths "event engine,backtrader"] [--output bench-out/backtest.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CASH = 10_000.0
FAST, SLOW = 10, 30
SEED = 20240101
REPO = Path(__file__).resolve().parent.parent
MARKER = "BENCH-RESULT "
PRICE_RTOL = 1e-9

PATHS = (
    "event engine",
    "vectorized (warm)",
    "vectorized (cold)",
    "backtesting.py",
    "backtrader",
    "vectorbt (warm)",
    "vectorbt (cold)",
    "alphagate backtest process",
    "backtesting.py process",
)
PEERS = (
    "backtesting.py", "backtrader", "vectorbt (warm)", "vectorbt (cold)", "backtesting.py process",
)  # fmt: skip
COLD = ("vectorized (cold)", "vectorbt (cold)")
RATIO_TO = ("backtesting.py", "backtrader", "event engine", "backtesting.py process")
PEER_MODULE = {
    "backtesting.py": "backtesting",
    "backtrader": "backtrader",
    "vectorbt (warm)": "vectorbt",
    "vectorbt (cold)": "vectorbt",
    "backtesting.py process": "backtesting",
}

# The process path reads 24/7 one-minute bars from a Parquet file.
PROCESS_CONFIG = """\
data:
  timeframe: 1m
  calendar: null
  csv:
    label: end
"""


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


# --------------------------------------------------------------------------- child side
#
# Each runner gets the bars and returns the child's result: ``seconds``,
# ``final``, ``trades`` (an array of round trips, one row each: entry bar,
# entry price, exit bar or -1 while open, exit price or NaN, quantity) and
# optionally ``equity`` (the curve at every bar close) and extra fields.


def _rss_now_mib() -> float:
    """Resident memory of this process now (VmRSS), MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory (``ru_maxrss``, KiB on Linux), MiB."""
    return resource.getrusage(who).ru_maxrss / 1024


def _best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def _trades_from_positions(positions: np.ndarray, open_: np.ndarray) -> np.ndarray:
    """Round trips of a long-only position path filled at the bars' opens."""
    held = positions > 0
    before = np.concatenate([[False], held[:-1]])
    entries = np.flatnonzero(held & ~before)
    exits = np.flatnonzero(~held & before)
    out = np.full((len(entries), 5), np.nan)
    out[:, 0] = entries
    out[:, 1] = open_[entries]
    out[:, 2] = -1
    out[: len(exits), 2] = exits
    out[: len(exits), 3] = open_[exits]
    out[:, 4] = positions[entries]
    return out


def _trades_from_frame(trades: pd.DataFrame, ts: pd.DatetimeIndex) -> np.ndarray:
    """Round trips of alphagate's ``trades`` frame (``TRADE_COLUMNS``), bars by position."""
    out = np.full((len(trades), 5), np.nan)
    if trades.empty:
        return out
    entry_ts = pd.DatetimeIndex(pd.to_datetime(trades["entry_ts"], utc=True))
    exit_ts = pd.DatetimeIndex(pd.to_datetime(trades["exit_ts"], utc=True))
    out[:, 0] = ts.get_indexer(entry_ts)
    out[:, 1] = trades["entry_price"].to_numpy(dtype=float)
    exit_at = ts.get_indexer(exit_ts)
    out[:, 2] = np.where(exit_ts.isna(), -1, exit_at)
    out[:, 3] = trades["exit_price"].to_numpy(dtype=float)
    out[:, 4] = trades["qty"].to_numpy(dtype=float)
    return out


def _vectorized(bars: pd.DataFrame) -> Any:
    from alphagate.backtest.vectorized import run_vectorized
    from alphagate.strategies.signals import sma_cross_weights

    weights = sma_cross_weights(bars["close"].to_numpy(), FAST, SLOW)
    return run_vectorized(bars, weights, cash=CASH, commission_bps=0.0, units="whole")


def _run_event(bars: pd.DataFrame, repeat: int) -> dict[str, Any]:
    from alphagate.backtest.runner import run_backtest
    from alphagate.strategies.builtin import SmaCross

    rss = _rss_now_mib()
    start = time.perf_counter()
    result = run_backtest(bars, SmaCross(FAST, SLOW), cash=CASH, units="whole", calendar=None)
    seconds = time.perf_counter() - start
    ts = pd.DatetimeIndex(bars.index.get_level_values("ts"))
    return {
        "seconds": seconds,
        "rss_before_mib": rss,
        "final": float(result.equity.iloc[-1]),
        "trades": _trades_from_frame(result.trades, ts),
        "equity": result.equity.to_numpy(dtype=float),
    }


def _vectorized_result(
    seconds: float, rss: float, result: Any, bars: pd.DataFrame
) -> dict[str, Any]:
    open_ = bars["open"].to_numpy()
    trades = _trades_from_positions(np.asarray(result.positions, dtype=float), open_)
    if len(trades) != result.trades:
        raise RuntimeError(f"{result.trades} trades reported, {len(trades)} in the positions")
    return {
        "seconds": seconds,
        "rss_before_mib": rss,
        "final": float(result.equity.iloc[-1]),
        "trades": trades,
        "equity": result.equity.to_numpy(dtype=float),
    }


def _run_vectorized_warm(bars: pd.DataFrame, repeat: int) -> dict[str, Any]:
    _vectorized(bars)  # compile, or load numba's cache: not timed
    rss = _rss_now_mib()
    seconds, result = _best_of(repeat, lambda: _vectorized(bars))
    return _vectorized_result(seconds, rss, result, bars)


def _run_vectorized_cold(bars: pd.DataFrame, repeat: int) -> dict[str, Any]:
    import alphagate.backtest.vectorized
    import alphagate.strategies.signals  # noqa: F401  (imports are not part of the timing)

    rss = _rss_now_mib()
    seconds, result = _best_of(1, lambda: _vectorized(bars))
    return _vectorized_result(seconds, rss, result, bars)


def _sma(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).mean().to_numpy()


def _backtesting_py_trades(found: pd.DataFrame) -> np.ndarray:
    """backtesting.py's trades as rows: entry bar, entry price, exit bar, exit price, size."""
    columns = ("EntryBar", "EntryPrice", "ExitBar", "ExitPrice", "Size")
    return np.column_stack([found[c].to_numpy(dtype=float) for c in columns]).reshape(-1, 5)


def _run_backtesting_py(bars: pd.DataFrame, repeat: int) -> dict[str, Any]:
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
        rss = _rss_now_mib()
        start = time.perf_counter()
        stats = Backtest(df, SmaCrossBt, cash=CASH, commission=0, finalize_trades=True).run()
        seconds = time.perf_counter() - start
    trades = _backtesting_py_trades(stats["_trades"])
    return {
        "seconds": seconds,
        "rss_before_mib": rss,
        "final": float(stats["Equity Final [$]"]),
        "trades": trades,
        "reported_trades": int(stats["# Trades"]),
    }


def _run_backtrader(bars: pd.DataFrame, repeat: int) -> dict[str, Any]:
    import backtrader as bt

    class SmaCrossBtr(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.fast = bt.ind.SMA(self.data.close, period=FAST)
            self.slow = bt.ind.SMA(self.data.close, period=SLOW)
            self.action: str | None = None
            self.fills: list[tuple[int, float, float]] = []

        def next(self) -> None:  # the bar has closed: decide
            self.action = None
            f0, f1, s0, s1 = self.fast[0], self.fast[-1], self.slow[0], self.slow[-1]
            if not self.position:
                if f1 < s1 and f0 > s0:
                    self.action = "buy"
            elif s1 < f1 and s0 > f0:
                self.action = "close"

        def next_open(self) -> None:  # the next bar has opened: act at its open
            if self.action == "buy":
                size = math.floor(self.broker.getcash() / self.data.open[0])
                if size > 0:
                    self.buy(size=size)
            elif self.action == "close":
                self.close()
            self.action = None

        def notify_order(self, order: Any) -> None:
            if order.status == order.Completed:
                bar = len(self.data) - 1
                self.fills.append((bar, order.executed.price, order.executed.size))

    frame = bars.xs("RW", level="symbol")
    df = frame[["open", "high", "low", "close", "volume"]].copy()
    df.index = pd.DatetimeIndex(df.index).tz_localize(None)
    rss = _rss_now_mib()
    start = time.perf_counter()
    cerebro = bt.Cerebro(cheat_on_open=True, stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=df, openinterest=None))
    cerebro.addstrategy(SmaCrossBtr)
    cerebro.broker.setcash(CASH)
    cerebro.broker.setcommission(commission=0.0)
    strategy = cerebro.run()[0]
    seconds = time.perf_counter() - start
    rows: list[list[float]] = []
    for bar, price, size in strategy.fills:
        if size > 0:
            rows.append([bar, price, -1, np.nan, size])
        else:
            rows[-1][2:4] = [bar, price]
    return {
        "seconds": seconds,
        "rss_before_mib": rss,
        "final": float(cerebro.broker.getvalue()),
        "trades": np.array(rows, dtype=float).reshape(-1, 5),
    }


def _vectorbt_run(vbt: Any, close: pd.Series, open_: pd.Series) -> Any:
    fast = vbt.MA.run(close, FAST)
    slow = vbt.MA.run(close, SLOW)
    entries = fast.ma_crossed_above(slow).shift(1, fill_value=False)
    exits = fast.ma_crossed_below(slow).shift(1, fill_value=False)
    pf = vbt.Portfolio.from_signals(
        close, entries, exits, price=open_, size=np.inf, size_granularity=1,
        init_cash=CASH, fees=0.0, freq="1min",
    )  # fmt: skip
    return pf, float(pf.final_value()), int(pf.trades.count())


def _vectorbt_result(seconds: float, rss: float, run: tuple[Any, float, int]) -> dict[str, Any]:
    pf, final, count = run
    records = pf.trades.values
    trades = np.column_stack(
        [
            records["entry_idx"].astype(float),
            records["entry_price"],
            np.where(records["status"] == 0, -1, records["exit_idx"]).astype(float),
            np.where(records["status"] == 0, np.nan, records["exit_price"]),
            records["size"],
        ]
    ).reshape(-1, 5)
    if len(trades) != count:
        raise RuntimeError(f"trades.count() is {count}, {len(trades)} trade records")
    return {
        "seconds": seconds,
        "rss_before_mib": rss,
        "final": final,
        "trades": trades,
        "equity": np.asarray(pf.value(), dtype=float),
    }


def _vectorbt_inputs(bars: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    frame = bars.xs("RW", level="symbol")
    # A naive (UTC) index: vectorbt turns a tz-aware one into Timestamp objects on every wrap.
    index = pd.DatetimeIndex(frame.index).tz_localize(None)
    close = pd.Series(frame["close"].to_numpy(), index=index, name="close")
    return close, pd.Series(frame["open"].to_numpy(), index=index, name="open")


def _run_vectorbt_warm(bars: pd.DataFrame, repeat: int) -> dict[str, Any]:
    import vectorbt as vbt

    close, open_ = _vectorbt_inputs(bars)
    _vectorbt_run(vbt, close, open_)  # compile, or load numba's cache: not timed
    rss = _rss_now_mib()
    seconds, run = _best_of(repeat, lambda: _vectorbt_run(vbt, close, open_))
    return _vectorbt_result(seconds, rss, run)


def _run_vectorbt_cold(bars: pd.DataFrame, repeat: int) -> dict[str, Any]:
    start = time.perf_counter()
    import vectorbt as vbt

    imported = time.perf_counter() - start
    close, open_ = _vectorbt_inputs(bars)
    rss = _rss_now_mib()
    seconds, run = _best_of(1, lambda: _vectorbt_run(vbt, close, open_))
    return {**_vectorbt_result(seconds, rss, run), "import_seconds": imported}


def _alphagate_cli() -> str:
    beside = Path(sys.executable).with_name("alphagate")
    if beside.exists():
        return str(beside)
    found = shutil.which("alphagate")
    if found is None:
        raise RuntimeError("the alphagate command is not installed")
    return found


def _fresh_runs(
    command: list[str], repeat: int
) -> tuple[list[float], subprocess.CompletedProcess[str]]:
    """Wall seconds of ``repeat`` fresh runs of ``command``, and the last run's result.

    Each run is a fresh process, so repeating gives the spread of first runs;
    this host's speed drifts by a third, and the median is what is reported.
    """
    runs = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
        runs.append(time.perf_counter() - start)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip()[-2000:]
            raise RuntimeError(f"{Path(command[1]).name} exited {done.returncode}: {tail}")
    return runs, done


def _run_process(bars: pd.DataFrame, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        folder = Path(tmp)
        data, config, output = folder / "bars.parquet", folder / "bench.yaml", folder / "out"
        bars.reset_index().to_parquet(data, index=False)
        config.write_text(PROCESS_CONFIG)
        command = [
            _alphagate_cli(), "--config", str(config), "backtest", "--data", str(data),
            "--output", str(output), "--strategy", "sma_cross", "--params",
            f"fast={FAST},slow={SLOW}", "--timeframe", "1m",
        ]  # fmt: skip
        runs, done = _fresh_runs(command, repeat)
        inner = re.search(r"done in ([\d.]+)s", done.stdout)
        ts = pd.DatetimeIndex(bars.index.get_level_values("ts"))
        trades = pd.read_csv(output / "trades.csv")
        equity = pd.read_csv(output / "equity.csv")["equity"].to_numpy(dtype=float)
        report_mib = (output / "report.html").stat().st_size / 2**20
    return {
        "seconds": statistics.median(runs),
        "process_runs": runs,
        "rss_before_mib": None,
        "peak_rss_mib": _peak_rss_mib(resource.RUSAGE_CHILDREN),
        "final": float(equity[-1]),
        "trades": _trades_from_frame(trades, ts),
        "equity": equity,
        "reported_seconds": float(inner.group(1)) if inner else None,
        "report_html_mib": report_mib,
        "command": " ".join(command),
    }


# What a backtesting.py user runs for the same job as `alphagate backtest`: read the
# bars file, run the SMA cross, write the stats, trades and equity curve, draw the
# report (its own bokeh page, resampled as it does by default).
BACKTESTING_PY_SCRIPT = """\
import json, sys, warnings
import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

FAST, SLOW, CASH = {fast}, {slow}, {cash}


def sma(values, n):
    return pd.Series(values).rolling(n).mean().to_numpy()


class SmaCross(Strategy):
    def init(self):
        self.fast = self.I(sma, self.data.Close, FAST)
        self.slow = self.I(sma, self.data.Close, SLOW)

    def next(self):
        if crossover(self.fast, self.slow):
            self.buy()
        elif crossover(self.slow, self.fast):
            self.position.close()


data, out = sys.argv[1], sys.argv[2]
bars = pd.read_parquet(data).set_index("ts")
frame = bars.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    bt = Backtest(frame, SmaCross, cash=CASH, commission=0, finalize_trades=True)
    stats = bt.run()
    stats["_trades"].to_csv(out + "/trades.csv", index=False)
    stats["_equity_curve"].to_csv(out + "/equity.csv")
    with open(out + "/metrics.json", "w") as f:
        json.dump({{k: str(v) for k, v in stats.items() if not k.startswith("_")}}, f)
    bt.plot(filename=out + "/report.html", open_browser=False)
"""


def _run_backtesting_py_process(bars: pd.DataFrame, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-backtesting-py-") as tmp:
        folder = Path(tmp)
        data, script, output = folder / "bars.parquet", folder / "run.py", folder / "out"
        bars.reset_index().drop(columns="symbol").to_parquet(data, index=False)
        script.write_text(BACKTESTING_PY_SCRIPT.format(fast=FAST, slow=SLOW, cash=CASH))
        output.mkdir()
        runs, _ = _fresh_runs([sys.executable, str(script), str(data), str(output)], repeat)
        trades = _backtesting_py_trades(pd.read_csv(output / "trades.csv"))
        equity = pd.read_csv(output / "equity.csv")["Equity"].to_numpy(dtype=float)
    return {
        "seconds": statistics.median(runs),
        "process_runs": runs,
        "rss_before_mib": None,
        "peak_rss_mib": _peak_rss_mib(resource.RUSAGE_CHILDREN),
        "final": float(equity[-1]),
        "trades": trades,
    }


RUNNERS: dict[str, Callable[[pd.DataFrame, int], dict[str, Any]]] = {
    "event engine": _run_event,
    "vectorized (warm)": _run_vectorized_warm,
    "vectorized (cold)": _run_vectorized_cold,
    "backtesting.py": _run_backtesting_py,
    "backtrader": _run_backtrader,
    "vectorbt (warm)": _run_vectorbt_warm,
    "vectorbt (cold)": _run_vectorbt_cold,
    "alphagate backtest process": _run_process,
    "backtesting.py process": _run_backtesting_py_process,
}


def _child(path: str, n: int, repeat: int, out_dir: Path | None) -> None:
    """Run one path on ``n`` bars in this process and print its result as one JSON line."""
    bars = random_walk_bars(n)
    payload: dict[str, Any] = {"path": path, "bars": n}
    module = PEER_MODULE.get(path)
    if module is not None and importlib.util.find_spec(module) is None:
        payload["not_installed"] = f"no module named {module!r}"
        print(MARKER + json.dumps(payload), flush=True)
        return
    result = RUNNERS[path](bars, repeat)
    trades = result.pop("trades")
    equity = result.pop("equity", None)
    result.setdefault("peak_rss_mib", _peak_rss_mib())
    payload.update(result)
    payload["trade_count"] = len(trades)
    payload["open_at_end"] = float(trades[-1, 4]) if len(trades) and trades[-1, 2] < 0 else 0.0
    payload["last_open"] = float(bars["open"].iloc[-1])
    payload["last_close"] = float(bars["close"].iloc[-1])
    if out_dir is not None:
        slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
        np.save(out_dir / f"{slug}.trades.npy", trades)
        payload["trades_file"] = str(out_dir / f"{slug}.trades.npy")
        if equity is not None:
            np.save(out_dir / f"{slug}.equity.npy", equity)
            payload["equity_file"] = str(out_dir / f"{slug}.equity.npy")
    print(MARKER + json.dumps(payload), flush=True)


# --------------------------------------------------------------------------- parent side


def _spawn(path: str, n: int, repeat: int, out_dir: Path) -> dict[str, Any]:
    """Run ``path`` in a fresh child process; its parsed result, or why there is none."""
    command = [sys.executable, __file__, "--child", path, str(n)]
    command += ["--repeat", str(repeat), "--child-out", str(out_dir)]
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache} if path in COLD else dict(os.environ)
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-6:]
        return {"path": path, "bars": n, "error": " | ".join(tail) or f"exit {done.returncode}"}
    result: dict[str, Any] = json.loads(lines[-1][len(MARKER) :])
    result["child_wall_seconds"] = wall
    return result


def _trade_text(row: np.ndarray) -> str:
    exit_ = "open" if row[2] < 0 else f"exit bar {int(row[2])} @ {row[3]:.10g}"
    return f"qty {row[4]:g}, entry bar {int(row[0])} @ {row[1]:.10g}, {exit_}"


def _first_difference(ours: np.ndarray, theirs: np.ndarray, n: int, finalizes: bool) -> str | None:
    """The first round trip that differs, described; ``None`` when all agree.

    ``finalizes``: the peer closes a trade still open at the end on the last
    bar (backtesting.py's ``finalize_trades``), which matches our open one.
    """
    for k in range(max(len(ours), len(theirs))):
        if k >= len(ours):
            return f"trade #{k}: ours none, theirs {_trade_text(theirs[k])}"
        if k >= len(theirs):
            return f"trade #{k}: ours {_trade_text(ours[k])}, theirs none"
        a, b = ours[k], theirs[k]
        same = a[0] == b[0] and a[4] == b[4] and math.isclose(a[1], b[1], rel_tol=PRICE_RTOL)
        if a[2] < 0 and finalizes and k == len(ours) - 1 and b[2] == n - 1:
            pass  # theirs closed at the end, ours still open: the documented difference
        elif a[2] < 0 or b[2] < 0:
            same = same and a[2] == b[2]
        else:
            same = same and a[2] == b[2] and math.isclose(a[3], b[3], rel_tol=PRICE_RTOL)
        if not same:
            return f"trade #{k}: ours {_trade_text(a)}; theirs {_trade_text(b)}"
    return None


def _agreement(n: int, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every path against the event engine: round trips and final equity."""
    ref_name = "event engine"
    ref = results.get(ref_name, {})
    out: dict[str, Any] = {"reference": ref_name}
    if "final" not in ref:
        out["error"] = "no event engine result to compare with"
        return out
    ours_trades = np.load(ref["trades_file"])
    ours_equity = np.load(ref["equity_file"])
    held = ref["open_at_end"]
    closed_at_open = ref["final"] + held * (ref["last_open"] - ref["last_close"])
    for name, result in results.items():
        if name == ref_name or "final" not in result:
            continue
        finalizes = name.startswith("backtesting.py")
        reference_final = closed_at_open if finalizes else ref["final"]
        theirs = np.load(result["trades_file"])
        row: dict[str, Any] = {
            "trades": result["trade_count"],
            "reference_trades": ref["trade_count"],
            "final_equity": result["final"],
            "reference_final_equity": reference_final,
            "final_equity_rel_diff": abs(result["final"] / reference_final - 1.0),
            "first_difference": _first_difference(ours_trades, theirs, n, finalizes),
        }
        if finalizes:
            row["reference_note"] = "ours with the open position sold at the last open"
        if "equity_file" in result:
            curve = np.load(result["equity_file"])
            if curve.shape == ours_equity.shape:
                row["equity_curve_max_rel_diff"] = float(np.max(np.abs(curve / ours_equity - 1)))
        out[name] = row
    return out


def bench_size(n: int, repeat: int, paths: list[str]) -> dict[str, Any]:
    """Run every path on ``n`` bars, each in its own process, and check their agreement."""
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        results: dict[str, dict[str, Any]] = {}
        for path in paths:
            print(f"  {n:,} bars: {path} ...", flush=True)
            results[path] = _spawn(path, n, repeat, Path(tmp))
        agreement = _agreement(n, results)
    for result in results.values():
        result.pop("trades_file", None)
        result.pop("equity_file", None)
    return {"bars": n, "paths": results, "agreement": agreement}


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _ratio_width(peer: str) -> int:
    return max(18, len(peer) + 5)


def _print(results: list[dict[str, Any]]) -> None:
    for result in results:
        n, paths, agree = result["bars"], result["paths"], result["agreement"]
        print(f"\n{n:,} bars")
        seconds = {p: r["seconds"] for p, r in paths.items() if "seconds" in r}
        header = (
            f"{'path':<28}{'seconds':>10}{'bars/s':>12}{'RSS before':>12}{'peak RSS':>10}"
            + "".join(f"{'vs ' + p:>{_ratio_width(p)}}" for p in RATIO_TO)
        )
        print(header + "\n" + "-" * len(header))
        for name, r in paths.items():
            if "not_installed" in r:
                print(f"{name:<28}not installed ({r['not_installed']})")
                continue
            if "error" in r:
                print(f"{name:<28}FAILED: {r['error']}")
                continue
            s = r["seconds"]
            ratios = "".join(
                f"{seconds[p] / s:>{_ratio_width(p) - 1}.2f}x"
                if p in seconds
                else f"{'-':>{_ratio_width(p)}}"
                for p in RATIO_TO
            )
            print(
                f"{name:<28}{s:>10.4f}{n / s:>12,.0f}{_mib(r['rss_before_mib']):>12}"
                f"{_mib(r['peak_rss_mib']):>10}{ratios}"
            )
        notes = []
        if "import_seconds" in paths.get("vectorbt (cold)", {}):
            imported = paths["vectorbt (cold)"]["import_seconds"]
            notes.append(f"import vectorbt (cold, untimed) {imported:.2f} s")
        process = paths.get("alphagate backtest process", {})
        if process.get("reported_seconds") is not None:
            runs = ", ".join(f"{r:.2f}" for r in process.get("process_runs", []))
            notes.append(
                f"the process: median of {len(process.get('process_runs', []))} runs ({runs} s); "
                f"the last reports 'done in {process['reported_seconds']}s' after start-up; "
                f"report.html {process['report_html_mib']:.1f} MiB"
            )
        for note in notes:
            print(f"  note: {note}")
        if "error" in agree:
            print(f"agreement: {agree['error']}")
            continue
        ref = paths["event engine"]
        print(f"agreement with the event engine ({ref['trade_count']:,} round trips, "
              f"final equity {ref['final']:.6f}):")  # fmt: skip
        for name, row in agree.items():
            if not isinstance(row, dict):
                continue
            count = "equal" if row["trades"] == row["reference_trades"] else (
                f"DIFFER by {row['trades'] - row['reference_trades']:+,}"
            )  # fmt: skip
            line = (
                f"  {name:<28} trades {row['trades']:,} ({count}), final equity "
                f"{row['final_equity']:.6f}, relative difference {row['final_equity_rel_diff']:.3g}"
            )
            if "reference_note" in row:
                line += f" (vs {row['reference_final_equity']:.6f}, {row['reference_note']})"
            if "equity_curve_max_rel_diff" in row:
                line += f"; equity curve max rel diff {row['equity_curve_max_rel_diff']:.3g}"
            print(line)
            print(
                "    round trips identical"
                if row["first_difference"] is None
                else f"    FIRST DIFFERING {row['first_difference']}"
            )


def main() -> None:
    """Parse arguments, run the sizes, print the tables and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--paths", default=None, help="Comma-separated subset of: " + ", ".join(PATHS)
    )
    parser.add_argument("--output", type=Path, default=Path("bench-out/backtest.json"))
    parser.add_argument("--child", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]), args.repeat, args.child_out)
        return
    paths = list(PATHS) if args.paths is None else [p.strip() for p in args.paths.split(",")]
    unknown = [p for p in paths if p not in RUNNERS]
    if unknown:
        parser.error(f"unknown paths {unknown}; choose from {list(PATHS)}")
    if args.skip_peers:
        paths = [p for p in paths if p not in PEERS]
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    load_before = os.getloadavg()
    results = [bench_size(n, args.repeat, paths) for n in sizes]
    load_after = os.getloadavg()
    _print(results)
    print(
        f"\nload average (1, 5, 15 min) before {', '.join(f'{x:.2f}' for x in load_before)}; "
        f"after {', '.join(f'{x:.2f}' for x in load_after)}; {os.cpu_count()} CPUs"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "python": platform.python_version(),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "results": results,
    }
    args.output.write_text(json.dumps(payload, indent=2))
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
