"""Tests for triple-barrier labels and the point-in-time volatility that sizes them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.labels.calibrate import BarrierChoice, choose_barriers
from alphagate.labels.triple_barrier import daily_volatility, triple_barrier_labels
from alphagate.testing import bars_from_rows, bars_of, stack_bars

DAY = pd.Timedelta(days=1)
BASE = pd.Timestamp("2024-01-01 21:00", tz="UTC")
# With vol 0.1 and pt = sl = 1 a close of 100 has barriers 110.517 and 90.484.
VOL = 0.1
UP, DOWN = 100 * math.exp(VOL), 100 * math.exp(-VOL)


def make_bars(
    rows_by_symbol: dict[str, list[tuple[float, float, float]]],
    *,
    gaps: list[int] | None = None,
) -> pd.DataFrame:
    """Bars from ``(high, low, close)`` triples; open = close, one day apart unless ``gaps``."""
    rows = []
    for symbol, triples in rows_by_symbol.items():
        steps = gaps if gaps is not None else [1] * len(triples)
        ts = BASE + pd.to_timedelta(np.cumsum(steps), unit="D")
        for t, (high, low, close) in zip(ts, triples, strict=True):
            rows.append((symbol, t, close, high, low, close, 1.0))
    return bars_from_rows(rows)


def constant_vol(bars: pd.DataFrame, value: float = VOL) -> pd.Series:
    return pd.Series(value, index=bars.index, dtype="float64")


def label_first_row(
    triples: list[tuple[float, float, float]], *, pt: float = 1.0, sl: float = 1.0, horizon: int = 3
) -> pd.Series:
    bars = make_bars({"A": triples})
    out = triple_barrier_labels(bars, pt=pt, sl=sl, horizon=horizon, vol=constant_vol(bars))
    return out.iloc[0]


def ts_of(position: int) -> pd.Timestamp:
    return BASE + (position + 1) * DAY


# --------------------------------------------------------------------------- hand-computed


def test_upper_barrier_touched_first_labels_one_at_the_touching_bar() -> None:
    # Bar 2 reaches 111 >= 110.517; bar 3's 89 would hit the lower barrier, but later.
    row = label_first_row([(100, 100, 100), (105, 95, 100), (111, 99, 108), (96, 89, 95)])
    assert row["label"] == 1
    assert row["t1"] == ts_of(2)
    assert row["ret"] == pytest.approx(VOL)
    assert row["upper"] == pytest.approx(UP)
    assert row["lower"] == pytest.approx(DOWN)


def test_lower_barrier_touched_first_labels_minus_one_at_the_touching_bar() -> None:
    row = label_first_row([(100, 100, 100), (105, 95, 100), (101, 90, 92), (112, 99, 111)])
    assert row["label"] == -1
    assert row["t1"] == ts_of(2)
    assert row["ret"] == pytest.approx(-VOL)


def test_no_touch_within_the_horizon_labels_zero_at_the_vertical_barrier() -> None:
    row = label_first_row([(100, 100, 100), (105, 95, 100), (110, 91, 102), (109, 92, 104)])
    assert row["label"] == 0
    assert row["t1"] == ts_of(3)
    assert row["ret"] == pytest.approx(math.log(1.04))


def test_a_bar_touching_both_barriers_is_resolved_as_the_loss() -> None:
    row = label_first_row([(100, 100, 100), (115, 85, 100), (120, 100, 120), (120, 100, 120)])
    assert row["label"] == -1
    assert row["t1"] == ts_of(1)
    assert row["ret"] == pytest.approx(-VOL)


def test_the_entry_bars_own_range_is_never_scanned() -> None:
    # Entry is at bar 0's close; its high and low happened before the entry.
    row = label_first_row([(130, 70, 100), (105, 95, 100), (111, 99, 108)], horizon=2)
    assert row["label"] == 1
    assert row["t1"] == ts_of(2)


def test_a_touch_after_the_horizon_does_not_count() -> None:
    row = label_first_row(
        [(100, 100, 100), (105, 95, 101), (105, 95, 99), (130, 99, 125)], horizon=2
    )
    assert row["label"] == 0
    assert row["t1"] == ts_of(2)
    assert row["ret"] == pytest.approx(math.log(0.99))


def test_asymmetric_widths_scale_each_barrier_and_the_touch_return() -> None:
    # pt = 2: upper at 100 e^0.2 = 122.14, so 111 no longer touches; 125 does.
    # sl = 0.5: lower at 100 e^-0.05 = 95.12, which 96 does not reach.
    row = label_first_row(
        [(100, 100, 100), (111, 96, 100), (125, 99, 120), (120, 99, 120)], pt=2.0, sl=0.5
    )
    assert row["label"] == 1
    assert row["t1"] == ts_of(2)
    assert row["ret"] == pytest.approx(0.2)
    assert row["upper"] == pytest.approx(100 * math.exp(0.2))
    assert row["lower"] == pytest.approx(100 * math.exp(-0.05))


def test_an_infinite_width_disables_that_barrier() -> None:
    row = label_first_row([(100, 100, 100), (105, 50, 100), (106, 50, 104)], sl=math.inf, horizon=2)
    assert row["label"] == 0
    assert row["ret"] == pytest.approx(math.log(1.04))


def test_rows_whose_horizon_runs_past_the_data_get_no_label_even_if_touched() -> None:
    bars = make_bars({"A": [(100, 100, 100), (105, 95, 100), (130, 99, 125), (126, 124, 125)]})
    out = triple_barrier_labels(bars, pt=1, sl=1, horizon=2, vol=constant_vol(bars))
    # Row 1 touches its upper barrier at row 2, but row 3 (its vertical barrier) does not exist.
    assert out["label"].isna().tolist() == [False, False, True, True]
    assert out["t1"].isna().tolist() == [False, False, True, True]
    assert out["ret"].isna().tolist() == [False, False, True, True]
    assert out.loc[("A", ts_of(1)), "label"] == 1
    # Barrier levels are still reported: they are known at t.
    assert out["upper"].notna().all()


def test_a_flat_series_gives_vertical_labels_thanks_to_the_volatility_floor() -> None:
    bars = make_bars({"A": [(100, 100, 100)] * 6})
    floored = triple_barrier_labels(bars, pt=1, sl=1, horizon=2, vol=constant_vol(bars, 0.0))
    assert floored["label"].dropna().tolist() == [0, 0, 0, 0]
    # Without the floor both zero-width barriers are touched at once: the loss.
    bare = triple_barrier_labels(
        bars, pt=1, sl=1, horizon=2, vol=constant_vol(bars, 0.0), min_vol=0.0
    )
    assert bare["label"].dropna().tolist() == [-1, -1, -1, -1]


def test_rows_still_in_the_volatility_warm_up_get_no_label() -> None:
    closes = [100.0, 101.0, 99.0, 102.0, 100.0, 103.0, 101.0]
    bars = make_bars({"A": [(c * 1.01, c * 0.99, c) for c in closes]})
    out = triple_barrier_labels(bars, pt=1, sl=1, horizon=1, vol_span=3)
    # span 3 needs three returns: bars 0..2 have fewer, the last bar has no horizon.
    assert out["label"].isna().tolist() == [True, True, True, False, False, False, True]
    assert out["upper"].isna().tolist() == [True, True, True, False, False, False, False]


def test_columns_dtypes_and_index() -> None:
    bars = make_bars({"A": [(100, 100, 100), (101, 99, 100)]})
    out = triple_barrier_labels(bars, pt=1, sl=1, horizon=1, vol=constant_vol(bars))
    assert list(out.columns) == ["label", "t1", "ret", "upper", "lower"]
    assert out.index.equals(bars.index)
    assert out["label"].dtype == "Int8"
    assert str(out["t1"].dtype) == "datetime64[ns, UTC]"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pt": 0.0, "sl": 1.0, "horizon": 1}, "pt"),
        ({"pt": 1.0, "sl": -1.0, "horizon": 1}, "sl"),
        ({"pt": 1.0, "sl": math.nan, "horizon": 1}, "sl"),
        ({"pt": 1.0, "sl": 1.0, "horizon": 0}, "horizon"),
        ({"pt": 1.0, "sl": 1.0, "horizon": 1, "min_vol": -1.0}, "min_vol"),
    ],
)
def test_invalid_settings_are_refused(kwargs: dict[str, float], message: str) -> None:
    bars = make_bars({"A": [(100, 100, 100), (101, 99, 100)]})
    with pytest.raises(ValueError, match=message):
        triple_barrier_labels(bars, **kwargs)  # type: ignore[arg-type]


def test_a_vol_override_indexed_differently_from_bars_is_refused() -> None:
    bars = make_bars({"A": [(100, 100, 100), (101, 99, 100)]})
    with pytest.raises(ValueError, match="vol"):
        triple_barrier_labels(bars, pt=1, sl=1, horizon=1, vol=constant_vol(bars).iloc[:1])


# --------------------------------------------------------------------------- volatility


def test_daily_volatility_is_the_ewm_std_of_log_returns_per_symbol() -> None:
    a = [100.0, 101.0, 99.0, 104.0, 103.0, 107.0]
    b = [10.0, 12.0, 11.0, 10.5, 10.0, 9.0]
    bars = make_bars({"A": [(c, c, c) for c in a], "B": [(c, c, c) for c in b]})
    vol = daily_volatility(bars["close"], span=3)
    for symbol, closes in (("A", a), ("B", b)):
        log_close = pd.Series(np.log(closes))
        expected = log_close.diff().ewm(span=3, min_periods=3).std()
        np.testing.assert_allclose(
            vol.xs(symbol, level="symbol").to_numpy(), expected.to_numpy(), equal_nan=True
        )
    # B's first return is not taken against A's last close.
    assert vol.xs("B", level="symbol").iloc[:3].isna().all()


def test_daily_volatility_at_t_ignores_every_later_price() -> None:
    rng = np.random.default_rng(7)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 40)))
    changed = closes.copy()
    changed[25:] *= rng.uniform(0.5, 2.0, 15)
    index = pd.date_range(BASE, periods=40, freq="D")
    before = daily_volatility(pd.Series(closes, index=index), span=10)
    after = daily_volatility(pd.Series(changed, index=index), span=10)
    pd.testing.assert_series_equal(before.iloc[:25], after.iloc[:25])
    assert not np.allclose(before.iloc[25:], after.iloc[25:])


def test_daily_volatility_refuses_a_span_too_short_for_a_std() -> None:
    with pytest.raises(ValueError, match="span"):
        daily_volatility(pd.Series([1.0, 2.0, 3.0]), span=1)


# --------------------------------------------------------------------------- properties


@st.composite
def panels(draw: st.DrawFn) -> pd.DataFrame:
    """One to three symbols of 1-14 bars with consistent OHLC and wide enough ranges to touch."""
    rows = []
    for symbol in draw(st.lists(st.sampled_from("ABC"), min_size=1, max_size=3, unique=True)):
        n = draw(st.integers(1, 14))
        steps = draw(st.lists(st.floats(-0.15, 0.15), min_size=n, max_size=n))
        ups = draw(st.lists(st.floats(0.0, 0.15), min_size=n, max_size=n))
        downs = draw(st.lists(st.floats(0.0, 0.15), min_size=n, max_size=n))
        gaps = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
        closes = 100 * np.exp(np.cumsum(steps))
        opens = np.concatenate(([100.0], closes[:-1]))
        highs = np.maximum(opens, closes) * np.exp(ups)
        lows = np.minimum(opens, closes) * np.exp(-np.asarray(downs))
        ts = BASE + pd.to_timedelta(np.cumsum(gaps), unit="D")
        rows += [(symbol, ts[i], opens[i], highs[i], lows[i], closes[i], 1.0) for i in range(n)]
    return bars_from_rows(rows)


widths = st.sampled_from([0.5, 1.0, 2.0, math.inf])


def brute_force(
    bars: pd.DataFrame, vol: pd.Series, *, pt: float, sl: float, horizon: int, min_vol: float
) -> list[tuple[object, object, float]]:
    """(label, t1, ret) per row by scanning each row's own future, bar by bar."""
    expected: list[tuple[object, object, float]] = []
    for _, one in bars.groupby(level="symbol", sort=False):
        high, low, close = (one[c].to_numpy() for c in ("high", "low", "close"))
        ts = one.index.get_level_values("ts")
        sigma = np.maximum(vol.loc[one.index].to_numpy(), min_vol)
        for i in range(len(one)):
            if i + horizon >= len(one) or np.isnan(sigma[i]):
                expected.append((pd.NA, pd.NaT, math.nan))
                continue
            up_width = np.inf if math.isinf(pt) else pt * sigma[i]
            down_width = np.inf if math.isinf(sl) else sl * sigma[i]
            upper, lower = close[i] * np.exp(up_width), close[i] * np.exp(-down_width)
            outcome: tuple[object, object, float] | None = None
            for j in range(i + 1, i + horizon + 1):
                if low[j] <= lower:  # checked first: a bar touching both is a loss
                    outcome = (-1, ts[j], -down_width)
                    break
                if high[j] >= upper:
                    outcome = (1, ts[j], up_width)
                    break
            if outcome is None:
                j = i + horizon
                outcome = (0, ts[j], math.log(close[j] / close[i]))
            expected.append(outcome)
    return expected


