"""The correlation breaker on synthetic returns: a common-factor spike trips it, noise does not.

Three series, window 60: the mean pairwise correlation of independent noise has
a standard deviation of 1 / sqrt(60 * 3) = 0.075, so ``elevated_at = 0.35`` is
4.7 of them above the baseline of 0. A common factor with idiosyncratic noise
of 0.3 of its size has correlation 1 / (1 + 0.09) = 0.92, above ``crisis_at = 0.7``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alphagate.risk.breaker import (
    BreakerAction,
    BreakerLevel,
    CorrelationBreaker,
    RollingCorrelation,
    mean_pairwise_correlation,
    next_level,
    noise_sigma,
)
from alphagate.risk.events import Severity

SYMBOLS = ("AAA", "BBB", "CCC")
E, C, N = BreakerLevel.ELEVATED, BreakerLevel.CRISIS, BreakerLevel.NORMAL


def _breaker() -> CorrelationBreaker:
    return CorrelationBreaker(baseline=0.0, window=60, elevated_at=0.35, crisis_at=0.7)


def _noise(rng: np.random.Generator, rows: int) -> list[dict[str, float]]:
    return [dict(zip(SYMBOLS, r, strict=True)) for r in rng.normal(0, 0.01, (rows, 3))]


def _factor(rng: np.random.Generator, rows: int) -> list[dict[str, float]]:
    common = rng.normal(0, 0.01, (rows, 1))
    own = rng.normal(0, 0.003, (rows, 3))
    return [dict(zip(SYMBOLS, r, strict=True)) for r in common + own]


def test_a_common_factor_spike_moves_the_breaker_to_elevated_then_crisis() -> None:
    rng = np.random.default_rng(7)
    breaker = _breaker()
    before = [breaker.update(row) for row in _noise(rng, 200)]
    assert {s.level for s in before} == {N}
    after = [breaker.update(row) for row in _factor(rng, 60)]
    assert [s.level for s in after if s.changed] == [E, C]
    last = after[-1]
    assert last.correlation is not None
    assert last.correlation > 0.85  # the window now holds only factor rows: about 0.92
    assert last.action == BreakerAction(scale=0.0, reduce_only=True, flatten=False)


def test_long_pure_noise_never_leaves_normal() -> None:
    rng = np.random.default_rng(11)
    breaker = _breaker()
    states = [breaker.update(row) for row in _noise(rng, 5_000)]
    assert {s.level for s in states} == {N}
    highest = max(s.correlation for s in states if s.correlation is not None)
    assert highest < 0.35
    assert noise_sigma(3, 60) == pytest.approx(1 / math.sqrt(180))


def test_after_the_spike_it_steps_down_once_without_flapping() -> None:
    rng = np.random.default_rng(7)
    breaker = _breaker()
    rows = _noise(rng, 200) + _factor(rng, 60) + _noise(rng, 200)
    changes = [s.level for s in (breaker.update(r) for r in rows) if s.changed]
    assert changes == [E, C, E, N]
    assert breaker.level is N


def test_hysteresis_leaves_a_level_only_below_the_threshold_minus_the_margin() -> None:
    kw = {"elevated_at": 0.35, "crisis_at": 0.7, "margin": 0.1}
    assert next_level(N, 0.34, **kw) is N
    assert next_level(N, 0.35, **kw) is E
    assert next_level(N, 0.72, **kw) is C  # escalation may skip a level
    assert next_level(E, 0.30, **kw) is E  # below 0.35 but not below 0.25
    assert next_level(E, 0.24, **kw) is N
    assert next_level(C, 0.65, **kw) is C  # not below 0.60
    assert next_level(C, 0.55, **kw) is E
    assert next_level(C, 0.20, **kw) is N


def test_a_reading_hovering_at_a_threshold_changes_level_once_not_every_row() -> None:
    readings = [0.36, 0.34] * 10

    def changes(margin: float) -> int:
        level, count = N, 0
        for c in readings:
            new = next_level(level, c, elevated_at=0.35, crisis_at=0.7, margin=margin)
            count += new is not level
            level = new
        return count

    assert changes(margin=0.1) == 1
    assert changes(margin=0.0) == 20  # what hysteresis prevents


def test_there_is_no_reading_until_the_window_is_full() -> None:
    rng = np.random.default_rng(3)
    breaker = _breaker()
    states = [breaker.update(row) for row in _noise(rng, 60)]
    assert all(s.correlation is None for s in states[:59])
    assert states[59].correlation is not None


def test_a_level_change_with_a_timestamp_carries_an_event() -> None:
    rng = np.random.default_rng(7)
    breaker = _breaker()
    ts = pd.Timestamp("2024-01-02", tz="UTC")
    events = [
        s.event
        for s in (breaker.update(r, ts=ts) for r in _noise(rng, 200) + _factor(rng, 60))
        if s.event is not None
    ]
    assert [e.severity for e in events] == [Severity.WARNING, Severity.CRITICAL]
    assert events[0].reason.startswith("NORMAL -> ELEVATED: mean pairwise correlation 0.")


def test_the_mean_pairwise_correlation_of_hand_columns() -> None:
    # Columns a = b, c = reversed: corr(a, b) = 1, corr(a, c) = corr(b, c) = -1 -> mean -1/3.
    matrix = np.array([[1.0, 1.0, 3.0], [2.0, 2.0, 2.0], [3.0, 3.0, 1.0]])
    assert mean_pairwise_correlation(matrix) == pytest.approx(-1 / 3)
    # A column with a NaN and a constant column drop out, leaving a and b: 1.
    extra = np.array([[math.nan, 5.0], [1.0, 5.0], [2.0, 5.0]])
    assert mean_pairwise_correlation(np.hstack([matrix[:, :2], extra])) == pytest.approx(1.0)
    assert mean_pairwise_correlation(matrix[:, :1]) is None


def test_thresholds_must_lie_above_the_baseline_in_order() -> None:
    with pytest.raises(ValueError, match="baseline < elevated_at < crisis_at"):
        CorrelationBreaker(baseline=0.3, window=60, elevated_at=0.2, crisis_at=0.7)
    with pytest.raises(ValueError, match="missing for CRISIS"):
        CorrelationBreaker(
            baseline=0.0,
            window=60,
            elevated_at=0.35,
            crisis_at=0.7,
            actions={N: BreakerAction(), E: BreakerAction(scale=0.5)},
        )


# --- the rolling correlation kept by sums, against recomputed ones --------------------------


def test_two_symbols_read_pandas_rolling_correlation_at_every_row() -> None:
    rng = np.random.default_rng(21)
    common = rng.normal(0, 0.01, 3000)
    frame = pd.DataFrame(
        {"AAA": common + rng.normal(0, 0.01, 3000), "BBB": 0.5 * common + rng.normal(0, 0.02, 3000)}
    )
    frame.iloc[1000:1500] += 0.5  # far from zero for a while: the anchor keeps the precision
    expected = frame["AAA"].rolling(40).corr(frame["BBB"]).to_numpy()
    rolling = RollingCorrelation(40)
    readings = [rolling.add(row) for row in frame.to_dict("records")]
    assert all(r is None for r in readings[:39])
    np.testing.assert_allclose(np.array(readings[39:], dtype=float), expected[39:], atol=1e-9)


def test_the_rolling_reading_is_the_recomputed_one_with_gaps_late_symbols_and_flat_runs() -> None:
    rng = np.random.default_rng(5)
    window, rows = 30, 400
    data = rng.normal(0, 0.02, (rows, 4)) + rng.normal(0, 0.02, (rows, 1))
    data[rng.random((rows, 4)) < 0.02] = np.nan
    data[100:160, 1] = 0.0  # a halted symbol: constant for longer than the window
    data[:120, 3] = np.nan  # a symbol listed later
    rolling = RollingCorrelation(window)
    history: list[dict[str, float]] = []
    readings = 0
    for values in data:
        row = {s: float(v) for s, v in zip("ABCD", values, strict=True) if not math.isnan(v)}
        history.append(row)
        got = rolling.add(row)
        seen = list(dict.fromkeys(s for r in history for s in r))
        expected = None
        if len(history) >= window:
            matrix = np.array([[r.get(s, math.nan) for s in seen] for r in history[-window:]])
            expected = mean_pairwise_correlation(matrix)
        assert (got is None) == (expected is None)
        if got is not None:
            readings += 1
            assert got == pytest.approx(expected, abs=1e-10)
    assert readings > 300


def test_a_constant_symbol_leaves_the_reading_however_its_sum_rounds() -> None:
    rolling = RollingCorrelation(5)
    pairs = np.random.default_rng(0).normal(size=(5, 2))
    for a, b in pairs:
        reading = rolling.add({"AAA": a, "BBB": b, "FLAT": 0.1})  # 0.1 sums inexactly
    assert reading == pytest.approx(float(np.corrcoef(pairs.T)[0, 1]), abs=1e-12)
