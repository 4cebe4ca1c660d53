"""Predictions computed online, one bar close at a time, from the bars seen so far.

A live engine cannot look predictions up: at each bar close it must compute
the feature row of the bar that just closed, apply each horizon's model and
calibrator, and act. :class:`OnlinePredictor` does exactly that behind the
:class:`~alphagate.ports.Predictor` port, with the training's own feature
functions (:func:`alphagate.features.latest_features`), so its numbers are
the batch predictions of a backtest (the tests hold them equal to 1e-12 and
pass it through the point-in-time checker).

**History kept.** Recursive indicators (RSI, EMA, ATR, ADX, MACD, the OBV
slope) are seeded at the first bar they are given, as training computed
them, so a trailing window of the features' declared warm-ups would give
other values: the predictor keeps every bar of each symbol since the first
one it was given (:meth:`OnlinePredictor.warm_up`, then the bars it is shown),
in arrays that grow by doubling, and a bar costs one pass of the features
over that history. Daily bars over decades are a few thousand rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphagate.domain.strategy import SymbolHistory
from alphagate.features import BarArrays, FeatureProfile, FeatureRegistry, latest_features
from alphagate.models.calibration import Calibrator
from alphagate.models.protocol import Model

_Scalar = TypeVar("_Scalar", bound=np.generic)
_FIELDS = ("open", "high", "low", "close", "volume")


class ModelStream(Protocol):
    """A model's predictions kept across bar closes (member losses, a net's windows)."""

    def predict_proba(self, ts: int, X: pd.DataFrame) -> npt.NDArray[np.float64]:  # noqa: N803
        """P(up) per row of ``X`` (index ``symbol``), their bars closing at ``ts``."""
        ...


@runtime_checkable
class StreamingModel(Protocol):
    """A model whose prediction at a bar depends on its earlier bars, as its batch path reads them.

    The online predictor asks it for one stream per column and feeds that
    the bars in order, so the online numbers are the batch ones. The
    ensemble (running member losses) and the deep families (each symbol's
    window of rows) are such models; a stream sees only the bars from the
    first one it is shown, as a batch frame that starts there.
    """

    def stream(self) -> ModelStream:
        """A fresh stream, with no bar seen yet."""
        ...


@dataclass(frozen=True, eq=False)
class HorizonModel:
    """One prediction column: a fitted model, its calibrator, and when it may first predict.

    ``valid_from`` (int64 ns, UTC) keeps a backtest out of sample: a model
    gives no prediction for a bar before it, its training period. ``None``
    (a live run, trained on the past) lets it predict every bar.
    """

    column: str
    model: Model
    calibrator: Calibrator
    valid_from: int | None = None


class _GrowingBars:
    """One symbol's bars as contiguous arrays that double in capacity when full."""

    def __init__(self) -> None:
        self._ts = np.empty(0, dtype=np.int64)
        self._values = {name: np.empty(0, dtype=np.float64) for name in _FIELDS}
        self._length = 0

    @property
    def last_ts(self) -> int | None:
        return int(self._ts[self._length - 1]) if self._length else None

    def extend(self, bars: BarArrays | SymbolHistory) -> None:
        """Append the bars later than the last one held (earlier ones are already held)."""
        ts = bars.ts
        last = self.last_ts
        start = 0 if last is None else int(np.searchsorted(ts, last, side="right"))
        count = len(ts) - start
        if count <= 0:
            return
        needed = self._length + count
        if needed > len(self._ts):
            capacity = max(needed, 2 * len(self._ts), 64)
            self._ts = _grown(self._ts, capacity, self._length)
            self._values = {k: _grown(v, capacity, self._length) for k, v in self._values.items()}
        self._ts[self._length : needed] = ts[start:]
        for name, array in self._values.items():
            array[self._length : needed] = getattr(bars, name)[start:]
        self._length = needed

    def arrays(self) -> BarArrays:
        """The bars held, as views (contiguous from the first bar)."""
        n = self._length
        return BarArrays(self._ts[:n], *(self._values[name][:n] for name in _FIELDS))


