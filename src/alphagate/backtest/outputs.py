"""Writing a backtest's result to a directory, all or nothing.

Files: ``metrics.json`` (:meth:`~alphagate.metrics.performance.PerformanceMetrics.to_json_dict`),
``equity.csv`` (``ts, equity``), ``trades.csv``, ``orders.csv``.

A reader must never mistake a half-written run for a finished one: gates read
``metrics.json`` and would judge a strategy on a truncated equity curve. So
everything is written into a temporary sibling directory and moved into place
with one rename. If writing fails, the temporary directory is kept under the
target's name with an ``INCOMPLETE`` marker (saying why) and without
``metrics.json``, so what was written can be inspected but never read as a
result.
"""

from __future__ import annotations

import csv
import functools
import json
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from alphagate.backtest.runner import BacktestResult

INCOMPLETE_MARKER = "INCOMPLETE"
METRICS_FILE = "metrics.json"


def write_outputs(result: BacktestResult, directory: str | Path) -> Path:
    """Write ``result`` into ``directory`` (created or replaced) and return its path.

    Raises
    ------
    FileExistsError
        When ``directory`` exists and is not a directory.
    Exception
        Whatever writing raised, after leaving ``directory`` marked incomplete.
    """
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _write_all(result, staging)
    except BaseException as exc:
        (staging / METRICS_FILE).unlink(missing_ok=True)
        (staging / INCOMPLETE_MARKER).write_text(f"{type(exc).__name__}: {exc}\n")
        _replace(staging, target)
        raise
    _replace(staging, target)
    return target


