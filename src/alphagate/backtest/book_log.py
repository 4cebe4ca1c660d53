"""The account's cash and positions after each fill, kept compactly to value a run afterwards.

The backtest driver does not mark equity bar by bar; it notes what
each fill changed and rebuilds the whole curve once the run is over
(:meth:`BookLog.mark`). A fill changes the cash and one symbol's quantity, so
that is all a note holds: four numbers in typed arrays, about 30 bytes,
where a snapshot of the whole book per fill cost over ten times more and, on
a run of tens of thousands of orders, tens of megabytes.

The rebuilt values are those per-bar marking gives: at each step the cash
and quantities in force after that step's fills, times that step's closes,
added exactly as :meth:`~alphagate.execution.portfolio.Portfolio.equity`
adds them (``fsum`` of cash and market values). Adding one market value to
the cash is already exact, so ``fsum`` is needed only where several
positions are open at once.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def _starts_and_values(
    steps: npt.NDArray[np.int64], values: FloatArray, start: float
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """The step from which each value holds, the last note of a step winning; ``start`` before."""
    if steps.size == 0:
        return np.zeros(1, dtype=np.int64), np.array([start])
    last = np.flatnonzero(np.append(steps[1:] != steps[:-1], True))
    return np.concatenate(([0], steps[last])), np.concatenate(([start], values[last]))


def _on_timeline(starts: npt.NDArray[np.int64], values: FloatArray, n: int) -> FloatArray:
    """The value in force at each of ``n`` steps (``starts`` sorted, the first 0)."""
    return np.repeat(values, np.diff(np.append(starts, n)))


def _at_steps(
    starts: npt.NDArray[np.int64], values: FloatArray, steps: npt.NDArray[np.int64]
) -> FloatArray:
    """The value in force at a few given steps."""
    return values[np.searchsorted(starts, steps, side="right") - 1]


class BookLog:
    """Cash and one symbol's quantity after each fill, in the order the fills came."""

    def __init__(self, cash: float, book: Mapping[str, float]) -> None:
        self._start_cash = cash
        self._start_book = dict(book)
        self._steps = array("q")
        self._cash = array("d")
        self._quantity = array("d")
        self._symbols: list[str] = []

    def note(self, step: int, cash: float, symbol: str, quantity: float) -> None:
        """Record that after a fill at ``step`` the cash is ``cash``, and ``symbol``'s quantity."""
        self._steps.append(step)
        self._cash.append(cash)
        self._symbols.append(symbol)
        self._quantity.append(quantity)

    def mark(
        self,
        n: int,
        close_of: Callable[[str], FloatArray],
        equity: FloatArray,
        exposure: FloatArray,
    ) -> None:
        """Write equity and net exposure at each of ``n`` steps into the given arrays.

        ``close_of(symbol)`` gives the symbol's close at every step (``NaN``
        before its first bar, when nothing can be held).
        """
        steps = np.frombuffer(self._steps, dtype=np.int64)
        starts, cash = _starts_and_values(steps, np.frombuffer(self._cash), self._start_cash)
        held = sorted({*self._start_book, *self._symbols})
        rows_of: dict[str, list[int]] = {s: [] for s in held}
        for note, symbol in enumerate(self._symbols):
            rows_of[symbol].append(note)
        quantities = np.frombuffer(self._quantity)
        timelines: dict[str, tuple[npt.NDArray[np.int64], FloatArray]] = {}
        exposure[:] = 0.0
        open_count = np.zeros(n, dtype=np.int32)
        for symbol in held:
            rows = np.array(rows_of[symbol], dtype=np.int64)
            timeline = _starts_and_values(
                steps[rows], quantities[rows], self._start_book.get(symbol, 0.0)
            )
            timelines[symbol] = timeline
            value = _on_timeline(*timeline, n)
            is_open = value != 0.0
            np.multiply(value, close_of(symbol), out=value, where=is_open)
            exposure += value
            open_count += is_open
        equity[:] = _on_timeline(starts, cash, n)
        equity += exposure
        several = np.flatnonzero(open_count > 1)
        if several.size == 0:
            return
        cash_then = _at_steps(starts, cash, several).tolist()
        columns = []
        for symbol, timeline in timelines.items():
            quantity = _at_steps(*timeline, several)
            value = np.zeros_like(quantity)
            np.multiply(quantity, close_of(symbol)[several], out=value, where=quantity != 0.0)
            columns.append(value)
        for i, step in enumerate(several.tolist()):
            row = [float(v[i]) for v in columns if v[i] != 0.0]
            equity[step] = math.fsum([cash_then[i], *row])
            exposure[step] = math.fsum(row)
