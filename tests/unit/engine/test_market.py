"""MarketData reads: stored values come back as Python numbers, as bars and after appends."""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphagate.domain.bar import Bar
from alphagate.engine.market import MarketData

T0 = pd.Timestamp("2024-01-02 21:00", tz="UTC")


def test_values_and_bars_are_python_floats_whatever_dtype_was_given() -> None:
    market = MarketData(
        {
            "X": {
                "ts": np.array([T0.value, T0.value + 60_000_000_000]),
                "open": np.array([1, 2], dtype=np.int32),
                "high": np.array([3.0, 4.0], dtype=np.float32),
                "low": np.array([0.5, 1.5]),
                "close": np.array([2.0, 3.0]),
                "volume": np.array([10, 20]),
            }
        }
    )
    assert market.value("X", "open", 1) == 2.0 and type(market.value("X", "open", 1)) is float
    assert type(market.value("X", "volume", 0)) is float
    bar = market.bar("X", 1, T0.value + 60_000_000_000)
    assert bar == Bar("X", (T0 + pd.Timedelta(minutes=1)).value, 2.0, 4.0, 1.5, 3.0, 20.0)
    assert all(type(v) is float for v in (bar.open, bar.high, bar.low, bar.close, bar.volume))


def test_appended_bars_are_read_back_also_after_the_arrays_grow() -> None:
    market = MarketData.empty(["X"])
    for i in range(300):  # past the first capacity, so the arrays are reallocated
        ts = (T0 + pd.Timedelta(minutes=i)).value
        market.append(Bar("X", ts, 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, float(i)))
    assert market.value("X", "close", 299) == 399.5
    assert market.value("X", "open", 0) == 100.0
    assert market.bar("X", 257, T0.value).high == 358.0
