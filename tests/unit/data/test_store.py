"""The Parquet bar store: incremental merges, all-or-nothing writes, crash safety, reads."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from alphagate.data.store import TMP_PREFIX, BarStore, Coverage, WriteSummary
from alphagate.domain.bars import BAR_COLUMNS, check_bars_frame, select_symbols
from alphagate.errors import DataError, StoreConflictError
from alphagate.testing import bars_of, stack_bars

ODD = ["^GSPC", "BTC/USDT"]


def make_bars(
    symbols: Sequence[str], first: int, last: int, *, shift: float = 0.0, freq: str = "D"
) -> pd.DataFrame:
    """Bars number ``first..last`` (1-based, inclusive) of a series starting 2024-01-01.

    A bar's values depend only on its number, its symbol and ``shift``, so
    overlapping calls agree exactly unless ``shift`` differs; volume is
    ``1000 + number``.
    """
    ts = pd.date_range("2024-01-01", periods=last, freq=freq, tz="UTC", unit="ns")[first - 1 :]
    number = np.arange(first, last + 1, dtype="float64")
    closes = {s: 100.0 + number + 1000.0 * (sum(map(ord, s)) % 50) + shift for s in symbols}
    return stack_bars(
        *(
            bars_of(
                c,
                symbol=s,
                opens=c - 0.5,
                highs=c + 1.0,
                lows=c - 1.0,
                volume=1000.0 + number,
                stamps=ts,
            )
            for s, c in closes.items()
        )
    )


def assert_bars_equal(left: pd.DataFrame, right: pd.DataFrame, obj: str = "bars") -> None:
    """Exact equality of values, index and dtypes; a range's ``freq`` is not data."""
    pd.testing.assert_frame_equal(left, right, check_freq=False, obj=obj)


