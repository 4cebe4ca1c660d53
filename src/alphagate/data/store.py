"""The Parquet bar store: one file per (timeframe, symbol), merged incrementally.

Layout::

    {root}/bars/timeframe={tf}/symbol={quoted}/bars.parquet

``quoted`` is ``urllib.parse.quote(symbol, safe="")`` so symbols such as
``^GSPC`` or ``BTC/USDT`` map to one safe directory each. Every file also holds
``symbol`` and ``timeframe`` as real columns, so SQL over the store never
depends on decoding directory names, and is sorted by a unique ``ts`` so the
row-group statistics make range reads and coverage cheap.

Why writes look the way they do:

* **Incremental and idempotent.** Re-ingesting the same bars is a no-op that
  reports them as duplicates; only bars at new timestamps (including backfill)
  are added, and a bar that differs from the stored one is an explicit
  decision (``on_conflict``), never a silent overwrite.
* **All or nothing.** Each merged partition is written to a temp file and
  fsynced as soon as it is merged (so one partition at a time is in memory),
  and none is moved into place with ``os.replace`` until all are staged, so a
  conflict or a failure in any symbol removes the temp files and leaves the
  store untouched, and a crash at any moment leaves each partition either
  wholly old or wholly new.
* **One writer at a time.** An exclusive ``flock`` on ``{root}/.lock`` spans
  read-merge-write, so two ingest processes cannot lose each other's bars.
  Readers take no lock: ``os.replace`` is atomic, they see old or new files.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd

from alphagate.atomic import fsync_directory
from alphagate.domain.bars import BAR_COLUMNS, bars_from_flat, check_bars_frame, empty_bars
from alphagate.domain.timeframe import Timeframe
from alphagate.errors import DataError, StoreConflictError

OnConflict = Literal["error", "keep", "replace"]

FILE_NAME = "bars.parquet"
TMP_PREFIX = ".bars.parquet.tmp-"


@dataclass(frozen=True)
class WriteSummary:
    """What one write did to one partition; ``total_rows`` is the size after it."""

    symbol: str
    timeframe: str
    new_rows: int
    duplicate_rows: int
    replaced_rows: int
    total_rows: int


@dataclass(frozen=True)
class Coverage:
    """The stored span of one partition: first and last bar close, and row count."""

    symbol: str
    timeframe: str
    first: pd.Timestamp
    last: pd.Timestamp
    rows: int


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("symbol", pa.string()),
            ("timeframe", pa.string()),
            ("ts", pa.timestamp("ns", tz="UTC")),
            *((column, pa.float64()) for column in BAR_COLUMNS),
        ]
    )


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class StagedWrite:
    """A write whose partitions sit fsynced in temp files, waiting for :meth:`commit`.

    It holds the store's writer lock until committed or aborted. As a context
    manager it aborts on exit unless :meth:`commit` was called, so an exception
    between staging and committing can never leave temp files or the lock behind.
    """

    def __init__(self, lock_fd: int) -> None:
        self.summaries: list[WriteSummary] = []
        self._lock_fd: int | None = lock_fd
        self._moves: list[tuple[Path, Path]] = []  # (temp file, final file)
        self._touched: list[Path] = []  # partition directories named in the write
        self._created: list[Path] = []  # directories this write made, outermost first

    def commit(self) -> list[WriteSummary]:
        """Move every staged partition into place, then clean stale temp files.

        Raises
        ------
        DataError
            When a move fails part-way. Each partition is still a complete file,
            old or new; the message says how many were committed.
        """
        if self._lock_fd is None:
            raise DataError("this staged write was already committed or aborted")
        done = 0
        try:
            for tmp, final in self._moves:
                os.replace(tmp, final)  # noqa: PTH105 - the atomic rename, by name
                done += 1
            for directory in {final.parent for _, final in self._moves}:
                fsync_directory(directory)
            for directory in {d.parent for d in self._created}:
                fsync_directory(directory)
        except OSError as error:
            for tmp, _ in self._moves[done:]:
                _unlink_quietly(tmp)
            self._release()
            raise DataError(
                f"bar store commit interrupted after {done} of {len(self._moves)} partitions "
                f"({error}); every partition is a complete old or new file, re-run the ingest"
            ) from error
        for directory in self._touched:  # we hold the lock: any other temp file is stale
            for stale in directory.glob(f"{TMP_PREFIX}*"):
                _unlink_quietly(stale)
        self._release()
        return self.summaries

    def abort(self) -> None:
        """Drop the staged temp files and new empty directories; a no-op once done."""
        if self._lock_fd is None:
            return
        for tmp, _ in self._moves:
            _unlink_quietly(tmp)
        for directory in reversed(self._created):
            with contextlib.suppress(OSError):  # not empty: someone else's now
                directory.rmdir()
        self._release()

    def _release(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.abort()


class BarStore:
    """Bars on disk as Parquet, with de-duplicating atomic writes and SQL reads.

    One process-wide caution: the writer lock is an ``flock``, which is held
    per open file, so a second :meth:`stage` in the same process while one is
    open waits forever. Commit or abort before staging again.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # ----------------------------------------------------------------- writing
    def write(
        self, bars: pd.DataFrame, timeframe: str, *, on_conflict: OnConflict = "error"
    ) -> list[WriteSummary]:
        """Merge ``bars`` into the store, all symbols or none; see :meth:`stage`."""
        with self.stage(bars, timeframe, on_conflict=on_conflict) as staged:
            return staged.commit()

    def stage(
        self, bars: pd.DataFrame, timeframe: str, *, on_conflict: OnConflict = "error"
    ) -> StagedWrite:
        """Merge ``bars`` with the stored partitions and write the results to temp files.

        Bars at timestamps not yet stored are added; bars equal in all five
        columns to the stored ones count as duplicates; bars that differ follow
        ``on_conflict``. Partitions with nothing new are not rewritten.

        Raises
        ------
        ValueError
            When ``bars`` is not a canonical bars frame or ``timeframe`` is not standard.
        StoreConflictError
            With ``on_conflict="error"``, when a bar differs from the stored one;
            nothing is staged for any symbol.
        DataError
            When a stored partition cannot be read.
        """
        check_bars_frame(bars)
        parts = (group for _, group in bars.groupby(level="symbol", sort=False))
        return self.stage_parts(parts, timeframe, on_conflict=on_conflict)

    def stage_parts(
        self,
        parts: Iterable[pd.DataFrame],
        timeframe: str,
        *,
        on_conflict: OnConflict = "error",
    ) -> StagedWrite:
        """Stage bars arriving as an iterable of frames, one symbol each, like :meth:`stage`.

        Each part is merged and written to its temp file before the next one is
        pulled, so a large ingest holds one symbol's bars in memory at a time.
        An exception raised by the iterable aborts the whole write.
        """
        Timeframe.parse(timeframe)
        if on_conflict not in ("error", "keep", "replace"):
            raise ValueError(f"on_conflict must be error, keep or replace, got {on_conflict!r}")
        self.root.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        staged = StagedWrite(lock_fd)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)  # waits for any other writer
            for part in parts:
                check_bars_frame(part)
                symbols = part.index.get_level_values("symbol").unique()
                if len(symbols) != 1 or not isinstance(symbols[0], str) or not symbols[0]:
                    raise ValueError("each part must hold one symbol, a non-empty string")
                symbol = str(symbols[0])
                path = self._partition(timeframe, symbol) / FILE_NAME
                incoming = part.droplevel("symbol").loc[:, list(BAR_COLUMNS)]
                incoming.index = pd.DatetimeIndex(incoming.index).as_unit("ns")
                frame, summary = _merge(
                    _read_partition(path), incoming, symbol, timeframe, on_conflict
                )
                staged.summaries.append(summary)
                staged._touched.append(path.parent)
                if summary.new_rows or summary.replaced_rows:
                    # Written now, so only one merged partition is in memory at a time;
                    # a conflict in a later symbol aborts and removes these temp files.
                    staged._created.extend(_make_dirs(path.parent))
                    tmp = path.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}"
                    staged._moves.append((tmp, path))
                    _write_partition(tmp, frame, symbol, timeframe)
                del frame
        except BaseException:
            staged.abort()
            raise
        return staged

    # ----------------------------------------------------------------- reading
    def read(
        self,
        symbols: Sequence[str] | None = None,
        timeframe: str = "1d",
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Return stored bars as a canonical frame, ``start <= ts <= end`` (both optional).

        Only the named partitions are opened, and the ``ts`` bounds are pushed
        down to Parquet row-group statistics, so a narrow read of a long
        history does not load it. Unknown symbols are simply absent.
        """
        import pyarrow.dataset as ds

        Timeframe.parse(timeframe)
        condition = None
        if start is not None:
            condition = ds.field("ts") >= _utc(start, "start")
        if end is not None:
            upper = ds.field("ts") <= _utc(end, "end")
            condition = upper if condition is None else condition & upper
        if isinstance(symbols, str):
            symbols = [symbols]
        if symbols is None:
            files = self._files(timeframe)
        else:
            candidates = (self._partition(timeframe, s) / FILE_NAME for s in dict.fromkeys(symbols))
            files = [path for path in candidates if path.is_file()]
        if not files:
            return empty_bars()
        try:
            dataset = ds.dataset([str(f) for f in files], schema=_schema(), format="parquet")
            table = dataset.to_table(columns=["symbol", "ts", *BAR_COLUMNS], filter=condition)
        except (OSError, ValueError) as error:  # ArrowInvalid is a ValueError
            raise DataError(f"cannot read bars from {self.root}: {error}") from error
        return bars_from_flat(table.to_pandas())

    def coverage(self) -> list[Coverage]:
        """Return every partition's span from Parquet footers, without reading bars.

        Files are sorted by ``ts``, so the first row group's minimum and the
        last one's maximum are the first and last bar, and ``symbol`` and
        ``timeframe`` are constant columns whose minimum is their value.
        """
        import pyarrow.parquet as pq

        out: list[Coverage] = []
        for path in self._files():
            try:
                meta = pq.read_metadata(path)
                if meta.num_rows == 0:
                    continue
                item = Coverage(
                    symbol=_stat(meta, "symbol", 0).min,
                    timeframe=_stat(meta, "timeframe", 0).min,
                    first=pd.Timestamp(_stat(meta, "ts", 0).min_raw, unit="ns", tz="UTC"),
                    last=pd.Timestamp(_stat(meta, "ts", -1).max_raw, unit="ns", tz="UTC"),
                    rows=meta.num_rows,
                )
            except (OSError, ValueError) as error:  # ArrowInvalid is a ValueError
                raise DataError(f"stored partition {path} cannot be read: {error}") from error
            out.append(item)
        return sorted(out, key=lambda c: (c.timeframe, c.symbol))

    def symbols(self, timeframe: str) -> list[str]:
        """Return the symbols stored for ``timeframe``, sorted."""
        Timeframe.parse(timeframe)
        return sorted(
            unquote(p.parent.name.removeprefix("symbol=")) for p in self._files(timeframe)
        )

    def query(self, sql: str) -> pd.DataFrame:
        """Run DuckDB SQL against a view ``bars`` over every partition of every timeframe.

        The view is built from the list of complete ``bars.parquet`` files (so
        temp files are never seen), with ``union_by_name`` so files written by
        older versions with fewer columns still combine, and with hive
        partitioning off so the real ``symbol``/``timeframe`` columns are used.
        ``ts`` is a microsecond ``TIMESTAMPTZ`` so it compares with plain
        timestamp literals, and comes back tz-aware UTC. A statement with no
        result gives an empty frame.

        Raises
        ------
        DataError
            When the store holds no bars, or with DuckDB's message when the SQL fails.
        """
        import duckdb

        files = [str(path) for path in self._files()]
        if not files:
            raise DataError(f"the bar store at {self.root} is empty; ingest bars before querying")
        connection = duckdb.connect()
        try:
            connection.execute("SET TimeZone = 'UTC'")
            relation = connection.read_parquet(files, union_by_name=True, hive_partitioning=False)
            relation.create_view("bar_files")
            # Nanosecond TIMESTAMPTZ_NS does not compare with TIMESTAMPTZ literals
            # without a cast; bar closes never need sub-microsecond precision.
            connection.execute(
                "CREATE VIEW bars AS "
                "SELECT * REPLACE (CAST(ts AS TIMESTAMPTZ) AS ts) FROM bar_files"
            )
            result = connection.sql(sql)
            # Through Arrow, not .df(): DuckDB's own conversion trips pandas 3
            # deprecation warnings; Arrow keeps ``ts`` UTC-aware.
            frame: pd.DataFrame = (
                pd.DataFrame() if result is None else result.to_arrow_table().to_pandas()
            )
        except duckdb.Error as error:
            raise DataError(f"query failed: {error}") from error
        finally:
            connection.close()
        return frame

    # ----------------------------------------------------------------- layout
    def _partition(self, timeframe: str, symbol: str) -> Path:
        return self.root / "bars" / f"timeframe={timeframe}" / f"symbol={quote(symbol, safe='')}"

    def _files(self, timeframe: str | None = None) -> list[Path]:
        """Complete partition files only; temp files never match ``bars.parquet``."""
        pattern = f"timeframe={timeframe or '*'}/symbol=*/{FILE_NAME}"
        base = self.root / "bars"
        return sorted(p for p in base.glob(pattern) if p.is_file()) if base.is_dir() else []


def _merge(
    stored: pd.DataFrame,
    incoming: pd.DataFrame,
    symbol: str,
    timeframe: str,
    on_conflict: OnConflict,
) -> tuple[pd.DataFrame, WriteSummary]:
    """Combine one partition's stored bars (ts-indexed) with incoming ones."""
    common = incoming.index.intersection(stored.index)
    fresh = incoming.loc[incoming.index.difference(stored.index)]
    new_values = incoming.loc[common].to_numpy()
    old_values = stored.loc[common].to_numpy()
    differs = new_values != old_values  # exact: NaN never reaches the store
    conflict_rows = differs.any(axis=1)
    conflicts = int(conflict_rows.sum())
    if conflicts and on_conflict == "error":
        row = int(np.flatnonzero(conflict_rows)[0])
        details = ", ".join(
            f"{column} stored {float(old_values[row, j])!r} new {float(new_values[row, j])!r}"
            for j, column in enumerate(BAR_COLUMNS)
            if differs[row, j]
        )
        raise StoreConflictError(
            f"{symbol} {timeframe}: {conflicts} bar(s) differ from the stored ones; first at "
            f"{common[row].isoformat()}: {details}. Nothing was written; set data.on_conflict "
            "to keep or replace to decide."
        )
    replaced = conflicts if on_conflict == "replace" else 0
    result = stored
    if replaced:
        result = stored.copy()
        changed = common[conflict_rows]
        result.loc[changed, list(BAR_COLUMNS)] = incoming.loc[changed, list(BAR_COLUMNS)]
    if len(fresh):
        result = pd.concat([result, fresh]).sort_index() if len(result) else fresh
    summary = WriteSummary(
        symbol=symbol,
        timeframe=timeframe,
        new_rows=len(fresh),
        duplicate_rows=len(common) - conflicts,
        replaced_rows=replaced,
        total_rows=len(result),
    )
    return result, summary


def _read_partition(path: Path) -> pd.DataFrame:
    """Load one stored partition as a ts-indexed frame; empty when it does not exist."""
    if not path.is_file():
        empty = empty_bars().droplevel("symbol")
        empty.index = pd.DatetimeIndex(empty.index).as_unit("ns")
        return empty
    frame: pd.DataFrame = _read_table(path, ["ts", *BAR_COLUMNS]).to_pandas().set_index("ts")
    frame.index = pd.DatetimeIndex(frame.index).as_unit("ns")
    return frame


def _read_table(path: Path, columns: list[str]) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path, columns=columns)
    except (OSError, ValueError) as error:  # ArrowInvalid is a ValueError
        raise DataError(f"stored partition {path} cannot be read: {error}") from error


