"""Tests for the technical features and ``build_features``.

TA-Lib is the oracle for the indicators themselves; what these tests check is
our wrapping of it: the right input columns, per symbol, aligned with the
bars, with the documented normalisation. Returns, volatility and the other
NumPy/pandas features are checked against hand computations, and the calendar
features against ``exchange_calendars`` read directly.
"""

from __future__ import annotations

from collections.abc import Callable

import exchange_calendars
import numpy as np
import pandas as pd
import pytest
import talib

from alphagate.domain.bars import BAR_COLUMNS
from alphagate.features import (
    PROFILES,
    FeatureProfile,
    build_features,
    cross_sectional_ranks,
    default_registry,
    profile_warmup,
)
from alphagate.features.technical import (
    calendar_features,
    gap,
    high_low_range,
    log_return,
    realised_volatility,
    volume_zscore,
)
from alphagate.testing import bars_of, synthetic_bars

SYMBOLS = ("AAA", "BBB", "CCC")
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def one_symbol(bars: pd.DataFrame, symbol: str) -> pd.DataFrame:
    return bars.xs(symbol, level="symbol")


def arrays(bars: pd.DataFrame) -> Arrays:
    high, low, close, volume = (bars[c].to_numpy(dtype=np.float64) for c in BAR_COLUMNS[1:])
    return high, low, close, volume


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    """About 400 XNYS daily bars per symbol (2018-01-02 onwards)."""
    return synthetic_bars(SYMBOLS, "2018-01-01", "2019-08-05", seed=11)


@pytest.fixture(scope="module")
def medium(bars: pd.DataFrame) -> pd.DataFrame:
    return build_features(bars, "medium")


# --------------------------------------------------------------------------- TA-Lib wrapping


def test_rsi_column_equals_talib_rsi_of_each_symbol_separately(
    bars: pd.DataFrame, medium: pd.DataFrame
) -> None:
    for symbol in SYMBOLS:
        close = one_symbol(bars, symbol)["close"].to_numpy()
        ours = medium.xs(symbol, level="symbol")["rsi_14"].to_numpy()
        np.testing.assert_array_equal(ours, talib.RSI(close, 14))


TALIB_ORACLES: dict[str, Callable[[Arrays], np.ndarray]] = {
    "macd_12_26_9": lambda a: talib.MACD(a[2], 12, 26, 9)[0] / a[2],
    "macd_signal_12_26_9": lambda a: talib.MACD(a[2], 12, 26, 9)[1] / a[2],
    "macd_hist_12_26_9": lambda a: talib.MACD(a[2], 12, 26, 9)[2] / a[2],
    "bb_pctb_20": lambda a: (
        (a[2] - talib.BBANDS(a[2], 20, 2, 2)[2])
        / (talib.BBANDS(a[2], 20, 2, 2)[0] - talib.BBANDS(a[2], 20, 2, 2)[2])
    ),
    "bb_width_20": lambda a: (
        (talib.BBANDS(a[2], 20, 2, 2)[0] - talib.BBANDS(a[2], 20, 2, 2)[2])
        / talib.BBANDS(a[2], 20, 2, 2)[1]
    ),
    "atr_14": lambda a: talib.ATR(a[0], a[1], a[2], 14),
    "atr_pct_14": lambda a: talib.ATR(a[0], a[1], a[2], 14) / a[2],
    "adx_14": lambda a: talib.ADX(a[0], a[1], a[2], 14),
    "plus_di_14": lambda a: talib.PLUS_DI(a[0], a[1], a[2], 14),
    "minus_di_14": lambda a: talib.MINUS_DI(a[0], a[1], a[2], 14),
    "stoch_k_14_3_3": lambda a: talib.STOCH(a[0], a[1], a[2], 14, 3, 0, 3, 0)[0],
    "stoch_d_14_3_3": lambda a: talib.STOCH(a[0], a[1], a[2], 14, 3, 0, 3, 0)[1],
    "cci_20": lambda a: talib.CCI(a[0], a[1], a[2], 20),
    "roc_10": lambda a: talib.ROC(a[2], 10),
    "mfi_14": lambda a: talib.MFI(a[0], a[1], a[2], a[3], 14),
    "obv_slope_20": lambda a: (
        talib.LINEARREG_SLOPE(talib.OBV(a[2], a[3]), 20) / talib.SMA(a[3], 20)
    ),
    "willr_14": lambda a: talib.WILLR(a[0], a[1], a[2], 14),
    "ema_dist_20": lambda a: a[2] / talib.EMA(a[2], 20) - 1,
    "sma_dist_50": lambda a: a[2] / talib.SMA(a[2], 50) - 1,
}


