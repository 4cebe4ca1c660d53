"""``PredictionTable``: a batch of predictions served at each bar close by lookup."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alphagate.domain.strategy import SymbolHistory
from alphagate.models.prediction_table import PredictionTable

TS = pd.date_range("2024-01-02 21:00", periods=4, freq="D", tz="UTC")
NO_HISTORY: dict[str, SymbolHistory] = {}


def table() -> PredictionTable:
    index = pd.MultiIndex.from_product([["AAA", "BBB"], TS], names=["symbol", "ts"])
    frame = pd.DataFrame(
        {"m_h1": np.arange(8) / 10, "m_h5": np.r_[np.full(4, np.nan), np.arange(4) / 100]},
        index=index,
    )
    return PredictionTable(frame.iloc[::-1])  # any row order


def test_each_symbol_gets_its_own_row_at_the_bar_that_closed() -> None:
    answer = table().predict(TS[2].value, ["AAA", "BBB"], NO_HISTORY)
    assert answer["AAA"]["m_h1"] == 0.2 and math.isnan(answer["AAA"]["m_h5"])
    assert answer["BBB"] == {"m_h1": 0.6, "m_h5": 0.02}
    assert table().columns == ("m_h1", "m_h5")


def test_a_bar_or_symbol_the_table_does_not_hold_gets_nan() -> None:
    between = TS[1].value + 1
    answer = table().predict(between, ["AAA", "ZZZ"], NO_HISTORY)
    for symbol in ("AAA", "ZZZ"):
        assert all(math.isnan(v) for v in answer[symbol].values())
    after = table().predict((TS[-1] + pd.Timedelta(days=1)).value, ["AAA"], NO_HISTORY)
    assert math.isnan(after["AAA"]["m_h1"])


def test_a_frame_not_indexed_by_symbol_and_ts_is_refused() -> None:
    with pytest.raises(ValueError, match="indexed by"):
        PredictionTable(pd.DataFrame({"m_h1": [0.5]}, index=pd.Index([TS[0]], name="ts")))