@settings(max_examples=80, deadline=None)
@given(
    bars=panels(),
    pt=widths,
    sl=widths,
    horizon=st.integers(1, 4),
    data=st.data(),
)
def test_the_reported_barrier_is_the_first_one_touched(
    bars: pd.DataFrame, pt: float, sl: float, horizon: int, data: st.DataObject
) -> None:
    vols = data.draw(
        st.lists(
            st.one_of(st.floats(0.0, 0.2), st.just(math.nan)),
            min_size=len(bars),
            max_size=len(bars),
        )
    )
    vol = pd.Series(vols, index=bars.index, dtype="float64")
    out = triple_barrier_labels(bars, pt=pt, sl=sl, horizon=horizon, vol=vol)
    expected = brute_force(bars, vol, pt=pt, sl=sl, horizon=horizon, min_vol=1e-8)
    for position, (label, t1, ret) in enumerate(expected):
        row = out.iloc[position]
        if label is pd.NA:
            assert pd.isna(row["label"]) and pd.isna(row["t1"]) and math.isnan(row["ret"])
            continue
        assert row["label"] == label, position
        assert row["t1"] == t1, position
        assert row["ret"] == pytest.approx(ret, rel=1e-12, abs=1e-15), position
        assert row["t1"] > bars.index[position][1]


