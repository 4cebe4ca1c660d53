"""A deep model's predictions one bar close at a time, for the online predictor.

The batch path (``DeepModel.predict_proba``) reads each row's window from the
frame it is given: that symbol's rows up to and including the row, the
oldest ``window - 1`` of them at most, left-padded with zero rows and a
validity mask when the frame holds fewer. An online predictor instead shows
one row per symbol per bar close, so the window has to be remembered between
calls: :class:`DeepStream` keeps, per symbol, the last ``window`` rows it was
shown, already standardised by the model's training scaler, and builds the
same padded window the batch path builds from the same rows.

Shown the rows of a frame bar by bar, a stream therefore gives the batch
numbers (the net runs in float64 on the CPU; only the batch composition
differs, which moves the last bits: the tests hold it to 1e-12). The stream
only remembers what it was shown: the first ``window - 1`` bars of a symbol
are padded exactly as the first rows of that symbol in a batch frame are.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from alphagate.models.deep.beta import beta_mean
from alphagate.models.deep.sequences import FeatureScaler
from alphagate.models.protocol import FloatArray, prepare_prediction_data


class DeepStream:
    """One fitted deep net's windows kept per symbol across calls.

    Parameters
    ----------
    net
        The fitted net, float64, on the CPU (as ``DeepModel`` keeps it).
    scaler
        The training scaler, applied to each row as it arrives.
    window
        Steps per window.
    feature_names, family
        The columns the net was trained on, and its family for error messages.
    """

    def __init__(
        self,
        net: nn.Module,
        scaler: FeatureScaler,
        window: int,
        feature_names: Sequence[str],
        family: str,
    ) -> None:
        self._net = net
        self._scaler = scaler
        self._window = window
        self._feature_names = list(feature_names)
        self._family = family
        self._rows: dict[str, deque[FloatArray]] = {}
        self._last: dict[str, int] = {}

    def predict_proba(self, ts: int, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        """P(up) for each row of ``X`` (index ``symbol``, one row each), its bar closing at ``ts``.

        Raises
        ------
        ValueError
            Missing feature columns, a repeated symbol, or a symbol shown a
            ``ts`` not after the last one it was shown (bars must come in time
            order, as the batch path reads them).
        """
        matrix = prepare_prediction_data(X, self._feature_names, self._family)
        symbols = [str(symbol) for symbol in X.index]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"{self._family} stream: one row per symbol per bar, got {symbols}")
        scaled = self._scaler.transform(matrix)
        n, window = len(symbols), self._window
        x = np.zeros((n, window, matrix.shape[1]), dtype=np.float64)
        valid = np.zeros((n, window), dtype=bool)
        for i, symbol in enumerate(symbols):
            last = self._last.get(symbol)
            if last is not None and ts <= last:
                raise ValueError(
                    f"{self._family} stream: {symbol} shown ts {ts} after {last}; "
                    "bars must come in time order"
                )
            self._last[symbol] = ts
            held = self._rows.setdefault(symbol, deque(maxlen=window))
            held.append(scaled[i])
            x[i, window - len(held) :] = np.stack(held)
            valid[i, window - len(held) :] = True
        self._net.eval()
        with torch.no_grad():
            output = self._net(torch.as_tensor(x), torch.as_tensor(valid))
            mean = beta_mean(output.alpha, output.beta)
        probabilities: FloatArray = mean.numpy().astype(np.float64)
        return probabilities
