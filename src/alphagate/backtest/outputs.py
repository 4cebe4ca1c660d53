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

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from alphagate.atomic import write_text_atomically
from alphagate.backtest.runner import BacktestResult

INCOMPLETE_MARKER = "INCOMPLETE"
# Column names are ours and plain, so the header goes unquoted; values are
# quoted only where a comma, quote or line break needs it.
_CSV_QUOTING = {"quoting_style": "needed", "quoting_header": "none"}
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
    """Every file into ``directory``, ``metrics.json`` last: its presence says the run is complete.

    Each file is written whole or not at all (:func:`write_text_atomically`),
    so even the staging directory of a failed run holds no truncated file.
    """
    write_csv(result.trades, directory / "trades.csv")
    write_csv(result.orders, directory / "orders.csv")
    write_csv(equity_frame(result.equity), directory / "equity.csv")
    text = json.dumps(
        {"strategy": result.strategy, **result.metrics.to_json_dict()}, indent=2, allow_nan=False
    )
    write_text_atomically(directory / METRICS_FILE, text + "\n")


def equity_frame(equity: pd.Series) -> pd.DataFrame:
    """The equity curve as the two columns of ``equity.csv``: ``ts`` (its index) and ``equity``."""
    return pd.DataFrame({"ts": equity.index, "equity": equity.to_numpy()})


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as CSV by Arrow's writer, atomically (a temporary file beside it, then a rename).

    Every table a run writes goes through here, so their times read alike.

    Arrow formats a column at a time in C++, where pandas' ``to_csv`` turns
    every timestamp into a Python object first: a million-bar equity curve
    takes a fraction of a second instead of seconds. Times are written in
    ISO 8601 with their UTC ``Z``; floats with the digits that read back exactly.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    table = pa.Table.from_pandas(frame, preserve_index=False)
    options = pa_csv.WriteOptions(**_CSV_QUOTING)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as out:
        temporary = Path(out.name)
    try:
        pa_csv.write_csv(table, temporary, options)
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _replace(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``, removing an earlier run's directory first."""
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
