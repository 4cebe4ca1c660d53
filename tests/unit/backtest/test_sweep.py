"""Parameter sweeps: the grid syntax, each point against the event engine, workers, failures."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from alphagate.app.sweep import SweepRequest, heat_grid, run_sweep
from alphagate.backtest.runner import run_backtest
from alphagate.backtest.sweep import Axis, SweepInput, grid_points, parse_grid, score_point
from alphagate.config import Settings
from alphagate.errors import ConfigError
from alphagate.metrics.annualisation import periods_per_year
from alphagate.strategies.builtin import make_strategy


def test_ranges_include_their_stop_and_lists_keep_their_order() -> None:
    axes = parse_grid("fast=5:20:5, slow=30|60|45, w=0.5:1.0:0.25")
    assert axes == [
        Axis("fast", (5, 10, 15, 20)),
        Axis("slow", (30, 60, 45)),
        Axis("w", (0.5, 0.75, 1.0)),
    ]
    assert all(isinstance(v, int) for v in axes[0].values)
    points = grid_points(axes[:2])
    assert len(points) == 12 and points[0] == {"fast": 5, "slow": 30}
    assert points[1] == {"fast": 5, "slow": 60}  # the first axis varies slowest


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fast", "name=start:stop:step"),
        ("fast=5:50", "start:stop:step"),
        ("fast=5:50:0", "step must be positive"),
        ("fast=5:50:x", "'x' is not a number"),
        ("fast=5|6,fast=7|8", "twice"),
        ("", "empty"),
        ("a=1:1000:1,b=1:1000:1", "more than"),
    ],
)
def test_a_bad_grid_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_grid(text)


@pytest.fixture(scope="module")
def bars(gspc_bars: pd.DataFrame) -> pd.DataFrame:
    return gspc_bars.iloc[-1500:]


def shared_of(bars: pd.DataFrame) -> SweepInput:
    stamps = pd.DatetimeIndex(bars.index.get_level_values("ts"))
    return SweepInput(bars, "sma_cross", 10_000.0, 0.0, "whole", periods_per_year(stamps, "XNYS"))


@pytest.mark.parametrize(("fast", "slow"), [(10, 30), (20, 100), (5, 200)])
def test_each_point_scores_what_the_event_engine_measures(
    bars: pd.DataFrame, fast: int, slow: int
) -> None:
    """The oracle is the event engine's own result (its metrics are tested against empyrical)."""
    score = score_point(shared_of(bars), {"fast": fast, "slow": slow})
    event = run_backtest(bars, make_strategy("sma_cross", {"fast": fast, "slow": slow}))
    metrics = event.metrics
    assert score.error is None
    assert score.metrics["sharpe"] == pytest.approx(metrics.sharpe, rel=1e-9, abs=1e-12)
    assert score.metrics["total_return"] == pytest.approx(metrics.total_return, rel=1e-9)
    assert score.metrics["max_drawdown"] == pytest.approx(metrics.max_drawdown, rel=1e-9)
    assert score.metrics["trades"] == metrics.trades


def test_the_table_is_the_same_with_one_worker_or_two_and_refused_points_are_kept(
    bars: pd.DataFrame, tmp_path: Path
) -> None:
    axes = parse_grid("fast=10:40:10,slow=20:60:20")
    one = run_sweep(
        Settings(), bars, SweepRequest("sma_cross", axes, {}, workers=1), tmp_path / "1"
    )
    two = run_sweep(
        Settings(), bars, SweepRequest("sma_cross", axes, {}, workers=2), tmp_path / "2"
    )
    pd.testing.assert_frame_equal(one.table, two.table)
    assert (tmp_path / "1" / "sweep.csv").read_bytes() == (
        tmp_path / "2" / "sweep.csv"
    ).read_bytes()
    refused = one.table[one.table["error"] != ""]
    assert len(refused) == sum(1 for p in grid_points(axes) if p["fast"] >= p["slow"])
    assert one.failures == len(refused) > 0
    assert one.best is not None
    kept = one.table[one.table["error"] == ""]
    assert one.best["sharpe"] == kept["sharpe"].max()


def test_the_heat_map_holds_each_pairs_best_over_further_axes() -> None:
    axes = [Axis("a", (1, 2)), Axis("b", (10, 20)), Axis("c", (0, 1))]
    rows = [
        {"a": a, "b": b, "c": c, "sharpe": a * 100 + b + c * 0.5, "error": ""}
        for a in (1, 2) for b in (10, 20) for c in (0, 1)
    ]  # fmt: skip
    grid = heat_grid(pd.DataFrame(rows), axes, "sharpe")
    assert grid.loc[20, 1] == 120.5 and grid.loc[10, 2] == 210.5
    assert list(grid.columns) == [1, 2] and list(grid.index) == [10, 20]


def test_a_grid_where_every_point_fails_is_an_error(bars: pd.DataFrame, tmp_path: Path) -> None:
    axes = parse_grid("fast=50|60,slow=10|20")
    with pytest.raises(ConfigError, match="every point of the grid failed"):
        run_sweep(Settings(), bars, SweepRequest("sma_cross", axes, {}, workers=1), tmp_path)
