"""Output files are written the way pandas would write them, only faster."""

from __future__ import annotations

import io
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.backtest import outputs
from alphagate.backtest.outputs import (
    _arrow_float_text,
    _write_equity,
    float_text,
    utc_text,
    write_csv,
)


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


def test_a_curve_written_in_pieces_is_the_file_one_piece_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One stamp in the last piece has a fraction of a second: the unit of every
    # row's time is the whole curve's (ms), as pandas writes it, not each piece's.
    index = pd.date_range("2024-01-02 21:00", periods=50, freq="min", tz="UTC", name="ts")
    index = index.insert(50, index[-1] + pd.Timedelta("30500ms"))
    values = np.random.default_rng(5).lognormal(9.0, 0.3, 51)
    values[20:30] = values[19]  # a flat stretch across a piece's end
    equity = pd.Series(values, index=index, name="equity")
    _write_equity(equity, tmp_path / "whole.csv")
    monkeypatch.setattr(outputs, "_EQUITY_ROWS", 7)
    _write_equity(equity, tmp_path / "pieces.csv")
    pieces = (tmp_path / "pieces.csv").read_bytes()
    assert pieces == (tmp_path / "whole.csv").read_bytes()
    buffer = io.StringIO()
    pd.DataFrame({"ts": index}).to_csv(buffer, index=False)
    times = [line.split(b",")[0].decode() for line in pieces.splitlines()]
    assert times == buffer.getvalue().splitlines()
    assert times[1] == "2024-01-02 21:00:00.000+00:00"


def test_an_empty_curve_is_its_header(tmp_path: Path) -> None:
    empty = pd.Series([], index=pd.DatetimeIndex([], tz="UTC", name="ts"), name="equity")
    _write_equity(empty, tmp_path / "ours.csv")
    assert (tmp_path / "ours.csv").read_text() == "ts,equity\n"


# --------------------------------------------------------------------------- formatted by Arrow

EDGE_FLOATS = [
    0.0, -0.0, 1.0, -1.0, 99.0, 100.0, 0.1, 1e-4, 9.999e-5, 1e-5, 1e15, 1e16 - 2.0, 1e16, 1e17,
    123456789.123, 1.2345678901234568e17, 5e-324, 1.7976931348623157e308, math.inf, -math.inf,
    math.nan, 100.02615746429376, -4.670963123775735,
]  # fmt: skip


def repr_cells(values: list[float]) -> list[str | None]:
    """What ``to_csv`` writes for each float: its ``repr``, or nothing when it is missing."""
    return [None if math.isnan(value) else repr(value) for value in values]


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=200))
@settings(max_examples=300, deadline=None)
def test_float_text_writes_what_repr_writes(values: list[float]) -> None:
    array = np.array(values + EDGE_FLOATS, dtype=np.float64)
    assert float_text(array).to_pylist() == repr_cells(array.tolist())


def test_float_text_writes_what_repr_writes_across_magnitudes() -> None:
    rng = np.random.default_rng(2)
    # Every power of ten a float has, whole numbers, and round decimals: where
    # Arrow and repr differ in notation and where ".0" is added.
    values = np.concatenate(
        [
            rng.uniform(1.0, 10.0, 5_000) * 10.0 ** rng.integers(-320, 308, 5_000),
            np.round(rng.uniform(-1e9, 1e9, 5_000)) / 10.0 ** rng.integers(0, 9, 5_000),
            rng.integers(-(10**17), 10**17, 5_000).astype(np.float64),
            rng.integers(0, 2**64, 5_000, dtype=np.uint64).view(np.float64),
        ]
    )
    assert float_text(values).to_pylist() == repr_cells(values.tolist())


@pytest.mark.parametrize("repeats", [1, 2, 50], ids=["no runs", "pairs", "long runs"])
def test_runs_of_equal_values_are_written_as_one_cast_writes_them(repeats: int) -> None:
    base = np.array(EDGE_FLOATS * 3, dtype=np.float64)
    values = np.repeat(base, repeats)  # 0.0 next to -0.0 and NaN next to NaN too
    ours = _arrow_float_text(values)
    assert ours.to_pylist() == pa.array(values).cast(pa.string()).to_pylist()
    assert ours.to_pylist()[repeats - 1 : repeats + 1] == ["0", "-0"]


def test_a_runs_trades_and_orders_are_written_by_arrow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_this_way(column: pd.Series) -> None:
        raise AssertionError("written cell by cell, not by Arrow")

    monkeypatch.setattr(outputs, "_csv_cells", not_this_way)
    frame = frames_of_every_kind()["trades"].assign(
        reason=np.array([None, "stop", "take profit"] * 200, dtype=object), count=np.arange(600)
    )
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    write_csv(frame, tmp_path / "ours.csv")
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


@pytest.mark.parametrize(
    "name", ["quoted text", "one text column", "objects, ints, bools", "float32 (pandas writes it)"]
)
def test_frames_arrow_cannot_write_unquoted_go_the_other_way(name: str) -> None:
    assert outputs._text_table(frames_of_every_kind()[name]) is None


def test_a_sliced_text_column_is_written_as_its_own_cells(tmp_path: Path) -> None:
    # The slice's buffer still holds the commas of the rows cut off: at worst
    # that sends the frame the slower way, never changes what is written.
    frame = pd.DataFrame(
        {"text": pd.array(["a,b", "plain", "x"] * 10, dtype="str"), "x": np.arange(30.0)}
    ).iloc[1:2]
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    write_csv(frame, tmp_path / "ours.csv")
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


texts = st.text(alphabet=st.sampled_from(["a", "Z", "é", " ", ",", '"', "\n", "-"]), max_size=4)


@given(
    floats=st.lists(st.floats(width=64), min_size=5, max_size=5),
    words=st.lists(st.one_of(st.none(), texts), min_size=5, max_size=5),
    missing=st.lists(st.booleans(), min_size=5, max_size=5),
    seconds=st.lists(st.integers(-(9 * 10**9), 9 * 10**9), min_size=5, max_size=5),
)
@settings(max_examples=200, deadline=None)
def test_random_frames_are_written_as_pandas_writes_them(
    floats: list[float], words: list[str | None], missing: list[bool], seconds: list[int]
) -> None:
    stamps = pd.Series(pd.to_datetime(seconds, unit="s", utc=True))
    frame = pd.DataFrame(
        {
            "f": floats,
            "ts": stamps.where(~pd.Series(missing)),
            "s": pd.array(words, dtype="str"),
            "o": np.array(words, dtype=object),
            "i": np.array(seconds, dtype=np.int64),
        }
    )
    with tempfile.TemporaryDirectory() as folder:
        ours, theirs = Path(folder) / "ours.csv", Path(folder) / "pandas.csv"
        frame.to_csv(theirs, index=False)
        write_csv(frame, ours)
        assert ours.read_bytes() == theirs.read_bytes()
