"""Overlays: stress written onto the historical path itself, after the training end.

An overlay family reads the whole history (it *is* the path being stressed)
but edits only a window of bars after ``train_end``, where the candidate
trades out of sample; bars before the window keep their stored values
exactly. The window is placed on timestamps every symbol shares, so a
market-wide event hits all symbols at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from alphagate.stress.families.base import (
    BarShapes,
    ScenarioError,
    ScenarioSpec,
    bars_of,
    common_stamps,
    frame_like,
    history_values,
    shapes_of,
    symbol_rows,
    volume_floor,
    with_floor,
)

ShapeEdit = Callable[[str, BarShapes, np.ndarray], None]
"""Edits one symbol's shapes in place; given the symbol and the window's positions in its rows."""


def overlay_window(
    spec: ScenarioSpec,
    history: pd.DataFrame,
    train_end: pd.Timestamp,
    *,
    start_fraction: float,
    length: int,
    tail: int = 0,
) -> pd.DatetimeIndex:
    """The ``length`` shared timestamps the overlay edits, starting ``start_fraction`` in.

    ``tail`` more shared bars must follow the window (an aftermath or a
    recovery). The fraction places the window within the post-training
    stretch, so the same spec lands at the same relative place on any history.
    """
    after = common_stamps(symbol_rows(history), after=train_end)
    room = len(after) - length - tail
    if room < 1:
        raise ScenarioError(
            f"scenario {spec.name!r} ({spec.family}) needs {length + tail + 1} bars that every "
            f"symbol shares after the training end {train_end}, the history has {len(after)}; "
            "move the training end earlier or load more history"
        )
    # Position 0 is excluded so the bar before the window is post-train too.
    first = 1 + min(int(start_fraction * room), room - 1)
    return after[first : first + length]


def training_floor(values: np.ndarray, ts: pd.DatetimeIndex, train_end: pd.Timestamp) -> float:
    """The volume floor of one symbol, taken from its training bars so later bars cannot move it.

    Without training bars (a history that starts after the training end) the
    floor comes from all of the symbol's bars.
    """
    training = values[np.asarray(ts <= train_end)]
    return volume_floor(training if len(training) else values)


def overlaid(
    history: pd.DataFrame, window: pd.DatetimeIndex, edit: ShapeEdit, train_end: pd.Timestamp
) -> pd.DataFrame:
    """``history`` with ``edit`` applied to every symbol's shapes over ``window``.

    Bars before the window are copied from the history untouched; bars from
    the window on are rebuilt from the edited shapes, so the path after the
    event continues from wherever the event left it.
    """
    values = history_values(history)
    out = values.copy()
    for rows in symbol_rows(history):
        own = values[rows.start : rows.stop]
        shapes = shapes_of(own)
        positions = rows.ts.get_indexer(window)
        if (positions < 0).any():  # the window is on shared stamps; this cannot happen
            raise ScenarioError(f"overlay window is not on {rows.symbol}'s timeline")
        edit(rows.symbol, shapes, positions)
        floor = training_floor(own, rows.ts, train_end)
        rebuilt = bars_of(shapes, volume_floor=floor)
        first = int(positions[0])
        out[rows.start + first : rows.stop] = rebuilt[first:]
        # The untouched prefix keeps its stored volume, floored like the rest.
        prefix = slice(rows.start, rows.start + first)
        out[prefix, 4] = with_floor(out[prefix, 4], floor)
    return frame_like(history, out)


def unchanged(history: pd.DataFrame, train_end: pd.Timestamp) -> pd.DataFrame:
    """The history's bars, volume floored as every scenario's is (see ``bars_of``)."""
    values = history_values(history)
    for rows in symbol_rows(history):
        own = values[rows.start : rows.stop]
        own[:, 4] = with_floor(own[:, 4], training_floor(own, rows.ts, train_end))
    return frame_like(history, values)