def snapshot(root: Path) -> dict[str, str]:
    """Every file and directory under ``root`` with a hash of each file's bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "/"
        for p in sorted(root.rglob("*"))
    }


def temp_files(root: Path) -> list[Path]:
    return sorted(root.rglob(f"{TMP_PREFIX}*"))


def partition(root: Path, symbol_dir: str, timeframe: str = "1d") -> Path:
    return root / "bars" / f"timeframe={timeframe}" / f"symbol={symbol_dir}" / "bars.parquet"


def by_symbol(summaries: list[WriteSummary]) -> dict[str, WriteSummary]:
    return {s.symbol: s for s in summaries}


@pytest.fixture
def store(tmp_path: Path) -> BarStore:
    return BarStore(tmp_path / "store")


# ---------------------------------------------------------------------- round trip and merges


def test_bars_written_then_read_back_are_the_same_canonical_frame(store: BarStore) -> None:
    bars = make_bars(["AAPL", *ODD], 1, 30)
    summaries = store.write(bars, "1d")
    assert [(s.symbol, s.new_rows, s.total_rows) for s in summaries] == [
        ("AAPL", 30, 30),
        ("BTC/USDT", 30, 30),
        ("^GSPC", 30, 30),
    ]
    back = store.read(timeframe="1d")
    check_bars_frame(back)
    assert_bars_equal(back, bars)


def test_symbols_with_caret_and_slash_get_one_quoted_directory_each(store: BarStore) -> None:
    store.write(make_bars(ODD, 1, 5), "1d")
    assert partition(store.root, "%5EGSPC").is_file()
    assert partition(store.root, "BTC%2FUSDT").is_file()
    assert store.symbols("1d") == ["BTC/USDT", "^GSPC"]
    assert pq.read_table(partition(store.root, "BTC%2FUSDT"))["symbol"].unique().to_pylist() == [
        "BTC/USDT"
    ]
    assert_bars_equal(store.read(["BTC/USDT"]), make_bars(["BTC/USDT"], 1, 5))


def test_each_file_holds_symbol_timeframe_and_sorted_nanosecond_utc_bars(store: BarStore) -> None:
    store.write(make_bars(["^GSPC"], 1, 10), "1d")
    table = pq.read_table(partition(store.root, "%5EGSPC"))
    assert table.schema.names == [
        "symbol",
        "timeframe",
        "ts",
        "open",
        "high",
        "low",
        "close",
        "volume",
    ]
    assert str(table.schema.field("ts").type) == "timestamp[ns, tz=UTC]"
    assert table["timeframe"].unique().to_pylist() == ["1d"]
    ts = table["ts"].to_pandas()
    assert ts.is_monotonic_increasing
    assert ts.is_unique


def test_an_incremental_ingest_appends_only_the_bars_not_yet_stored(store: BarStore) -> None:
    store.write(make_bars(["AAPL"], 1, 100), "1d")
    (summary,) = store.write(make_bars(["AAPL"], 50, 150), "1d")
    assert summary == WriteSummary(
        "AAPL", "1d", new_rows=50, duplicate_rows=51, replaced_rows=0, total_rows=150
    )
    assert_bars_equal(store.read(["AAPL"]), make_bars(["AAPL"], 1, 150))


def test_a_backfill_before_the_first_stored_bar_is_merged_in_order(store: BarStore) -> None:
    store.write(make_bars(["AAPL"], 50, 100), "1d")
    (summary,) = store.write(make_bars(["AAPL"], 1, 60), "1d")
    assert (summary.new_rows, summary.duplicate_rows, summary.total_rows) == (49, 11, 100)
    assert_bars_equal(store.read(["AAPL"]), make_bars(["AAPL"], 1, 100))


def test_resending_stored_bars_rewrites_nothing(store: BarStore) -> None:
    bars = make_bars(ODD, 1, 20)
    store.write(bars, "1d")
    before = snapshot(store.root)
    inode = partition(store.root, "%5EGSPC").stat().st_ino
    summaries = store.write(bars, "1d")
    assert [(s.new_rows, s.duplicate_rows, s.replaced_rows) for s in summaries] == [(0, 20, 0)] * 2
    assert snapshot(store.root) == before
    assert partition(store.root, "%5EGSPC").stat().st_ino == inode


# ---------------------------------------------------------------------- conflicts


def test_a_conflict_names_the_bar_and_writes_nothing_for_any_symbol(store: BarStore) -> None:
    store.write(make_bars(["AAA", "ZZZ"], 1, 10), "1d")
    before = snapshot(store.root)
    incoming = make_bars(["AAA", "ZZZ", "NEW"], 5, 20)  # AAA and NEW alone would be fine
    incoming.loc[("ZZZ", incoming.xs("ZZZ").index[3]), "close"] += 0.25  # bar 8
    incoming.loc[("ZZZ", incoming.xs("ZZZ").index[4]), "volume"] = 7.0  # bar 9
    with pytest.raises(StoreConflictError) as caught:
        store.write(incoming, "1d")
    message = str(caught.value)
    assert "ZZZ 1d" in message
    assert "2 bar(s) differ" in message
    assert "first at 2024-01-08T00:00:00+00:00" in message
    assert "close stored 20108.0 new 20108.25" in message
    assert "volume" not in message  # only the first conflicting bar's columns are listed
    assert snapshot(store.root) == before
    assert not (store.root / "bars" / "timeframe=1d" / "symbol=NEW").exists()


def test_keep_leaves_stored_bars_and_still_adds_new_ones(store: BarStore) -> None:
    store.write(make_bars(["AAPL"], 1, 10), "1d")
    (summary,) = store.write(make_bars(["AAPL"], 6, 15, shift=0.5), "1d", on_conflict="keep")
    assert (summary.new_rows, summary.duplicate_rows, summary.replaced_rows) == (5, 0, 0)
    expected = pd.concat([make_bars(["AAPL"], 1, 10), make_bars(["AAPL"], 11, 15, shift=0.5)])
    assert_bars_equal(store.read(["AAPL"]), expected)


def test_replace_takes_the_new_values_and_counts_them(store: BarStore) -> None:
    store.write(make_bars(["AAPL"], 1, 10), "1d")
    incoming = make_bars(["AAPL"], 6, 15)
    incoming.loc[("AAPL", incoming.xs("AAPL").index[:2]), "high"] += 3.0  # bars 6 and 7
    (summary,) = store.write(incoming, "1d", on_conflict="replace")
    assert (summary.new_rows, summary.duplicate_rows, summary.replaced_rows) == (5, 3, 2)
    expected = pd.concat([make_bars(["AAPL"], 1, 5), incoming])
    assert_bars_equal(store.read(["AAPL"]), expected)


def test_a_frame_that_is_not_canonical_or_a_bad_timeframe_is_refused(store: BarStore) -> None:
    bars = make_bars(["AAPL"], 1, 5)
    with pytest.raises(ValueError, match="index"):
        store.write(bars.reset_index(), "1d")
    with pytest.raises(ValueError, match="sorted"):
        store.write(bars.iloc[::-1], "1d")
    with pytest.raises(ValueError, match="timeframe"):
        store.write(bars, "7m")
    assert not store.root.exists() or store.symbols("1d") == []


# ---------------------------------------------------------------------- two-phase commit


def test_a_staged_write_is_invisible_until_committed(store: BarStore) -> None:
    store.write(make_bars(["AAPL"], 1, 5), "1d")
    with store.stage(make_bars(["AAPL", "MSFT"], 1, 10), "1d") as staged:
        assert [s.new_rows for s in staged.summaries] == [5, 10]
        assert len(temp_files(store.root)) == 2
        assert len(store.read()) == 5
        staged.commit()
    assert len(store.read()) == 20
    assert temp_files(store.root) == []


def test_leaving_a_staged_write_uncommitted_aborts_it_cleanly(store: BarStore) -> None:
    store.write(make_bars(["AAPL"], 1, 5), "1d")
    before = snapshot(store.root)
    with store.stage(make_bars(["AAPL", "MSFT"], 1, 10), "1d") as staged:
        pass
    assert snapshot(store.root) == before  # temp files and the new MSFT directory are gone
    with pytest.raises(DataError, match="already committed or aborted"):
        staged.commit()
    store.write(make_bars(["MSFT"], 1, 3), "1d")  # the lock was released
    assert store.symbols("1d") == ["AAPL", "MSFT"]


def test_a_failing_parquet_write_leaves_the_store_byte_for_byte_unchanged(
    store: BarStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write(make_bars(["AAA", "BBB"], 1, 10), "1d")
    before = snapshot(store.root)
    real_write = pq.write_table
    calls = 0

    def half_then_fail(table: Any, where: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            where.write(b"PAR1 half a file")
            raise OSError("disk full")
        real_write(table, where, **kwargs)

    monkeypatch.setattr(pq, "write_table", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        store.write(make_bars(["AAA", "BBB", "CCC"], 5, 20), "1d")
    assert calls == 2
    assert snapshot(store.root) == before
    monkeypatch.undo()
    store.write(make_bars(["AAA", "BBB", "CCC"], 5, 20), "1d")
    assert store.symbols("1d") == ["AAA", "BBB", "CCC"]


def test_a_crash_between_renames_leaves_each_partition_wholly_old_or_new(
    store: BarStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = make_bars(["AAA", "BBB", "CCC"], 1, 10)
    new = make_bars(["AAA", "BBB", "CCC"], 1, 10, shift=0.5)
    store.write(old, "1d")
    real_replace = os.replace
    calls = 0

    def fail_second(src: Any, dst: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("power cut")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_second)
    with pytest.raises(DataError, match="after 1 of 3 partitions"):
        store.write(new, "1d", on_conflict="replace")
    monkeypatch.undo()
    back = store.read()
    assert_bars_equal(select_symbols(back, ["AAA"]), select_symbols(new, ["AAA"]))
    rest = ["BBB", "CCC"]
    assert_bars_equal(select_symbols(back, rest), select_symbols(old, rest))
    assert temp_files(store.root) == []


def test_stale_temp_files_are_ignored_by_reads_and_removed_by_the_next_write(
    store: BarStore,
) -> None:
    bars = make_bars(ODD, 1, 10)
    store.write(bars, "1d")
    stale = partition(store.root, "%5EGSPC").parent / f"{TMP_PREFIX}deadbeef"
    stale.write_bytes(b"PAR1 truncated by a crash")
    other = partition(store.root, "BTC%2FUSDT").parent / f"{TMP_PREFIX}cafe"
    other.write_bytes(b"")
    assert_bars_equal(store.read(), bars)
    assert [c.rows for c in store.coverage()] == [10, 10]
    assert store.query("SELECT count(*) AS n FROM bars")["n"].tolist() == [20]
    assert store.symbols("1d") == ["BTC/USDT", "^GSPC"]
    store.write(make_bars(["^GSPC"], 11, 12), "1d")
    assert not stale.exists()
    assert other.exists()  # a write cleans only the partitions it touches


# ---------------------------------------------------------------------- processes

_WRITER = """
import importlib.util, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("store_tests", sys.argv[1])
tests = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tests)
from alphagate.data.store import BarStore
store = BarStore(Path(sys.argv[2]))
k = int(sys.argv[3])
frame = tests.version(k)
print("ready", flush=True)
while True:
    store.write(frame, "1m", on_conflict="replace")
    print(k, flush=True)
    k += 1
    frame = tests.version(k)
    if len(sys.argv) > 4:
        break