@pytest.mark.parametrize("column", sorted(TALIB_ORACLES))
def test_indicator_column_is_talib_on_the_right_inputs_of_each_symbol(
    column: str, bars: pd.DataFrame, medium: pd.DataFrame
) -> None:
    for symbol in SYMBOLS:
        expected = TALIB_ORACLES[column](arrays(one_symbol(bars, symbol)))
        ours = medium.xs(symbol, level="symbol")[column].to_numpy()
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=0, equal_nan=True)
        assert np.isfinite(ours).sum() > 300, "the oracle comparison must cover real values"


# --------------------------------------------------------------------------- per-symbol isolation


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_symbols_features_are_the_same_computed_with_or_without_other_symbols(
    profile: str, bars: pd.DataFrame
) -> None:
    # Give the symbols different histories: CCC starts later, BBB misses a stretch.
    ts = bars.index.get_level_values("ts")
    symbol = bars.index.get_level_values("symbol")
    stamps = ts.unique()
    drop = ((symbol == "CCC") & (ts < stamps[80])) | (
        (symbol == "BBB") & (ts > stamps[200]) & (ts < stamps[210])
    )
    bars = bars.loc[~drop]
    per_symbol = replace_cross_sectional(PROFILES[profile], enabled=False)
    together = build_features(bars, per_symbol)
    for name in SYMBOLS:
        alone = build_features(bars.loc[symbol[~drop] == name], per_symbol)
        pd.testing.assert_frame_equal(together.loc[[name]], alone, check_exact=True)


def replace_cross_sectional(profile: FeatureProfile, *, enabled: bool) -> FeatureProfile:
    return FeatureProfile(
        name=profile.name,
        features=profile.features,
        calendar_features=profile.calendar_features,
        cross_sectional=enabled,
    )


# --------------------------------------------------------------------------- NumPy / pandas


def small_bars() -> pd.DataFrame:
    """Eight hand-written daily bars of one symbol, with a flat stretch of volume."""
    closes = np.array([100.0, 102.0, 101.0, 105.0, 104.0, 108.0, 107.0, 110.0])
    opens = np.array([99.0, 100.5, 102.5, 100.0, 105.5, 103.0, 108.5, 106.0])
    bars = bars_of(
        closes,
        opens=opens,
        highs=np.maximum(opens, closes) + 1.0,
        lows=np.minimum(opens, closes) - 1.0,
        volume=[10.0, 10.0, 10.0, 10.0, 12.0, 8.0, 20.0, 5.0],
        start="2024-01-02 21:00",
    )
    return bars.xs("AAA", level="symbol")


def test_log_returns_match_logs_of_close_ratios_over_each_lag() -> None:
    frame = small_bars()
    close = frame["close"].to_numpy()
    for lag in (1, 2, 5):
        ours = log_return(lag).function(frame)[f"log_ret_{lag}"].to_numpy()
        assert np.isnan(ours[:lag]).all()
        expected = [np.log(close[i] / close[i - lag]) for i in range(lag, len(close))]
        np.testing.assert_allclose(ours[lag:], expected, rtol=1e-12)


