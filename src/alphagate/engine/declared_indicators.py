"""A strategy's declared indicators: computed once per symbol, refused if they look ahead.

A strategy that declares ``indicators`` (:class:`~alphagate.domain.strategy.DeclaresIndicators`)
gets its arrays computed once, over each symbol's whole history, instead of at
every bar. The function then sees the future, so it is not taken on trust:
each symbol's arrays are recomputed on histories cut at a quarter, half and
three quarters of its bars, and a value that changes refuses the run with
:class:`~alphagate.domain.strategy.LookAheadError`, naming the indicator, the
bar and both values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

import numpy as np
import pandas as pd

from alphagate.domain.strategy import (
    FloatArray,
    LookAheadError,
    Strategy,
    StrategyError,
    SymbolHistory,
)

LOOK_AHEAD_CUTS: Final = (0.25, 0.5, 0.75)
"""Where, as shares of a symbol's bars, declared indicators are recomputed and compared."""

_Declare = Callable[[str, SymbolHistory], Mapping[str, FloatArray]]


def declared_indicators(
    strategy: Strategy, histories: Mapping[str, SymbolHistory], *, check_look_ahead: bool = True
) -> dict[str, dict[str, FloatArray]]:
    """Per symbol of ``histories``, the strategy's indicators; ``{}`` if it declares none.

    Raises
    ------
    StrategyError
        When an indicator is not one value per bar.
    LookAheadError
        When ``check_look_ahead`` and an indicator changes on a cut history.
    """
    declare: _Declare | None = getattr(strategy, "indicators", None)
    if declare is None:
        return {}
    out: dict[str, dict[str, FloatArray]] = {}
    for symbol, history in histories.items():
        full = _indicator_arrays(strategy, declare, symbol, history)
        if check_look_ahead:
            _refuse_look_ahead(strategy, declare, symbol, history, full)
        out[symbol] = full
    return out


def _cut(history: SymbolHistory, n: int) -> SymbolHistory:
    return SymbolHistory(
        history.ts[:n], history.open[:n], history.high[:n], history.low[:n],
        history.close[:n], history.volume[:n],
    )  # fmt: skip


def _indicator_arrays(
    strategy: Strategy, declare: _Declare, symbol: str, history: SymbolHistory
) -> dict[str, FloatArray]:
    n = len(history)
    out: dict[str, FloatArray] = {}
    for name, values in declare(symbol, history).items():
        array = np.array(values, dtype=np.float64)  # a copy: the strategy keeps no handle on it
        if array.shape != (n,):
            raise StrategyError(
                strategy.name,
                pd.Timestamp(int(history.ts[0]), tz="UTC"),
                f"indicator {name!r} of {symbol!r} has shape {array.shape}, expected ({n},)",
            )
        array.flags.writeable = False
        out[name] = array
    return out


def _refuse_look_ahead(
    strategy: Strategy,
    declare: _Declare,
    symbol: str,
    history: SymbolHistory,
    full: Mapping[str, FloatArray],
) -> None:
    length = len(history)
    for share in LOOK_AHEAD_CUTS:
        cut = max(1, int(length * share))
        if cut >= length:
            continue
        for name, values in _indicator_arrays(
            strategy, declare, symbol, _cut(history, cut)
        ).items():
            whole = full[name][:cut]
            differs = ~((values == whole) | (np.isnan(values) & np.isnan(whole)))
            if differs.any():
                row = int(np.flatnonzero(differs)[0])
                at = pd.Timestamp(int(history.ts[row]), tz="UTC")
                raise LookAheadError(
                    f"strategy {strategy.name!r}: indicator {name!r} of {symbol!r} at "
                    f"{at.isoformat()} is {values[row]!r} from bars up to "
                    f"{cut} but {full[name][row]!r} from all bars: it uses later bars"
                )
