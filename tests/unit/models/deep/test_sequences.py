"""Point-in-time windows and the training-only scaler."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphagate.models.deep.sequences import PAD, VALUE_LIMIT, FeatureScaler, window_positions


def frame(symbols: tuple[str, ...], n: int) -> pd.DataFrame:
    index = pd.MultiIndex.from_product(
        [symbols, pd.date_range("2021-01-01", periods=n, tz="UTC")], names=["symbol", "ts"]
    )
    return pd.DataFrame({"x": np.arange(len(index), dtype=float)}, index=index)


def oracle(index: pd.MultiIndex, window: int) -> np.ndarray:
    """Each row's window by brute force: same symbol, ts <= its ts, latest ``window``."""
    rows = list(index)
    out = np.full((len(rows), window), PAD)
    for i, (symbol, ts) in enumerate(rows):
        mine = [(t, j) for j, (other, t) in enumerate(rows) if other == symbol and t <= ts]
        past = sorted(mine)[-window:]
        for k, (_, j) in enumerate(past):
            out[i, window - len(past) + k] = j
    return out


def test_windows_hold_only_the_same_symbols_past_rows_oldest_first_whatever_the_order() -> None:
    data = frame(("A", "B"), 6)
    shuffled = data.sample(frac=1.0, random_state=3)
    for index in (data.index, shuffled.index):
        np.testing.assert_array_equal(window_positions(index, 3), oracle(index, 3))


def test_short_history_is_left_padded_and_the_row_itself_is_last() -> None:
    positions = window_positions(frame(("A",), 4).index, 3)
    np.testing.assert_array_equal(positions, [[PAD, PAD, 0], [PAD, 0, 1], [0, 1, 2], [1, 2, 3]])


def test_a_frame_without_a_ts_level_is_refused_with_the_fix() -> None:
    flat = pd.DataFrame({"x": [1.0, 2.0]}, index=pd.Index(["A", "B"], name="symbol"))
    with pytest.raises(ValueError, match=r"indexed by \('symbol', 'ts'\)"):
        window_positions(flat.index, 2)


def test_scaler_uses_the_rows_it_was_fitted_on_and_clips_outliers() -> None:
    train = np.array([[1.0, 5.0], [3.0, 5.0]])
    scaler = FeatureScaler.fit(train)
    np.testing.assert_allclose(scaler.mean, [2.0, 5.0])
    np.testing.assert_allclose(scaler.std, [1.0, 1.0])  # the constant column divides by 1
    scaled = scaler.transform(np.array([[4.0, 6.0], [1e9, -1e9]]))
    np.testing.assert_allclose(scaled, [[2.0, 1.0], [VALUE_LIMIT, -VALUE_LIMIT]])
    again = FeatureScaler.from_dict(scaler.to_dict(), 2)
    np.testing.assert_array_equal(again.mean, scaler.mean)
    with pytest.raises(ValueError, match="do not belong together"):
        FeatureScaler.from_dict(scaler.to_dict(), 3)