def test_realised_volatility_is_the_sample_std_of_the_last_window_log_returns() -> None:
    frame = small_bars()
    returns = np.diff(np.log(frame["close"].to_numpy()))
    ours = realised_volatility(3).function(frame)["rvol_3"].to_numpy()
    assert np.isnan(ours[:3]).all()
    # Row i holds the returns ending at bars i-2, i-1, i (returns[i-3:i] in diff indexing).
    expected = [np.std(returns[i - 3 : i], ddof=1) for i in range(3, len(frame))]
    np.testing.assert_allclose(ours[3:], expected, rtol=1e-12)


def test_volume_zscore_includes_the_current_bar_and_is_nan_for_a_flat_window() -> None:
    frame = small_bars()
    volume = frame["volume"].to_numpy()
    ours = volume_zscore(3).function(frame)["vol_z_3"].to_numpy()
    assert np.isnan(ours[:2]).all()
    assert np.isnan(ours[2]) and np.isnan(ours[3]), "three equal volumes have no spread"
    for i in range(4, len(frame)):
        window = volume[i - 2 : i + 1]
        assert ours[i] == pytest.approx((volume[i] - window.mean()) / window.std(ddof=1))


def test_gap_and_range_are_logs_of_open_over_previous_close_and_high_over_low() -> None:
    frame = small_bars()
    gaps = gap().function(frame)["gap"].to_numpy()
    ranges = high_low_range().function(frame)["hl_range"].to_numpy()
    assert np.isnan(gaps[0])
    np.testing.assert_allclose(
        gaps[1:], np.log(frame["open"].to_numpy()[1:] / frame["close"].to_numpy()[:-1])
    )
    np.testing.assert_allclose(ranges, np.log(frame["high"] / frame["low"]).to_numpy())


def test_every_builtin_feature_is_nan_exactly_during_its_declared_warmup(
    bars: pd.DataFrame,
) -> None:
    frame = one_symbol(bars, "AAA")
    registry = default_registry()
    assert len(registry) > 50
    for name in registry:
        spec = registry[name]
        out = spec.function(frame)
        defined = out.notna().to_numpy()
        assert defined[spec.warmup :].all(), f"{name}: NaN after its warmup of {spec.warmup}"
        if spec.warmup:
            # The declared warmup is tight: some column is still undefined on its last row.
            assert not defined[spec.warmup - 1].all(), f"{name}: warmup {spec.warmup} too long"


def test_profile_warmup_is_where_the_whole_profile_becomes_defined(bars: pd.DataFrame) -> None:
    for name in PROFILES:
        features = build_features(bars, name).xs("AAA", level="symbol")
        warmup = profile_warmup(name)
        assert features.iloc[warmup:].notna().all().all(), name
        assert features.iloc[warmup - 1].isna().any(), name


# --------------------------------------------------------------------------- calendar


def test_month_end_flags_the_last_scheduled_session_of_each_month(medium: pd.DataFrame) -> None:
    schedule = exchange_calendars.get_calendar("XNYS", start="2018-01-01", end="2019-12-31")
    dates = pd.DatetimeIndex(schedule.sessions)
    last_of_month = set(pd.Series(dates, index=dates).groupby(dates.to_period("M")).max())
    features = medium.xs("AAA", level="symbol")
    session_dates = pd.DatetimeIndex(
        features.index.tz_convert("America/New_York").tz_localize(None).normalize()
    )
    expected = np.array([d in last_of_month for d in session_dates], dtype=float)
    np.testing.assert_array_equal(features["month_end"].to_numpy(), expected)
    # Good Friday 2018-03-30 closed NYSE: March ended on Thursday the 29th.
    assert features.loc["2018-03-29 20:00+00:00", "month_end"] == 1.0
    assert int(expected.sum()) == 19  # Jan 2018 ... Jul 2019; August 2019 is unfinished
    np.testing.assert_array_equal(
        features["day_of_week"].to_numpy(), session_dates.day_of_week.to_numpy(dtype=float)
    )