def _write_all(result: BacktestResult, directory: Path) -> None:
    """Every file into ``directory``; the equity curve on a thread of its own.

    The curve, a row per bar and the largest file, is formatted and written
    by Arrow and NumPy without holding the interpreter, while the trades and
    orders are formatted in Python; on a second core the two overlap.
    ``metrics.json`` is written only once both have succeeded.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="alphagate-equity") as pool:
        equity = pool.submit(_write_equity, result.equity, directory / "equity.csv")
        write_csv(result.trades, directory / "trades.csv")
        write_csv(result.orders, directory / "orders.csv")
    # Leaving the block waited for the thread, also when a write above raised:
    # nothing still writes into the folder when it is moved or marked incomplete.
    equity.result()
    # metrics.json last: its presence is what says "this run is complete".
    text = json.dumps(
        {"strategy": result.strategy, **result.metrics.to_json_dict()}, indent=2, allow_nan=False
    )
    partial = directory / f"{METRICS_FILE}.tmp"
    partial.write_text(text + "\n")
    partial.replace(directory / METRICS_FILE)


def utc_text(index: pd.DatetimeIndex) -> pa.Array:
    """Timestamps as pandas writes them to CSV (``2024-01-02 21:00:00+00:00``), vectorised.

    pandas formats a datetime column one value at a time: three seconds for a
    million-bar equity curve. Arrow's cast to text does the whole array in C++;
    the unit is the coarsest that loses nothing (seconds unless some value has
    a fraction), which is also how pandas chooses, so the text is the same
    (tested against ``DataFrame.to_csv``).
    """
    stamps, suffix = _utc_nanoseconds(index)
    return _utc_text_in(stamps, _text_unit(stamps), suffix)


def _utc_nanoseconds(index: pd.DatetimeIndex) -> tuple[np.ndarray, str]:
    """The stamps as UTC nanoseconds, and the offset pandas writes after them (none if naive)."""
    naive = index.tz_convert("UTC").tz_localize(None) if index.tz is not None else index
    return naive.as_unit("ns").asi8, "" if index.tz is None else "+00:00"


def _text_unit(stamps: np.ndarray) -> tuple[str, int]:
    """The coarsest unit that loses nothing of ``stamps``, and its length in nanoseconds."""
    unit, step = "ns", 1
    for unit, step in (("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1)):  # noqa: B007
        if not (stamps % step).any():
            break
    return unit, step


def _utc_text_in(stamps: np.ndarray, unit: tuple[str, int], suffix: str) -> pa.Array:
    """:func:`utc_text` of nanosecond ``stamps`` written in ``unit``, which must lose nothing."""
    name, step = unit
    if name == "s" and len(stamps) and (len(stamps) + 1) * (19 + len(suffix)) < 2**31:
        return _whole_seconds_text(stamps // step, suffix)
    text = pa.array(stamps // step, type=pa.timestamp(name)).cast(pa.string())
    if not suffix:
        return text
    return pc.binary_join_element_wise(text, pa.scalar(suffix), "")


def _whole_seconds_text(seconds: np.ndarray, suffix: str) -> pa.Array:
    """``YYYY-MM-DD HH:MM:SS`` plus ``suffix`` for each epoch second, as fixed-width Arrow text.

    Every value has the same width, so the text is laid out as one record of
    fixed-width fields per value, which Arrow takes as it is: each day's date
    and each second of the day is formatted once, and each value copies its
    two, where casting to text and appending the offset would format and copy
    every value twice (twice as long for a million-bar curve).
    """
    days, second = np.divmod(seconds, 86_400)
    first = int(days.min())
    dates = np.datetime_as_string(np.arange(first, int(days.max()) + 1).astype("datetime64[D]"))
    layout = [("date", "S10"), ("clock", "S9"), ("suffix", f"S{len(suffix)}")]
    rows = np.empty(len(seconds), dtype=np.dtype(layout))
    rows["date"] = dates.astype("S10")[days - first]
    rows["clock"] = _clock_text()[second]
    rows["suffix"] = suffix.encode("ascii")
    width = rows.dtype.itemsize
    offsets = np.arange(0, (len(seconds) + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(len(seconds), pa.py_buffer(offsets), pa.py_buffer(rows))


@functools.cache
def _clock_text() -> np.ndarray[Any, Any]:
    """`` HH:MM:SS`` for each second of a day, by second; read-only.

    Built once per process: a run's files have four columns of times, and
    the table takes a millisecond or two to build.
    """
    clock = np.arange(86_400)
    text = np.full((86_400, 9), ord(":"), dtype=np.uint8)
    text[:, 0] = ord(" ")
    for column, part in ((1, clock // 3600), (4, clock // 60 % 60), (7, clock % 60)):
        text[:, column] = part // 10 + ord("0")
        text[:, column + 1] = part % 10 + ord("0")
    table = text.view("S9").ravel()
    table.flags.writeable = False
    return table


_EQUITY_ROWS = 1 << 16
"""Rows of the equity curve formatted and written at a time (see :func:`_write_equity`)."""


def _write_equity(equity: pd.Series, path: Path) -> None:
    """``ts, equity`` as ``DataFrame.to_csv`` would write them, through Arrow's writer.

    Written a piece of :data:`_EQUITY_ROWS` rows at a time. Formatted whole,
    a million-bar curve's text and its temporaries took about 100 MB of
    fresh memory, each page of it a fault for the kernel to serve (17,000 of
    them, 0.2 s in a fresh process, more on a host that has just reclaimed
    its idle memory); in pieces, the same few MB are reused. The unit of the
    times is chosen from the whole curve, as :func:`utc_text` chooses it, so
    every row reads as it would have in one piece.
    """
    stamps, suffix = _utc_nanoseconds(pd.DatetimeIndex(equity.index))
    unit = _text_unit(stamps)
    values = equity.to_numpy(np.float64)
    schema = pa.schema([("ts", pa.string()), ("equity", pa.string())])
    with pacsv.CSVWriter(path, schema, write_options=_UNQUOTED) as writer:
        for start in range(0, len(values), _EQUITY_ROWS):
            piece = slice(start, start + _EQUITY_ROWS)
            text = [_utc_text_in(stamps[piece], unit, suffix), _arrow_float_text(values[piece])]
            writer.write_table(pa.table(text, schema=schema))


def _arrow_float_text(values: np.ndarray[Any, Any]) -> pa.Array:
    """Arrow's text of each float (as its CSV writer writes it), each run of equal ones cast once.

    Turning floats into text is most of writing an equity curve, and an
    account without a position repeats its equity bar after bar (half of the
    bars of a typical run; in the trades and orders, quantities and fees
    repeat), so when a quarter or more of the values repeat the one before,
    only the first of each run is cast and its text repeated. Values count as
    equal only bit for bit, so ``0.0`` and ``-0.0`` (written ``0`` and ``-0``)
    stay apart.

    The text is allocated by the C library's ``malloc`` rather than Arrow's
    default mimalloc pool: the cast grows its buffer as it goes, and in a
    fresh process (as every CLI run is) that took mimalloc about twice as
    long as ``malloc``, which can grow a large block where it lies.
    """
    pool = pa.system_memory_pool()
    bits = values.view(np.int64)
    starts = np.empty(values.size, dtype=bool)
    starts[:1] = True
    np.not_equal(bits[1:], bits[:-1], out=starts[1:])
    if 4 * int(np.count_nonzero(starts)) > 3 * values.size:
        return pc.cast(pa.array(values), pa.string(), memory_pool=pool)
    text = pc.cast(pa.array(values[starts]), pa.string(), memory_pool=pool)
    return pc.take(text, np.cumsum(starts) - 1, memory_pool=pool)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame.to_csv(path, index=False)``, byte for byte, formatted in bulk and written by Arrow.

    pandas formats timestamps one at a time (half a second for the ~60,000
    of a million-bar run's trades and orders) and floats through NumPy's
    slower ``astype(str)``. Here UTC timestamps go through :func:`utc_text`,
    float64 columns through :func:`float_text` (the text ``repr`` gives,
    which is what ``astype(str)`` writes) and text columns as they are, and
    when no cell needs quoting Arrow's writer writes the rows: what
    ``csv.writer`` would write, as pandas calls it, for unquoted cells. That
    writer, like the formatting, runs without holding the interpreter, so the
    report drawn meanwhile on another thread is not slowed. A frame whose
    cells need quoting or that has another kind of column is written through
    ``csv.writer`` as pandas hands it its cells (see :func:`_csv_cells`), and
    one with a column not even that covers (a naive or non-UTC time, float32,
    categories, …), or anything that is not a DataFrame, by pandas itself.
    """
    table = _text_table(frame)
    if table is not None:
        pacsv.write_csv(table, path, _UNQUOTED)
        return
    formatted = (
        [_csv_cells(frame[name]) for name in frame.columns]
        if isinstance(frame, pd.DataFrame)
        and frame.columns.is_unique
        and all(isinstance(name, str) for name in frame.columns)
        else [None]
    )
    known = [column for column in formatted if column is not None]
    if not known or len(known) < len(formatted):
        frame.to_csv(path, index=False)
        return
    columns = [cells for cells, _ in known]
    header = list(frame.columns)
    with path.open("w", encoding="utf-8", newline="") as handle:
        plain = all(safe or _plain(cells) for cells, safe in known)
        if len(header) > 1 and plain and _plain(header):
            handle.write(",".join(header) + "\n")
            if len(frame):
                handle.write("\n".join(map(",".join, zip(*columns, strict=True))) + "\n")
            return
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(zip(*columns, strict=True))


