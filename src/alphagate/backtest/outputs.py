"""Writing a backtest's result to a directory, all or nothing.

Files: ``metrics.json`` (:meth:`~alphagate.metrics.PerformanceMetrics.to_json_dict`),
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
import json
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
    naive = index.tz_convert("UTC").tz_localize(None) if index.tz is not None else index
    values = naive.as_unit("ns").asi8
    suffix = "" if index.tz is None else "+00:00"
    unit, step = "ns", 1
    for unit, step in (("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1)):  # noqa: B007
        if not (values % step).any():
            break
    if unit == "s" and len(values) and (len(values) + 1) * (19 + len(suffix)) < 2**31:
        return _whole_seconds_text(values // step, suffix)
    text = pa.array(values // step, type=pa.timestamp(unit)).cast(pa.string())
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
    clock = np.arange(86_400)
    clock_text = np.full((86_400, 9), ord(":"), dtype=np.uint8)
    clock_text[:, 0] = ord(" ")
    for column, part in ((1, clock // 3600), (4, clock // 60 % 60), (7, clock % 60)):
        clock_text[:, column] = part // 10 + ord("0")
        clock_text[:, column + 1] = part % 10 + ord("0")
    layout = [("date", "S10"), ("clock", "S9"), ("suffix", f"S{len(suffix)}")]
    rows = np.empty(len(seconds), dtype=np.dtype(layout))
    rows["date"] = dates.astype("S10")[days - first]
    rows["clock"] = clock_text.view("S9").ravel()[second]
    rows["suffix"] = suffix.encode("ascii")
    width = rows.dtype.itemsize
    offsets = np.arange(0, (len(seconds) + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(len(seconds), pa.py_buffer(offsets), pa.py_buffer(rows))


def _write_equity(equity: pd.Series, path: Path) -> None:
    """``ts, equity`` as ``DataFrame.to_csv`` would write them, through Arrow's writer."""
    table = pa.table(
        {"ts": utc_text(pd.DatetimeIndex(equity.index)), "equity": equity.to_numpy(np.float64)}
    )
    options = pacsv.WriteOptions(quoting_style="none", quoting_header="none")
    pacsv.write_csv(table, path, options)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame.to_csv(path, index=False)``, byte for byte, with timestamps and floats done in bulk.

    pandas formats timestamps one at a time (half a second for the ~60,000
    of a million-bar run's trades and orders) and floats through NumPy's
    slower ``astype(str)``. Here UTC timestamps go through :func:`utc_text`
    and float64 columns through ``repr`` (which is what ``astype(str)``
    writes), every other column is handed over as pandas hands it over, and
    the rows go through the same ``csv.writer`` with pandas' defaults, so
    quoting is the same; when no cell needs quoting the rows are simply
    joined, which is what the writer would write. A frame with any other kind
    of column (a naive or non-UTC time, float32, categories, …), or anything
    that is not a DataFrame, is written by pandas itself.
    """
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
