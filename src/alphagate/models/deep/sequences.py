"""Point-in-time input windows for the sequence nets, and the scaler they are standardised by.

A sequence net reads, for each row ``(symbol, t)`` of a feature frame, the
window of that symbol's ``window`` rows ending at and including ``t``. Three
rules keep that honest, and the tests hold the model to them with the
project's truncation checker (``alphagate.features.pit.assert_point_in_time``):

* **Only the past of the same symbol.** A window is built from the rows of
  ``X`` with the same ``symbol`` and ``ts <= t``, ordered by ``ts``; never a
  later row, never another symbol's row. So the prediction for ``t`` cannot
  change when rows after ``t`` are removed.
* **Short history is padded, not dropped.** The first ``window - 1`` rows of a
  symbol in ``X`` have less history; their windows are left-padded with zeros
  and a validity mask says which steps are real. ``predict_proba`` therefore
  returns one probability for every input row, as the ``Model`` protocol
  requires, and a prediction only ever reads the history it is given: a
  caller that wants full windows at the start of a period passes the rows
  before it too (they are features, known at ``t``).
* **Scalers fitted on training rows only.** The mean and standard deviation
  per feature come from the rows ``fit`` is given and are saved with the
  model; prediction applies them unchanged. Standardised values are clipped
  to ``±VALUE_LIMIT`` so an absurd input (1e6) cannot overflow the net.

The index must be ``(symbol, ts)``; a frame indexed by symbol alone (one row
per symbol, as an online predictor builds it) has no history to window and is
refused with an error saying so. Online, ``DeepModel.stream`` keeps each
symbol's rows between bar closes instead (``alphagate.models.deep.stream``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

VALUE_LIMIT = 20.0
"""Standardised features are clipped to this many standard deviations."""

PAD = -1
"""Position marking a padded step in a window."""


@dataclass(frozen=True)
class FeatureScaler:
    """Per-feature mean and standard deviation, fitted on training rows only.

    A constant feature gets a standard deviation of 1, so it maps to 0
    rather than dividing by zero.
    """

    mean: FloatArray
    std: FloatArray

    @classmethod
    def fit(cls, matrix: FloatArray) -> FeatureScaler:
        """Fit on ``matrix`` (``(n, p)``, finite): the training rows."""
        mean = matrix.mean(axis=0)
        std = matrix.std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)
        return cls(mean=mean.astype(np.float64), std=std.astype(np.float64))

    def transform(self, matrix: FloatArray) -> FloatArray:
        """Standardise and clip to ``±VALUE_LIMIT``."""
        scaled: FloatArray = np.clip((matrix - self.mean) / self.std, -VALUE_LIMIT, VALUE_LIMIT)
        return scaled

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-ready lists (Python floats round-trip exactly through JSON)."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, body: dict[str, list[float]], n_features: int) -> FeatureScaler:
        """Rebuild a saved scaler, checking it has one entry per feature.

        Raises
        ------
        ValueError
            A list is missing or of the wrong length.
        """
        mean = np.asarray(body.get("mean", []), dtype=np.float64)
        std = np.asarray(body.get("std", []), dtype=np.float64)
        if mean.shape != (n_features,) or std.shape != (n_features,):
            raise ValueError(
                f"the saved scaler has {mean.size} means and {std.size} deviations "
                f"for {n_features} features: the files do not belong together"
            )
        return cls(mean=mean, std=std)


def _symbol_and_time(index: pd.Index) -> tuple[IntArray, IntArray]:
    """Integer symbol codes and int64 timestamps of a ``(symbol, ts)`` index.

    Raises
    ------
    ValueError
        The index is not ``(symbol, ts)`` or repeats a row.
    """
    names = list(index.names)
    if not isinstance(index, pd.MultiIndex) or "symbol" not in names or "ts" not in names:
        raise ValueError(
            f"sequence models need X indexed by ('symbol', 'ts') to build each row's window "
            f"of past rows, got index names {names}; pass the feature frame's rows with "
            f"their history, not one row per symbol"
        )
    if not index.is_unique:
        raise ValueError("X has duplicate (symbol, ts) rows; a window would be ambiguous")
    codes = pd.factorize(index.get_level_values("symbol"))[0].astype(np.int64)
    stamps = index.get_level_values("ts")
    if isinstance(stamps, pd.DatetimeIndex):
        times = stamps.as_unit("ns").asi8.astype(np.int64)
    else:
        times = np.asarray(pd.factorize(stamps, sort=True)[0], dtype=np.int64)
    return codes, times


def window_positions(index: pd.Index, window: int) -> IntArray:
    """For each row, the positions (into the index) of its window, oldest first.

    Parameters
    ----------
    index
        ``(symbol, ts)``, in any order.
    window
        Steps per window; the last step is the row itself.

    Returns
    -------
    numpy.ndarray
        ``(len(index), window)`` int64; ``PAD`` (-1) where the symbol has
        fewer earlier rows than the window needs.

    Raises
    ------
    ValueError
        A bad index (see ``_symbol_and_time``) or ``window < 1``.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    codes, times = _symbol_and_time(index)
    order = np.lexsort((times, codes))  # by symbol, then time
    sorted_codes = codes[order]
    n = len(order)
    first = np.ones(n, dtype=bool)
    first[1:] = sorted_codes[1:] != sorted_codes[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    rank = np.arange(n) - group_start  # earlier rows of the same symbol
    back = np.arange(window - 1, -1, -1, dtype=np.int64)  # steps back, oldest first
    sources = np.arange(n, dtype=np.int64)[:, None] - back[None, :]
    valid = back[None, :] <= rank[:, None]
    positions = np.full((n, window), PAD, dtype=np.int64)
    positions[order] = np.where(valid, order[np.clip(sources, 0, None)], PAD)
    return positions