@settings(max_examples=40, deadline=None)
@given(bars=panels(), pt=widths, sl=widths, horizon=st.integers(1, 4), seed=st.integers(0, 99))
def test_a_label_is_unchanged_by_any_price_after_its_t1(
    bars: pd.DataFrame, pt: float, sl: float, horizon: int, seed: int
) -> None:
    out = triple_barrier_labels(bars, pt=pt, sl=sl, horizon=horizon, vol_span=2)
    rng = np.random.default_rng(seed)
    ts = bars.index.get_level_values("ts")
    prices = ["open", "high", "low", "close"]
    for position in np.flatnonzero(out["label"].notna().to_numpy()):
        later = np.asarray(ts > out["t1"].iloc[position])
        if not later.any():
            continue
        perturbed = bars.copy()
        factors = rng.uniform(0.5, 2.0, size=int(later.sum()))
        perturbed.loc[later, prices] = bars.loc[later, prices].mul(factors, axis=0)
        again = triple_barrier_labels(perturbed, pt=pt, sl=sl, horizon=horizon, vol_span=2)
        pd.testing.assert_series_equal(again.iloc[position], out.iloc[position])


@settings(max_examples=40, deadline=None)
@given(bars=panels(), pt=widths, sl=widths, horizon=st.integers(1, 4))
def test_labels_never_cross_symbols(bars: pd.DataFrame, pt: float, sl: float, horizon: int) -> None:
    out = triple_barrier_labels(bars, pt=pt, sl=sl, horizon=horizon, vol_span=2)
    pieces = [
        triple_barrier_labels(one, pt=pt, sl=sl, horizon=horizon, vol_span=2)
        for _, one in bars.groupby(level="symbol", sort=False)
    ]
    pd.testing.assert_frame_equal(pd.concat(pieces), out)


