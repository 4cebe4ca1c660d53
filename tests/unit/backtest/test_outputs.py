"""Output files are written the way pandas would write them, only faster."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphagate.backtest.outputs import _write_equity, utc_text


@pytest.mark.parametrize(
    "index",
    [
        pd.date_range("2024-01-02 21:00", periods=50, freq="D", tz="UTC"),
        pd.date_range("2024-01-02 21:00:00.5", periods=50, freq="250ms", tz="UTC"),
        pd.date_range("2024-01-02 21:00", periods=50, freq="us", tz="UTC"),
        pd.date_range("1969-12-31 23:59", periods=50, freq="s", tz="UTC"),
        pd.date_range("2024-01-02 21:00", periods=50, freq="min"),
    ],
    ids=["daily", "millis", "micros", "before-epoch", "naive"],
)
def test_timestamps_are_written_as_pandas_writes_them(index: pd.DatetimeIndex) -> None:
    buffer = io.StringIO()
    pd.DataFrame({"ts": index}).to_csv(buffer, index=False)
    assert utc_text(index).to_pylist() == buffer.getvalue().splitlines()[1:]


def test_equity_csv_reads_back_as_what_pandas_writes_exactly(tmp_path: Path) -> None:
    index = pd.date_range("2024-01-02 21:00", periods=500, freq="D", tz="UTC", name="ts")
    values = np.random.default_rng(4).lognormal(9.0, 0.3, 500)
    values[7] = 10_000.0  # a round number: Arrow writes 10000, pandas 10000.0
    equity = pd.Series(values, index=index, name="equity")
    _write_equity(equity, tmp_path / "ours.csv")
    equity.reset_index().to_csv(tmp_path / "pandas.csv", index=False)
    ours, theirs = pd.read_csv(tmp_path / "ours.csv"), pd.read_csv(tmp_path / "pandas.csv")
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    assert list(ours.columns) == ["ts", "equity"]
