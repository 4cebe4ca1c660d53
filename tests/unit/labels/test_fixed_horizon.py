"""Tests for fixed-horizon labels: forward log returns, their sign, and when they are known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.labels.fixed_horizon import fixed_horizon_labels, symbol_end_positions
from alphagate.testing import bars_by_symbol, bars_from_rows

DAY = pd.Timedelta(days=1)
BASE = pd.Timestamp("2024-01-01 21:00", tz="UTC")


def test_hand_computed_returns_signs_and_t1_on_six_bars() -> None:
    bars = bars_by_symbol({"A": [100.0, 110.0, 99.0, 99.0, 120.0, 60.0]}, start=BASE)
    out = fixed_horizon_labels(bars, horizons=(1, 2))

    assert out["ret_1"].iloc[:5].tolist() == pytest.approx(
        [math.log(1.1), math.log(0.9), 0.0, math.log(120 / 99), math.log(0.5)]
    )
    assert math.isnan(out["ret_1"].iloc[5])
    # A zero return is not an up move.
    assert out["sign_1"].iloc[:5].tolist() == [1, 0, 0, 1, 0]
    assert out["sign_1"].isna().tolist() == [False] * 5 + [True]
    assert out["ret_2"].iloc[:4].tolist() == pytest.approx(
        [math.log(0.99), math.log(0.9), math.log(120 / 99), math.log(60 / 99)]
    )
    assert out["sign_2"].iloc[:4].tolist() == [0, 0, 1, 0]
    assert out["t1_2"].iloc[:4].tolist() == [BASE + k * DAY for k in (2, 3, 4, 5)]
    assert out["t1_2"].iloc[4:].isna().all()
    assert out["ret_2"].iloc[4:].isna().all()


def test_columns_and_dtypes_are_per_horizon_and_index_matches_bars() -> None:
    bars = bars_by_symbol({"A": [1.0, 2.0, 3.0]}, start=BASE)
    out = fixed_horizon_labels(bars, horizons=(1, 2))
    assert list(out.columns) == ["ret_1", "sign_1", "t1_1", "ret_2", "sign_2", "t1_2"]
    assert out.index.equals(bars.index)
    assert out["ret_1"].dtype == "float64"
    assert out["sign_1"].dtype == "Int8"
    assert str(out["t1_1"].dtype) == "datetime64[ns, UTC]"


def test_labels_stop_at_the_end_of_each_symbol_instead_of_reading_the_next() -> None:
    bars = bars_by_symbol({"A": [1.0, 2.0], "B": [50.0, 25.0, 100.0]}, start=BASE)
    out = fixed_horizon_labels(bars, horizons=(1,))
    # A's last bar (row 1) would otherwise be compared with B's first close (row 2).
    assert math.isnan(out["ret_1"].iloc[1])
    assert pd.isna(out["t1_1"].iloc[1])
    assert out["ret_1"].iloc[2] == pytest.approx(math.log(0.5))


def test_symbol_end_positions_point_at_each_runs_last_row() -> None:
    bars = bars_by_symbol({"A": [1.0, 2.0], "B": [1.0], "C": [1.0, 1.0, 1.0]}, start=BASE)
    assert symbol_end_positions(bars).tolist() == [1, 1, 2, 5, 5, 5]


@pytest.mark.parametrize("horizons", [(), (0,), (-1,), (1, 1), (1.5,)])
def test_invalid_horizons_are_refused(horizons: tuple[float, ...]) -> None:
    bars = bars_by_symbol({"A": [1.0, 2.0]}, start=BASE)
    with pytest.raises(ValueError, match="horizons"):
        fixed_horizon_labels(bars, horizons=horizons)  # type: ignore[arg-type]


@st.composite
def panels(draw: st.DrawFn) -> pd.DataFrame:
    """One to three symbols of 1-12 bars with random closes and random gaps between bars."""
    series: dict[str, list[float]] = {}
    rows = []
    for symbol in draw(st.lists(st.sampled_from("ABC"), min_size=1, max_size=3, unique=True)):
        n = draw(st.integers(1, 12))
        gaps = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
        closes = draw(st.lists(st.floats(1.0, 1000.0), min_size=n, max_size=n))
        series[symbol] = closes
        ts = BASE + pd.to_timedelta(np.cumsum(gaps), unit="D")
        rows += [(symbol, t, c, c, c, c, 1.0) for t, c in zip(ts, closes, strict=True)]
    return bars_from_rows(rows)


@settings(max_examples=60, deadline=None)
@given(bars=panels(), horizons=st.lists(st.integers(1, 5), min_size=1, max_size=3, unique=True))
def test_labels_equal_a_per_symbol_recomputation_and_are_known_no_earlier_than_t(
    bars: pd.DataFrame, horizons: list[int]
) -> None:
    out = fixed_horizon_labels(bars, horizons=horizons)
    ts = out.index.get_level_values("ts")
    for h in horizons:
        known = out[f"t1_{h}"].notna()
        assert (out.loc[known, f"t1_{h}"] > ts[known.to_numpy()]).all()
        assert (out[f"ret_{h}"].notna() == known).all()
        assert (out[f"sign_{h}"].notna() == known).all()
    # Labelling each symbol alone gives the same rows: nothing crosses symbols.
    for _, one in bars.groupby(level="symbol"):
        alone = fixed_horizon_labels(one, horizons=horizons)
        pd.testing.assert_frame_equal(alone, out.loc[alone.index])
        closes = one["close"].to_numpy()
        for h in horizons:
            expected = [
                math.log(closes[i + h] / closes[i]) if i + h < len(closes) else math.nan
                for i in range(len(closes))
            ]
            np.testing.assert_allclose(alone[f"ret_{h}"].to_numpy(), expected, rtol=1e-12)