def test_calendar_features_without_a_calendar_use_the_utc_day_that_ended_at_the_close() -> None:
    # 24/7 daily bars close at the next UTC midnight: the bar at 2024-03-01 00:00
    # is Thursday 29 February, the last day of that month.
    index = pd.DatetimeIndex(
        ["2024-02-28 00:00", "2024-03-01 00:00", "2024-03-02 00:00"], tz="UTC", name="ts"
    )
    frame = pd.DataFrame(1.0, index=index, columns=list(BAR_COLUMNS))
    out = calendar_features(None).function(frame)
    assert out["day_of_week"].tolist() == [1.0, 3.0, 4.0]
    assert out["month_end"].tolist() == [0.0, 1.0, 0.0]


def test_calendar_features_are_nan_for_a_bar_outside_every_session() -> None:
    index = pd.DatetimeIndex(["2024-01-06 21:00", "2024-01-08 21:00"], tz="UTC", name="ts")
    frame = pd.DataFrame(1.0, index=index, columns=list(BAR_COLUMNS))
    out = calendar_features("XNYS").function(frame)
    assert np.isnan(out["day_of_week"].iloc[0]) and np.isnan(out["month_end"].iloc[0])
    assert out["day_of_week"].iloc[1] == 0.0


# --------------------------------------------------------------------------- cross-section


def test_cross_sectional_ranks_use_only_symbols_with_a_value_at_that_ts(
    bars: pd.DataFrame,
) -> None:
    symbol = bars.index.get_level_values("symbol")
    ts = bars.index.get_level_values("ts")
    stamps = ts.unique()
    late = bars.loc[~((symbol == "CCC") & (ts < stamps[100]))]
    ranks = cross_sectional_ranks(late)
    assert list(ranks.columns) == ["xs_rank_log_ret_5", "xs_rank_rvol_20"]
    log_close = np.log(late["close"]).groupby(level="symbol")
    returns = log_close.diff(5)
    for stamp in (stamps[50], stamps[103], stamps[300]):
        values = returns.xs(stamp, level="ts").dropna()
        count = len(values)
        for name, value in values.items():
            # Percentile rank by hand: position among the values present, ties averaged.
            position = (values < value).sum() + ((values == value).sum() + 1) / 2
            assert ranks.loc[(name, stamp), "xs_rank_log_ret_5"] == pytest.approx(position / count)
        assert count == (2 if stamp < stamps[105] else 3)
    # CCC's first five bars have no 5-bar return, so it has no rank there.
    assert np.isnan(ranks.loc[("CCC", stamps[103]), "xs_rank_log_ret_5"])
    assert not np.isnan(ranks.loc[("CCC", stamps[105]), "xs_rank_log_ret_5"])


# --------------------------------------------------------------------------- frame contract


def test_build_features_returns_sorted_float64_columns_on_the_bars_own_index(
    bars: pd.DataFrame, medium: pd.DataFrame
) -> None:
    assert medium.index.equals(bars.index)
    assert list(medium.index.names) == ["symbol", "ts"]
    assert list(medium.columns) == sorted(medium.columns)
    assert (medium.dtypes == "float64").all()
    assert {"rsi_14", "day_of_week", "month_end", "xs_rank_rvol_20"} <= set(medium.columns)


def test_build_features_on_no_bars_gives_the_same_columns_and_no_rows(
    bars: pd.DataFrame, medium: pd.DataFrame
) -> None:
    empty = build_features(bars.iloc[:0], "medium")
    assert empty.empty
    assert list(empty.columns) == list(medium.columns)


def test_build_features_on_fewer_bars_than_the_warmup_gives_nan_not_an_error(
    bars: pd.DataFrame,
) -> None:
    short = bars.groupby(level="symbol").head(10)
    features = build_features(short, "long")
    assert len(features) == 30
    assert features["sma_dist_200"].isna().all()
    assert features["hl_range"].notna().all()
