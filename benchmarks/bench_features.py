"""Feature build throughput against the same TA-Lib indicators called directly on NumPy arrays.

Two shapes of data, both synthetic (seeded GBM from ``SyntheticSource``):

* ``daily``: 50 symbols x 10 years of XNYS daily bars (about 126,000 rows),
  many short series: per-symbol overhead dominates;
* ``minute``: 1 symbol x 1,000,000 one-minute bars, 24/7 (calendar ``None``),
  one long series: per-row cost dominates.

For each it times:

* ``build_features``: ``build_features(bars, "medium")``, everything a user
  gets (TA-Lib and pandas features per symbol, calendar features,
  cross-sectional ranks, output checks, column sort);
* ``build_features_per_symbol_only``: the same profile without the calendar
  and cross-sectional stages, to show what those two cost;
* ``talib_direct``: the TA-Lib functions the medium profile calls, with the
  same parameters, on contiguous float64 arrays prepared beforehand, one
  symbol after the other: the floor our wrapping adds its overhead to. It
  computes fewer columns (no returns, volatility, volume z-score, gap, range,
  calendar or ranks), so the ratio is an upper bound on pure wrapping overhead.

Each timing is the best of ``--repeat`` runs, rows/s is bars in per second.
``--quick`` shrinks both sizes ten times (5 symbols; 100,000 minutes) for a
smoke run. Usage::

    python benchmarks/bench_features.py [--quick] [--output bench-out/features.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import talib

from alphagate.config import SyntheticConfig
from alphagate.data.sources.synthetic import SyntheticSource
from alphagate.domain.bars import bars_from_flat
from alphagate.domain.quality_report import QualityReport
from alphagate.domain.timeframe import Timeframe
from alphagate.features import PROFILES, build_features

SMA = talib.MA_Type.SMA  # type: ignore[attr-defined]
Arrays = dict[str, np.ndarray]


def synthetic_bars(
    symbols: int, start: date, end: date, timeframe: str, calendar: str | None
) -> pd.DataFrame:
    """A canonical bars frame of ``symbols`` correlated GBM series."""
    source = SyntheticSource(
        SyntheticConfig(symbols=tuple(f"S{n:03d}" for n in range(symbols)), start=start, end=end),
        timeframe=Timeframe.parse(timeframe),
        calendar=calendar,
    )
    return bars_from_flat(pd.concat(list(source.chunks(QualityReport("bench")))))


def daily_bars(symbols: int) -> pd.DataFrame:
    """``symbols`` x ten years (2010-2019) of XNYS daily bars."""
    return synthetic_bars(symbols, date(2010, 1, 1), date(2019, 12, 31), "1d", "XNYS")


def minute_bars(rows: int) -> pd.DataFrame:
    """One symbol's first ``rows`` one-minute bars, around the clock."""
    days = -(-rows // 1440)
    start = date(2020, 1, 1)
    bars = synthetic_bars(1, start, start + timedelta(days=days), "1m", None)
    return bars.iloc[:rows]


def talib_medium(arrays: Arrays) -> None:
    """Every TA-Lib call of the ``medium`` profile, with its parameters, on one symbol."""
    high, low, close, volume = arrays["high"], arrays["low"], arrays["close"], arrays["volume"]
    talib.RSI(close, 14)
    talib.MACD(close, fastperiod=12, slowperiod=26, signalperiod=9)
    talib.BBANDS(close, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=SMA)
    talib.ATR(high, low, close, timeperiod=14)
    talib.ADX(high, low, close, timeperiod=14)
    talib.PLUS_DI(high, low, close, timeperiod=14)
    talib.MINUS_DI(high, low, close, timeperiod=14)
    talib.STOCH(
        high,
        low,
        close,
        fastk_period=14,
        slowk_period=3,
        slowk_matype=SMA,
        slowd_period=3,
        slowd_matype=SMA,
    )
    talib.CCI(high, low, close, timeperiod=20)
    talib.ROC(close, timeperiod=10)
    talib.MFI(high, low, close, volume, timeperiod=14)
    talib.LINEARREG_SLOPE(talib.OBV(close, volume), timeperiod=20)
    talib.SMA(volume, timeperiod=20)
    talib.WILLR(high, low, close, timeperiod=14)
    talib.EMA(close, timeperiod=20)
    talib.SMA(close, timeperiod=50)


def best_of(repeat: int, work: Callable[[], object]) -> float:
    """Shortest wall time of ``repeat`` runs of ``work``, in seconds."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return min(times)


def timing(seconds: float, rows: int) -> dict[str, float]:
    """Seconds and bars in per second, rounded for the report."""
    return {"seconds": round(seconds, 4), "rows_per_s": round(rows / seconds)}


def measure(name: str, bars: pd.DataFrame, calendar: str | None, repeat: int) -> dict[str, Any]:
    """Time the three ways of computing ``medium`` features on ``bars``."""
    rows = len(bars)
    symbols = bars.index.get_level_values("symbol").unique()
    per_symbol = replace(PROFILES["medium"], calendar_features=False, cross_sectional=False)
    arrays = [
        {
            column: np.ascontiguousarray(bars.xs(symbol, level="symbol")[column], dtype=np.float64)
            for column in ("high", "low", "close", "volume")
        }
        for symbol in symbols
    ]
    columns = build_features(bars, "medium", calendar=calendar).shape[1]  # also warms up caches
    ours = best_of(repeat, lambda: build_features(bars, "medium", calendar=calendar))
    plain = best_of(repeat, lambda: build_features(bars, per_symbol, calendar=calendar))

    def talib_all() -> None:
        for one in arrays:
            talib_medium(one)

    floor = best_of(repeat, talib_all)
    result = {
        "symbols": len(symbols),
        "bars_per_symbol": rows // len(symbols),
        "rows": rows,
        "calendar": calendar,
        "profile": "medium",
        "feature_columns": columns,
        "build_features": timing(ours, rows),
        "build_features_per_symbol_only": timing(plain, rows),
        "talib_direct": timing(floor, rows),
        "ratio_build_features_over_talib": round(ours / floor, 2),
        "ratio_per_symbol_only_over_talib": round(plain / floor, 2),
    }
    print(f"{name}: {json.dumps(result)}", flush=True)
    return result


def main() -> None:
    """Generate both data sets, time them, print and save the report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="ten times smaller, for a smoke run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best counts")
    parser.add_argument("--output", type=Path, default=Path("bench-out/features.json"))
    args = parser.parse_args()
    symbols, minutes = (5, 100_000) if args.quick else (50, 1_000_000)

    began = time.perf_counter()
    daily = daily_bars(symbols)
    minute = minute_bars(minutes)
    print(f"generated bars in {time.perf_counter() - began:.1f}s", flush=True)
    report = {
        "quick": args.quick,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "versions": {"numpy": np.__version__, "pandas": pd.__version__, "talib": talib.__version__},
        "daily": measure("daily", daily, "XNYS", args.repeat),
        "minute": measure("minute", minute, None, args.repeat),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