def _write_partition(tmp: Path, frame: pd.DataFrame, symbol: str, timeframe: str) -> None:
    """Write one merged partition to ``tmp`` and fsync it before anyone may rename it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(frame)
    columns = {
        "symbol": pa.repeat(pa.scalar(symbol, pa.string()), n),
        "timeframe": pa.repeat(pa.scalar(timeframe, pa.string()), n),
        # Naive UTC nanoseconds in, UTC type declared: exact, and no pandas deprecation.
        "ts": pa.array(
            pd.DatetimeIndex(frame.index).tz_convert(None).as_unit("ns").to_numpy(),
            type=pa.timestamp("ns", tz="UTC"),
        ),
        **{c: pa.array(frame[c].to_numpy(dtype="float64"), pa.float64()) for c in BAR_COLUMNS},
    }
    table = pa.table(columns, schema=_schema())
    with tmp.open("xb") as handle:
        pq.write_table(table, handle, compression="zstd")
        handle.flush()
        os.fsync(handle.fileno())


def _make_dirs(directory: Path) -> list[Path]:
    """Create ``directory`` and missing parents; return those created, outermost first."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        path.mkdir()
    return list(reversed(missing))


def _utc(ts: pd.Timestamp, name: str) -> pd.Timestamp:
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is None:
        raise ValueError(f"{name} must be a tz-aware timestamp, got naive {stamp}")
    return stamp.tz_convert("UTC").as_unit("ns")


def _stat(meta: Any, column: str, row_group: int) -> Any:
    """Statistics of ``column`` in one row group (negative counts from the end)."""
    group = meta.row_group(row_group % meta.num_row_groups)
    stats = group.column(meta.schema.names.index(column)).statistics
    if stats is None or not stats.has_min_max:
        raise ValueError(f"no {column} statistics (not written by this store?)")
    return stats
