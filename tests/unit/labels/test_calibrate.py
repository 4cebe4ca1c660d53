"""Tests for the barrier-width grid and its edge flag.

The series below is built so the best width is known exactly. Closes are flat,
so the volatility is the ``min_vol`` floor (0.01) for every row, and with a
one-bar horizon each entry's label depends only on the next bar's high or low.
Every entry gets an *excursion* ``e`` (in volatilities) in that next bar, up
for half of the entries and down for the other half, with the same ``e``
values on both sides. An entry is then a touch when ``e >= width`` and
vertical otherwise, so the vertical share is the share of ``e`` below the
width, and up and down split the rest evenly. The ``e`` are spread evenly over
(0, 13.5), never on a candidate, so exactly one third lies below 4.5: the three
classes are balanced at width 4.5 and nowhere else on the grid.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphagate.labels.calibrate import (
    DEFAULT_CANDIDATES,
    BarrierChoice,
    choose_barriers,
    grid_edge,
)
from alphagate.testing import bars_of

OLD_CANDIDATES = tuple(0.5 + 0.25 * k for k in range(11))  # 0.5 .. 3.0, the grid before
FLOOR = 0.01  # min_vol: the volatility of every row, as closes never move
WARMUP = 50  # vol_span's warm-up: rows before it have no volatility and no label
LEVELS = 540
BEST = 4.5


def excursion_bars() -> pd.DataFrame:
    """Flat closes at 100; after each entry, a bar reaching ``e`` volatilities up or down."""
    excursions = 13.5 * (np.arange(LEVELS) + 0.5) / LEVELS  # 0.0125, 0.0375, ..., 13.4875
    order = np.random.default_rng(5).permutation(2 * LEVELS)
    signed = np.concatenate([excursions, -excursions])[order]
    rows = WARMUP + 2 * LEVELS + 1
    high = np.full(rows, 100.0)
    low = np.full(rows, 100.0)
    reached = 100.0 * np.exp(np.abs(signed) * FLOOR)
    after_entry = np.arange(WARMUP + 1, rows)  # entries are rows WARMUP .. rows - 2
    high[after_entry] = np.where(signed > 0, reached, 100.0)
    low[after_entry] = np.where(signed < 0, 100.0 * np.exp(signed * FLOOR), 100.0)
    closes = np.full(rows, 100.0)
    return bars_of(closes, symbol="A", highs=high, lows=low, volume=1.0, start="2020-01-01 21:00")


def choose(candidates: tuple[float, ...] = DEFAULT_CANDIDATES) -> BarrierChoice:
    return choose_barriers(
        excursion_bars(), horizon=1, candidates=candidates, vol_span=WARMUP, min_vol=FLOOR
    )


def test_the_default_grid_is_sorted_wide_and_finer_at_the_narrow_end() -> None:
    grid = np.array(DEFAULT_CANDIDATES)
    assert grid[0] == 0.25 and grid[-1] == 8.0
    steps = np.diff(grid)
    assert (steps > 0).all()
    assert steps[grid[:-1] < 2.0].max() < steps[grid[:-1] >= 5.0].min()
    assert {3.0, 4.0, 4.5, 5.0} <= set(DEFAULT_CANDIDATES)


def test_the_wide_grid_picks_the_known_interior_optimum() -> None:
    choice = choose()
    assert choice.pt == choice.sl == BEST
    assert choice.grid_edge is None
    assert choice.class_shares == pytest.approx({"up": 1 / 3, "down": 1 / 3, "vertical": 1 / 3})


def test_the_old_grid_stops_at_its_top_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="alphagate.labels.calibrate"):
        choice = choose(OLD_CANDIDATES)
    assert choice.pt == 3.0
    assert choice.grid_edge == "highest"
    assert choice.class_shares["vertical"] < 1 / 3
    assert "barrier width 3 is the highest candidate of the grid 0.5..3" in caplog.text
    assert "above" in caplog.text


def test_a_best_width_on_the_smallest_candidate_is_flagged_whatever_the_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="alphagate.labels.calibrate"):
        choice = choose((7.0, 5.0, 6.0))
    assert choice.pt == 5.0
    assert choice.grid_edge == "lowest"
    assert "may lie below it" in caplog.text


def test_an_interior_choice_logs_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="alphagate.labels.calibrate"):
        choice = choose((4.0, 4.5, 5.0))
    assert choice.pt == BEST
    assert choice.grid_edge is None
    assert caplog.records == []


@pytest.mark.parametrize(
    ("width", "candidates", "edge"),
    [
        (1.0, (1.0, 2.0, 3.0), "lowest"),
        (3.0, (2.0, 3.0, 1.0), "highest"),
        (2.0, (3.0, 2.0, 1.0), None),
        (2.0, (2.0,), "only"),
    ],
)
def test_grid_edge_compares_values_not_positions(
    width: float, candidates: tuple[float, ...], edge: str | None
) -> None:
    assert grid_edge(width, candidates) == edge


def test_the_edge_flag_is_saved_and_read_back(tmp_path: Path) -> None:
    choice = choose(OLD_CANDIDATES)
    path = tmp_path / "barriers.json"
    choice.save(path)
    assert json.loads(path.read_text("utf-8"))["grid_edge"] == "highest"
    assert BarrierChoice.load(path) == choice


def test_a_file_saved_before_the_edge_flag_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "barriers.json"
    old = {
        "pt": 3.0,
        "sl": 3.0,
        "horizon": 20,
        "vol_span": 50,
        "min_vol": 1e-8,
        "class_shares": {"up": 0.43, "down": 0.43, "vertical": 0.14},
    }
    path.write_text(json.dumps(old), "utf-8")
    assert BarrierChoice.load(path).grid_edge is None
    path.write_text(json.dumps({**old, "grid_edge": "sideways"}), "utf-8")
    with pytest.raises(ValueError, match="grid_edge"):
        BarrierChoice.load(path)