_UNQUOTED = pacsv.WriteOptions(quoting_style="none", quoting_header="none", batch_size=65_536)
"""Arrow's CSV writer for cells that need no quoting; larger batches than its
default 1,024 rows mean fewer, larger writes (the bytes are the same)."""


def _text_table(frame: pd.DataFrame) -> pa.Table | None:
    """Every cell of ``frame`` as the text ``to_csv`` writes for it (missing ones null), or None.

    None unless the frame has more than one column (a row of one empty cell
    is written ``""``), uniquely named by text, and no name or cell contains
    a character ``csv.writer`` quotes (``,``, ``"``, a line break): then, and
    only then, its rows are the cells joined by commas.
    """
    if not (
        isinstance(frame, pd.DataFrame)
        and len(frame.columns) > 1
        and frame.columns.is_unique
        and _plain(list(frame.columns))
    ):
        return None
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in frame.columns:
        text = _text_column(frame[name])
        if text is None:
            return None
        columns[name] = text
    return pa.table(columns)


def _text_column(column: pd.Series) -> pa.Array | pa.ChunkedArray | None:
    """The column's cells as Arrow text, as ``to_csv`` writes them (missing as null), or None.

    Covered: UTC times, float64, integers, and text (a string dtype, or
    objects that are all ``str`` or missing) in which no cell needs quoting.
    Anything else (booleans, which pandas writes ``True``; other objects;
    other times and floats; text with a comma, quote or line break) is None.
    """
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _utc_cells(column) if str(dtype.tz) == "UTC" else None
    if dtype == np.float64:
        return float_text(column.to_numpy())
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return pa.array(column.to_numpy()).cast(pa.string())
    strings = _strings(column)
    return None if strings is None or _has_any(strings, b',"\r\n') else strings


def _utc_cells(column: pd.Series) -> pa.Array:
    """:func:`utc_text` of a column of UTC times, null (written empty) where one is missing.

    Only the present stamps go through :func:`utc_text`, which picks the unit
    of its text from the stamps it is given, as pandas does from the present ones.
    """
    missing = column.isna().to_numpy(dtype=bool)
    text = utc_text(pd.DatetimeIndex(column)[~missing])
    if not missing.any():
        return text
    # Each present stamp's text, and a null index (so a null cell) where one is missing.
    return text.take(pa.array(np.cumsum(~missing) - 1, mask=missing))


