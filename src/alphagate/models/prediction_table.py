"""Predictions made in one batch beforehand, served bar by bar: a backtest's fast path.

A backtest knows every bar in advance, so it can compute the features and
predictions of a whole frame at once (vectorised, one model call per
horizon) and hand the strategy each bar's row as it closes.
:class:`PredictionTable` is that lookup behind the
:class:`~alphagate.ports.Predictor` port, so the strategy asks for
predictions exactly as it asks a live :class:`~alphagate.models.online.OnlinePredictor`;
the tests hold the two to the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphagate.domain.strategy import SymbolHistory


class PredictionTable:
    """P(up) per ``(symbol, ts)`` and column, looked up at each bar close.

    Parameters
    ----------
    predictions
        Indexed by ``(symbol, ts)``, one float column per ``<model>_h<horizon>``
        (plus ``p_peak``/``p_valley`` where a turning-point model feeds the
        barrier gate), NaN where no prediction was made.

    Raises
    ------
    ValueError
        For a frame not indexed by ``(symbol, ts)``.
    """

    def __init__(self, predictions: pd.DataFrame) -> None:
        if list(predictions.index.names) != ["symbol", "ts"]:
            raise ValueError(
                f"predictions must be indexed by ('symbol', 'ts'), got {predictions.index.names}"
            )
        self._columns = tuple(str(c) for c in predictions.columns)
        self._rows: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = {}
        for symbol, frame in predictions.groupby(level="symbol", sort=False):
            ts = pd.DatetimeIndex(frame.index.get_level_values("ts")).as_unit("ns").asi8
            order = np.argsort(ts, kind="stable")
            values = frame.to_numpy(dtype=np.float64, na_value=np.nan)[order]
            self._rows[str(symbol)] = (ts[order], values)

    @property
    def columns(self) -> tuple[str, ...]:
        """The prediction columns, in the frame's order."""
        return self._columns

    def predict(
        self, ts: int, symbols: Sequence[str], history: Mapping[str, SymbolHistory]
    ) -> dict[str, dict[str, float]]:
        """The row of each symbol at ``ts``; NaN for a symbol or bar the table does not hold."""
        missing = dict.fromkeys(self._columns, math.nan)
        out: dict[str, dict[str, float]] = {}
        for symbol in symbols:
            known = self._rows.get(symbol)
            out[symbol] = missing.copy()
            if known is None:
                continue
            stamps, values = known
            row = int(np.searchsorted(stamps, ts))
            if row < len(stamps) and stamps[row] == ts:
                out[symbol] = dict(zip(self._columns, values[row].tolist(), strict=True))
        return out
