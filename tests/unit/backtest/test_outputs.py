"""A run's files read back as the result they were written from, and a failed write shows."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.backtest.outputs import INCOMPLETE_MARKER, METRICS_FILE, write_outputs
from alphagate.backtest.runner import BacktestResult, run_backtest
from alphagate.domain.bars import bars_from_flat
from alphagate.strategies.builtin import BuyAndHold

TS = pd.date_range("2024-01-02 21:00", periods=4, freq="D", tz="UTC")
FILES = ["equity.csv", "metrics.json", "orders.csv", "trades.csv"]


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    bars = bars_from_flat(
        pd.DataFrame(
            {
                "symbol": "AAA",
                "ts": TS,
                "open": [10.0, 11.0, 12.0, 13.0],
                "high": 20.0,
                "low": 5.0,
                "close": [10.5, 11.5, 12.5, 12.0],
                "volume": 1000.0,
            }
        )
    )
    return run_backtest(bars, BuyAndHold(), cash=1000.0)


def read_times(path: Path, *columns: str) -> pd.DataFrame:
    """A written CSV with its time columns parsed back as UTC times."""
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601").dt.as_unit("ns")
    return frame


def odd_trades() -> pd.DataFrame:
    """Trades with what a CSV must quote or mark: commas, quotes, line breaks, NaT, NaN, ±inf."""
    stamps = pd.Series(
        pd.date_range("2021-03-01 14:31:00.25", periods=6, freq="37s", tz="UTC").as_unit("ns")
    )
    return pd.DataFrame(
        {
            "symbol": ["AAA", "B,B", 'say "C"', "two\nlines", "É", "plain"],
            "side": ["buy", "sell"] * 3,
            "qty": [1.0, 100.0, 0.1, 1e17, 5e-324, -0.0],
            "entry_ts": stamps,
            "exit_ts": stamps.where([True, False, True, True, False, True]),
            "pnl": [np.nan, np.inf, -np.inf, 123456789.123, -4.670963123775735, 0.0],
        }
    )


def test_a_run_reads_back_as_the_result_it_was_written_from(
    result: BacktestResult, tmp_path: Path
) -> None:
    out = write_outputs(result, tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == FILES
    equity = read_times(out / "equity.csv", "ts")
    assert list(equity.columns) == ["ts", "equity"]
    assert list(equity["ts"]) == list(result.equity.index)
    assert equity["equity"].tolist() == result.equity.tolist()
    orders = read_times(out / "orders.csv", "ts_created")
    assert list(orders.columns) == list(result.orders.columns)
    assert orders["client_order_id"].tolist() == result.orders["client_order_id"].tolist()
    assert orders["ts_created"].tolist() == result.orders["ts_created"].tolist()
    metrics = json.loads((out / METRICS_FILE).read_text())
    assert metrics["strategy"] == "buy_and_hold"
    assert metrics["total_return"] == result.metrics.total_return


def test_cells_that_need_quoting_or_are_missing_read_back_unchanged(
    result: BacktestResult, tmp_path: Path
) -> None:
    trades = odd_trades()
    out = write_outputs(dataclasses.replace(result, trades=trades), tmp_path / "run")
    back = read_times(out / "trades.csv", "entry_ts", "exit_ts")
    pd.testing.assert_frame_equal(back, trades, check_exact=True)
    assert math.copysign(1.0, back["qty"].iloc[-1]) == -1.0  # -0.0 stays negative


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20),
    nanoseconds=st.sampled_from([0, 500_000_000, 1_000, 1]),
)
def test_any_equity_curve_reads_back_exactly(
    result: BacktestResult,
    tmp_path_factory: pytest.TempPathFactory,
    values: list[float],
    nanoseconds: int,
) -> None:
    # A fraction of a second on one stamp changes how every stamp is written.
    start = pd.Timestamp("1969-12-31 23:59", tz="UTC").as_unit("ns")
    index = pd.date_range(start, periods=len(values), freq="min")
    index = index.insert(len(values), index[-1] + pd.Timedelta(nanoseconds + 60 * 10**9, "ns"))
    curve = pd.Series([*values, values[-1]], index=index, name="equity")
    out = write_outputs(
        dataclasses.replace(result, equity=curve), tmp_path_factory.mktemp("curve") / "run"
    )
    back = read_times(out / "equity.csv", "ts")
    assert list(back["ts"]) == list(curve.index)
    assert back["equity"].tolist() == curve.tolist()


def test_an_empty_curve_and_empty_frames_are_their_headers(
    result: BacktestResult, tmp_path: Path
) -> None:
    empty = dataclasses.replace(
        result,
        equity=pd.Series([], index=pd.DatetimeIndex([], tz="UTC", name="ts"), name="equity"),
        trades=result.trades.iloc[:0],
    )
    out = write_outputs(empty, tmp_path / "run")
    assert (out / "equity.csv").read_text() == "ts,equity\n"
    assert (out / "trades.csv").read_text().splitlines() == [",".join(result.trades.columns)]


def disk_full_at(monkeypatch: pytest.MonkeyPatch, nth: int) -> None:
    """Make the ``nth`` file's flush to disk fail, as when the disk fills while writing it."""
    calls = iter(range(1, 1_000))
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if next(calls) == nth:
            raise OSError("disk full")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_a_failed_write_is_marked_incomplete_and_leaves_no_metrics_nor_partial_file(
    result: BacktestResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_outputs(result, tmp_path / "run")  # an earlier complete run is replaced
    disk_full_at(monkeypatch, 2)  # trades.csv is written; orders.csv is not
    with pytest.raises(OSError, match="disk full"):
        write_outputs(result, tmp_path / "run")
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert names == [INCOMPLETE_MARKER, "trades.csv"]  # no orders.csv, whole or half
    assert (tmp_path / "run" / INCOMPLETE_MARKER).read_text() == "OSError: disk full\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging left behind


def test_writing_again_replaces_an_incomplete_run_with_a_complete_one(
    result: BacktestResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk_full_at(monkeypatch, 1)
    with pytest.raises(OSError, match="disk full"):
        write_outputs(result, tmp_path / "run")
    monkeypatch.undo()
    assert INCOMPLETE_MARKER in {p.name for p in (tmp_path / "run").iterdir()}
    out = write_outputs(result, tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == FILES


def test_a_file_where_the_run_directory_should_be_is_refused(
    result: BacktestResult, tmp_path: Path
) -> None:
    (tmp_path / "run").write_text("not a directory")
    with pytest.raises(FileExistsError, match="is not a directory"):
        write_outputs(result, tmp_path / "run")