# --------------------------------------------------------------------------- calibration


def gbm_bars(n: int, *, seed: int, symbols: tuple[str, ...] = ("A", "B")) -> pd.DataFrame:
    """Zero-drift GBM bars whose high and low come from 8 simulated steps inside each bar."""
    rng = np.random.default_rng(seed)
    steps = 8
    ts = BASE + pd.to_timedelta(np.arange(1, n + 1), unit="D")
    frames = []
    for symbol in symbols:
        path = np.log(100) + np.cumsum(rng.normal(0, 0.01 / np.sqrt(steps), n * steps + 1))
        inside = path[1:].reshape(n, steps)
        opens = np.exp(path[:-1:steps])
        frames.append(
            bars_of(
                np.exp(inside[:, -1]),
                symbol=symbol,
                opens=opens,
                highs=np.maximum(opens, np.exp(inside.max(axis=1))),
                lows=np.minimum(opens, np.exp(inside.min(axis=1))),
                volume=1.0,
                stamps=ts,
            )
        )
    return stack_bars(*frames)


def train_slice(bars: pd.DataFrame, n: int) -> pd.DataFrame:
    """The first ``n`` bars of every symbol."""
    return bars.groupby(level="symbol", group_keys=False).head(n)


@pytest.mark.parametrize("target_balance", [1 / 3, 0.5])
def test_choose_barriers_hits_the_target_class_shares_on_gbm(target_balance: float) -> None:
    bars = gbm_bars(1200, seed=3)
    choice = choose_barriers(bars, horizon=5, target_balance=target_balance)
    assert choice.pt == choice.sl
    shares = choice.class_shares
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["vertical"] == pytest.approx(target_balance, abs=0.06)
    assert shares["up"] == pytest.approx((1 - target_balance) / 2, abs=0.06)
    assert shares["down"] == pytest.approx((1 - target_balance) / 2, abs=0.06)
    # The shares reported are what labelling with the chosen widths gives.
    labels = triple_barrier_labels(
        bars, pt=choice.pt, sl=choice.sl, horizon=5, vol_span=choice.vol_span
    )["label"].dropna()
    assert shares["vertical"] == pytest.approx(float((labels == 0).mean()))
    # A wider target of vertical labels needs wider barriers.
    if target_balance > 1 / 3:
        assert choice.pt > choose_barriers(bars, horizon=5).pt


