"""Each symbol's arrays are its rows of the bars frame, whichever way they are found."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphagate.domain.bars import BAR_COLUMNS, symbols_of
from alphagate.engine.bar_arrays import symbol_arrays


def _bars(symbols: list[str], n: int) -> pd.DataFrame:
    ts = pd.date_range("2024-01-02", periods=n, freq="D", tz="UTC").as_unit("ns")
    frames = []
    for k, symbol in enumerate(symbols):
        close = 100.0 + k * 10 + np.arange(n, dtype=float)
        index = pd.MultiIndex.from_arrays([[symbol] * n, ts], names=["symbol", "ts"])
        columns = {c: close + i for i, c in enumerate(BAR_COLUMNS)}
        frames.append(pd.DataFrame(columns, index=index))
    return pd.concat(frames).sort_index()


@pytest.mark.parametrize(
    "frame",
    [
        _bars(["AAA"], 5),  # one symbol, one level value: no index search
        _bars(["AAA", "BBB"], 5),
        _bars(["AAA", "BBB"], 5).loc[["BBB"]],  # one symbol left, the level still holds two
    ],
    ids=["one symbol", "two symbols", "one of two kept"],
)
def test_each_symbols_arrays_are_its_rows(frame: pd.DataFrame) -> None:
    data = symbol_arrays(frame, symbols_of(frame))
    assert list(data) == symbols_of(frame)
    for symbol, arrays in data.items():
        rows = frame.xs(symbol, level="symbol")
        assert np.array_equal(arrays["ts"], rows.index.asi8)
        for column in BAR_COLUMNS:
            assert np.array_equal(arrays[column], rows[column].to_numpy())
            assert not arrays[column].flags.writeable


def test_a_nan_price_is_refused_naming_symbol_and_bar() -> None:
    frame = _bars(["AAA"], 4)
    frame.iloc[2, frame.columns.get_loc("low")] = np.nan
    with pytest.raises(ValueError, match=r"NaN low for 'AAA' at 2024-01-04"):
        symbol_arrays(frame, ["AAA"])