def _grown(array: npt.NDArray[_Scalar], capacity: int, length: int) -> npt.NDArray[_Scalar]:
    bigger: npt.NDArray[_Scalar] = np.empty(capacity, dtype=array.dtype)
    bigger[:length] = array[:length]
    return bigger


class OnlinePredictor:
    """Calibrated P(up) per horizon for the bars that just closed, computed from the bars seen.

    Parameters
    ----------
    models
        One per prediction column (``<model>_h<horizon>``).
    profile, registry, calendar
        The feature build the models were trained on (as for
        :func:`alphagate.features.build_features`).
    symbols
        The symbols the models were trained on: only these get predictions
        and take part in the cross-sectional ranks, as in training. ``None``:
        every symbol shown.

    Raises
    ------
    ValueError
        For no models, or two with one column.
    """

    def __init__(
        self,
        models: Sequence[HorizonModel],
        *,
        profile: str | FeatureProfile,
        registry: FeatureRegistry | None = None,
        calendar: str | None = "XNYS",
        symbols: Sequence[str] | None = None,
    ) -> None:
        columns = [m.column for m in models]
        if not columns or len(set(columns)) != len(columns):
            raise ValueError(f"an online predictor needs distinct model columns, got {columns}")
        self._models = tuple(models)
        self._profile, self._registry, self._calendar = profile, registry, calendar
        self._symbols = None if symbols is None else frozenset(symbols)
        self._bars: dict[str, _GrowingBars] = {}
        self._streams = {
            m.column: m.model.stream() for m in models if isinstance(m.model, StreamingModel)
        }

    @property
    def columns(self) -> tuple[str, ...]:
        """The prediction columns, in the models' order."""
        return tuple(m.column for m in self._models)

    def warm_up(self, bars: pd.DataFrame) -> None:
        """Hold ``bars`` (a canonical bars frame) as the history before the first bar shown.

        A live driver passes the feed's history; a backtest that starts after
        training passes the bars before its first one, so the features are
        seeded where training seeded them.
        """
        for symbol, rows in bars.groupby(level="symbol", sort=False):
            if self._takes(str(symbol)):
                self._bars.setdefault(str(symbol), _GrowingBars()).extend(
                    BarArrays.from_frame(rows)
                )

    def predict(
        self, ts: int, symbols: Sequence[str], history: Mapping[str, SymbolHistory]
    ) -> dict[str, dict[str, float]]:
        """Per symbol of ``symbols``, per column, P(up) for its bar closing at ``ts`` (or NaN).

        Every symbol of ``history`` with a bar closing at ``ts`` is described,
        not only those asked about, because the cross-sectional ranks compare
        them; a bar whose features are not all defined yet (the warm-up) gets NaN.
        """
        closing: dict[str, BarArrays] = {}
        for symbol, seen in history.items():
            if not self._takes(symbol):
                continue
            held = self._bars.setdefault(symbol, _GrowingBars())
            held.extend(seen)
            if held.last_ts == ts:
                closing[symbol] = held.arrays()
        out = {symbol: dict.fromkeys(self.columns, math.nan) for symbol in symbols}
        if not closing:
            return out
        features = latest_features(closing, self._profile, self._registry, self._calendar)
        finite = np.isfinite(features.to_numpy(dtype=np.float64)).all(axis=1)
        rows = features.loc[finite]
        if rows.empty:
            return out
        for entry in self._models:
            if entry.valid_from is not None and ts < entry.valid_from:
                continue
            stream = self._streams.get(entry.column)
            if stream is None:
                raw = entry.model.predict_proba(rows)
            else:
                raw = stream.predict_proba(ts, rows)
            calibrated = entry.calibrator.transform(np.asarray(raw, dtype=np.float64))
            for symbol, p in zip(rows.index, calibrated.tolist(), strict=True):
                if symbol in out:
                    out[symbol][entry.column] = float(p)
        return out

    def _takes(self, symbol: str) -> bool:
        return self._symbols is None or symbol in self._symbols