def test_choose_barriers_reads_only_the_training_slice_it_is_given() -> None:
    bars = gbm_bars(900, seed=11)
    choice = choose_barriers(train_slice(bars, 600), horizon=5)
    # A later regime with triple the moves must not reach the choice.
    later = bars.index.get_level_values("ts") > bars.index.get_level_values("ts")[599]
    changed = bars.copy()
    center = changed["close"].where(~later).groupby(level="symbol").ffill()
    for column in ("open", "high", "low", "close"):
        changed.loc[later, column] = (
            center[later] * (changed.loc[later, column] / center[later]) ** 3
        )
    assert choose_barriers(train_slice(changed, 600), horizon=5) == choice
    assert choose_barriers(changed, horizon=5) != choice


def test_barrier_choice_round_trips_through_json(tmp_path: Path) -> None:
    choice = BarrierChoice(
        pt=1.25,
        sl=1.25,
        horizon=10,
        vol_span=50,
        min_vol=1e-8,
        class_shares={"up": 0.3, "down": 0.35, "vertical": 0.35},
    )
    path = tmp_path / "barriers.json"
    choice.save(path)
    assert BarrierChoice.load(path) == choice
    raw = json.loads(path.read_text("utf-8"))
    del raw["horizon"]
    path.write_text(json.dumps(raw), "utf-8")
    with pytest.raises(ValueError, match="horizon"):
        BarrierChoice.load(path)


def test_choose_barriers_refuses_impossible_targets_and_data_without_labels() -> None:
    bars = gbm_bars(80, seed=1, symbols=("A",))
    with pytest.raises(ValueError, match="target_balance"):
        choose_barriers(bars, horizon=5, target_balance=1.5)
    with pytest.raises(ValueError, match="candidates"):
        choose_barriers(bars, horizon=5, candidates=[0.0])
    with pytest.raises(ValueError, match="too short"):
        choose_barriers(bars.iloc[:40], horizon=5)
