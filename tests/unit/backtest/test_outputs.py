"""Output files are written the way pandas would write them, only faster."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphagate.backtest.outputs import _write_equity, utc_text, write_csv


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


def frames_of_every_kind() -> dict[str, pd.DataFrame]:
    """Frames like a run's trades and orders, and the odd cases ``write_csv`` must match."""
    rng = np.random.default_rng(11)
    size = 600
    stamps = pd.Series(pd.date_range("2021-03-01 14:31", periods=size, freq="37s", tz="UTC"))
    floats = np.concatenate(
        [
            rng.normal(0.0, 1e-6, 200),
            rng.normal(0.0, 1e17, 200),
            np.tile([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e16, 1e-5, 100.0], 25),
        ]
    )
    texts = ["a,b", 'say "x"', "two\nlines", None, "", "plain"] * 100
    mixed = np.array([None, "a", 1.5, 2, True, float("nan")] * 100, dtype=object)
    trades = pd.DataFrame(
        {
            "symbol": pd.array(["AAA"] * size, dtype="str"),
            "side": pd.array(["buy", "sell"] * (size // 2), dtype="str"),
            "qty": np.arange(size, dtype=np.float64),
            "entry_ts": stamps,
            "exit_ts": stamps.where(np.arange(size) % 7 != 0),
            "pnl": floats,
        }
    )
    return {
        "trades": trades,
        "no rows": trades.iloc[:0],
        "quoted text": pd.DataFrame({"text": pd.array(texts, dtype="str"), "x": floats}),
        "one text column": pd.DataFrame({"text": pd.array(texts, dtype="str")}),
        "objects, ints, bools": pd.DataFrame(
            {"mixed": mixed, "n": np.arange(size), "flag": np.arange(size) % 3 == 0}
        ),
        "fractional seconds": pd.DataFrame(
            {"ts": pd.date_range("2021-01-01 00:00:00.5", periods=size, freq="250ms", tz="UTC")}
        ),
        "all missing times": pd.DataFrame(
            {"ts": pd.Series([pd.NaT] * 3, dtype="datetime64[ns, UTC]"), "x": [1.0, 2.0, 3.0]}
        ),
        "a New York time (pandas writes it)": trades.assign(
            entry_ts=stamps.dt.tz_convert("America/New_York")
        ),
        "a naive time (pandas writes it)": trades.assign(entry_ts=stamps.dt.tz_localize(None)),
        "float32 (pandas writes it)": trades.assign(pnl=floats.astype(np.float32)),
    }


@pytest.mark.parametrize("name", list(frames_of_every_kind()))
def test_frames_are_written_byte_for_byte_as_pandas_writes_them(name: str, tmp_path: Path) -> None:
    frame = frames_of_every_kind()[name]
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    write_csv(frame, tmp_path / "ours.csv")
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def test_a_whole_minute_curve_is_written_as_pandas_writes_it(tmp_path: Path) -> None:
    index = pd.date_range("1969-12-31 23:00", periods=3_000, freq="min", tz="UTC", name="ts")
    equity = pd.Series(np.linspace(1.0, 2.0, 3_000), index=index, name="equity")
    _write_equity(equity, tmp_path / "ours.csv")
    written = (tmp_path / "ours.csv").read_text().splitlines()
    buffer = io.StringIO()
    pd.DataFrame({"ts": index}).to_csv(buffer, index=False)
    assert [line.split(",")[0] for line in written] == buffer.getvalue().splitlines()