def _strings(column: pd.Series) -> pa.Array | pa.ChunkedArray | None:
    """A text column's cells as Arrow text (missing as null), or None if it is not all text.

    ``csv.writer`` writes any other object by ``str`` (a float by ``repr``),
    which only the slower way reproduces.
    """
    if isinstance(column.dtype, pd.StringDtype):
        return pa.array(column.array)
    if not (isinstance(column.dtype, np.dtype) and column.dtype.kind == "O"):
        return None
    values = column.to_numpy(dtype=object, copy=True)
    missing = column.isna().to_numpy(dtype=bool)
    values[missing] = None
    if not set(map(type, values[~missing].tolist())) <= {str}:
        return None
    return pa.array(values, type=pa.large_string())


def _has_any(text: pa.Array | pa.ChunkedArray, characters: bytes) -> bool:
    """Whether any of ``characters`` (ASCII) is in ``text``: one scan of its bytes per character.

    The bytes searched are the arrays' whole data buffers, which may hold
    more than their cells (the rest of a sliced array), so a True can be
    wrong, which only costs the slower, equally exact, way of writing.
    """
    chunks = text.chunks if isinstance(text, pa.ChunkedArray) else [text]
    for chunk in chunks:
        data = chunk.buffers()[2]
        if data is not None:
            raw = data.to_pybytes()
            if any(raw.find(character) >= 0 for character in characters):
                return True
    return False


def float_text(values: np.ndarray[Any, Any]) -> pa.Array:
    """``repr`` of each float64 (what ``to_csv`` writes for it), NaN as null; formatted by Arrow.

    Arrow's cast to text writes the shortest digits that read back as the
    same float, as ``repr`` does, in a sixth of the time and without holding
    the interpreter. The two differ in form only: Arrow writes a whole number
    without ``.0`` (``100``), which is added here, and uses exponent notation
    at other magnitudes than ``repr``, which writes plain digits from 1e-4 up
    to 1e16; values outside that range, and any that Arrow wrote with an
    exponent, are written by ``repr`` itself (none in a run's trades).
    """
    text = _arrow_float_text(values)
    finite = np.isfinite(values)
    whole = finite & (values == np.trunc(values, where=finite, out=np.zeros_like(values)))
    if whole.all():
        text = pc.binary_join_element_wise(text, pa.scalar(".0"), "")
    elif whole.any():
        text = pc.if_else(whole, pc.binary_join_element_wise(text, pa.scalar(".0"), ""), text)
    magnitude = np.abs(values, where=finite, out=np.ones_like(values))
    exponent = finite & (values != 0.0) & ((magnitude < 1e-4) | (magnitude >= 1e16))
    if _has_any(text, b"e"):
        exponent |= pc.fill_null(pc.match_substring(text, "e"), False).to_numpy(
            zero_copy_only=False
        )
    if exponent.any():
        written = pa.array(list(map(repr, values[exponent].tolist())), type=pa.string())
        text = pc.replace_with_mask(text, pa.array(exponent), written)
    missing = np.isnan(values)
    if missing.any():
        text = pc.if_else(missing, pa.scalar(None, pa.string()), text)
    return text


def _plain(cells: Sequence[object]) -> bool:
    """Whether csv.writer (``QUOTE_MINIMAL``) writes every cell as it is: text it need not quote.

    Only with more than one column: a row of one empty cell is written ``""``.
    """
    if not set(map(type, cells)) <= {str}:
        return False
    text = "".join(cells)  # type: ignore[arg-type]
    return not any(special in text for special in ',"\r\n')


def _csv_cells(column: pd.Series) -> tuple[Sequence[object], bool] | None:
    """What ``to_csv`` hands ``csv.writer`` for ``column`` (missing values as ``""``), or None.

    With it, whether the cells are known to be text that needs no quoting
    (numbers and times formatted here). None means the column is one this
    module does not format; see :func:`write_csv`.
    """
    dtype = column.dtype
    missing = column.isna().to_numpy(dtype=bool)
    if isinstance(dtype, pd.DatetimeTZDtype):
        if str(dtype.tz) != "UTC":
            return None
        stamps = pd.DatetimeIndex(column)
        cells = np.full(len(column), "", dtype=object)
        cells[~missing] = utc_text(stamps[~missing]).to_pylist()
        return cells.tolist(), True
    if dtype == np.float64:
        cells = np.asarray(list(map(repr, column.to_numpy().tolist())), dtype=object)
        cells[missing] = ""
        return cells.tolist(), True
    if isinstance(dtype, pd.StringDtype) or (isinstance(dtype, np.dtype) and dtype.kind in "biuO"):
        # pandas' own conversion for these: the values as objects, missing ones
        # blank; csv.writer turns each into text (str, or repr for a float).
        values = np.asarray(column.array.astype(object), dtype=object)
        values[missing] = ""
        objects: list[object] = values.tolist()
        return objects, False
    return None


def _replace(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``, removing an earlier run's directory first."""
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