"""

_KILL_SYMBOLS = ["^GSPC", "BTC/USDT", "ETH/USDT"]
_KILL_ROWS = 100_000


def version(k: int) -> pd.DataFrame:
    """Version ``k`` of the frame the writer subprocess stores: every value shifted by k."""
    return make_bars(_KILL_SYMBOLS, 1, _KILL_ROWS, shift=float(k), freq="min")


def _start_writer(root: Path, k: int, *, once: bool = False) -> subprocess.Popen[str]:
    args = [sys.executable, "-c", _WRITER, __file__, str(root), str(k), *(["once"] if once else [])]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


def test_a_writer_killed_at_a_random_moment_leaves_only_complete_versions(tmp_path: Path) -> None:
    root = tmp_path / "store"
    rng = random.Random()
    last = 0
    cache: dict[int, pd.DataFrame] = {}
    for _ in range(3):
        writer = _start_writer(root, 0)
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        assert writer.stdout.readline().strip() == "0"  # the first version is committed
        delay = rng.uniform(0.0, 0.8)
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        files = sorted(root.rglob("bars.parquet"))
        assert len(files) == len(_KILL_SYMBOLS)
        versions = set()
        for path in files:
            flat = pq.read_table(path).to_pandas()  # reads cleanly: never half a file
            symbol = str(flat["symbol"].iloc[0])
            k = round(flat["close"].iloc[0] - make_bars([symbol], 1, 1)["close"].iloc[0])
            if k not in cache:
                cache[k] = version(k)
            expected = select_symbols(cache[k], [symbol])
            # plain arrays: assert_frame_equal on a 100k-row MultiIndex costs ~1 s
            where = f"{symbol} killed after {delay:.3f}s"
            assert (flat["symbol"] == symbol).all(), where
            assert (flat["timeframe"] == "1m").all(), where
            ts = pd.DatetimeIndex(flat["ts"])
            assert ts.equals(expected.index.get_level_values("ts")), where
            assert np.array_equal(flat.loc[:, list(BAR_COLUMNS)].to_numpy(), expected.to_numpy())
            versions.add(k)
        # every temp file is fsynced before the first rename, so partitions differ by <= 1
        assert max(versions) - min(versions) <= 1, versions
        last = max(versions)
    # the kernel dropped the dead writer's lock; this write also sweeps its temp files
    summaries = BarStore(root).write(version(last + 1), "1m", on_conflict="replace")
    assert [s.replaced_rows for s in summaries] == [_KILL_ROWS] * len(_KILL_SYMBOLS)
    assert temp_files(root) == []


def test_a_second_writer_waits_for_the_lock_and_loses_no_bars(store: BarStore) -> None:
    staged = store.stage(make_bars(["ZZZ"], 1, 5, freq="min"), "1m")
    writer = _start_writer(store.root, 1, once=True)
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"  # about to write
    time.sleep(0.5)
    assert writer.poll() is None  # blocked on the lock
    staged.commit()
    stdout, _ = writer.communicate(timeout=30)
    assert (writer.returncode, stdout.strip()) == (0, "1")
    rows = {c.symbol: c.rows for c in store.coverage()}
    assert rows == {"ZZZ": 5, **dict.fromkeys(_KILL_SYMBOLS, _KILL_ROWS)}


# ---------------------------------------------------------------------- reads


def test_a_range_read_is_inclusive_at_both_ends(store: BarStore) -> None:
    bars = make_bars(["AAPL", "MSFT"], 1, 60)
    store.write(bars, "1d")
    start = pd.Timestamp("2024-01-10", tz="UTC")
    end = pd.Timestamp("2024-01-20", tz="UTC")
    back = store.read(["MSFT"], "1d", start=start, end=end)
    ts = back.index.get_level_values("ts")
    assert (ts.min(), ts.max(), len(back)) == (start, end, 11)
    assert_bars_equal(back, make_bars(["AAPL", "MSFT"], 10, 20).loc[["MSFT"]])
    assert len(store.read(start=end)) == 2 * 41
    assert len(store.read(end=start)) == 2 * 10


def test_a_range_read_converts_other_zones_and_refuses_naive_bounds(store: BarStore) -> None:
    store.write(make_bars(["AAPL"], 1, 10), "1d")
    start = pd.Timestamp("2024-01-04 19:00", tz="America/New_York")  # 00:00 UTC on the 5th
    assert store.read(start=start).index.get_level_values("ts")[0] == pd.Timestamp(
        "2024-01-05", tz="UTC"
    )
    with pytest.raises(ValueError, match="tz-aware"):
        store.read(start=pd.Timestamp("2024-01-05"))


def test_reading_unknown_symbols_or_an_empty_store_gives_an_empty_canonical_frame(
    store: BarStore,
) -> None:
    empty = store.read()
    check_bars_frame(empty)
    assert empty.empty
    with pytest.raises(ValueError, match="tz-aware"):
        store.read(end=pd.Timestamp("2024-01-05"))  # refused even with nothing to read
    store.write(make_bars(["AAPL"], 1, 5), "1d")
    assert store.read(["NOPE"]).empty
    assert store.read(timeframe="1h").empty
    assert len(store.read("AAPL")) == 5  # a lone string is one symbol, not its letters


def test_coverage_reports_each_partitions_first_last_and_row_count(store: BarStore) -> None:
    store.write(make_bars(ODD, 3, 40), "1d")
    store.write(make_bars(["^GSPC"], 1, 24, freq="h"), "1h")
    day = pd.Timestamp("2024-01-03", tz="UTC"), pd.Timestamp("2024-02-09", tz="UTC")
    hour = pd.Timestamp("2024-01-01 00:00", tz="UTC"), pd.Timestamp("2024-01-01 23:00", tz="UTC")
    assert store.coverage() == [
        Coverage("BTC/USDT", "1d", *day, rows=38),
        Coverage("^GSPC", "1d", *day, rows=38),
        Coverage("^GSPC", "1h", *hour, rows=24),
    ]


def test_sql_counts_per_symbol_equal_the_pandas_counts(store: BarStore) -> None:
    bars = make_bars(["AAPL", *ODD], 1, 30)
    store.write(bars.drop(("AAPL", pd.Timestamp("2024-01-02", tz="UTC"))), "1d")
    store.write(make_bars(["^GSPC"], 1, 7, freq="h"), "1h")
    counts = store.query(
        "SELECT symbol, count(*) AS n FROM bars WHERE timeframe = '1d' GROUP BY symbol"
    )
    expected = store.read(timeframe="1d").groupby(level="symbol").size()
    assert dict(zip(counts["symbol"], counts["n"], strict=True)) == expected.to_dict()
    assert expected.to_dict() == {"AAPL": 29, "BTC/USDT": 30, "^GSPC": 30}
    total = store.query("SELECT timeframe, count(*) AS n FROM bars GROUP BY ALL ORDER BY 1")
    assert total.to_dict("list") == {"timeframe": ["1d", "1h"], "n": [89, 7]}


def test_sql_timestamps_are_utc_aware_and_filterable(store: BarStore) -> None:
    store.write(make_bars(["^GSPC"], 1, 10), "1d")
    frame = store.query("SELECT ts FROM bars WHERE ts >= TIMESTAMPTZ '2024-01-09 00:00:00+00'")
    assert str(frame["ts"].dtype) == "datetime64[us, UTC]"
    assert frame["ts"].tolist() == list(pd.date_range("2024-01-09", periods=2, tz="UTC"))


def test_sql_errors_and_an_empty_store_are_data_errors(store: BarStore) -> None:
    with pytest.raises(DataError, match="empty"):
        store.query("SELECT 1")
    store.write(make_bars(["AAPL"], 1, 3), "1d")
    with pytest.raises(DataError, match="no_such_column"):
        store.query("SELECT no_such_column FROM bars")
