"""``paper`` over a run's holdout gives exactly what ``backtest --strategy model`` gives.

The same small logistic run as the online-prediction tests; the backtest
with the online predictor (the one a live engine uses) and a paper session
replaying the same bars through the live driver, the paper venue and SQLite
journals must agree order for order, fill for fill, and on the equity at
every bar. A second start of the finished session changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alphagate.adapters.journal.sqlite import SqliteJournal
from alphagate.app.model_backtest import ModelBacktestRequest, run_model_backtest
from alphagate.app.paper import JOURNAL, PaperRequest, run_paper
from alphagate.app.trading_db import open_trading_store
from alphagate.app.train import run_training
from alphagate.cli import cli
from alphagate.config import Settings
from alphagate.live.driver import LiveDriver
from alphagate.testing import bundled_bars

SYMBOL = "^GSPC"


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    """Training bars to mid-2016, then two and a half years the run never saw."""
    return bundled_bars([SYMBOL], start="2012-01-01", end="2018-12-31")


@pytest.fixture(scope="module")
def runs(workspace: Path, settings: Settings, bars: pd.DataFrame) -> Path:
    runs = workspace / "paper-runs"
    train = bars.loc[bars.index.get_level_values("ts") < pd.Timestamp("2016-07-01", tz="UTC")]
    run_training(settings, train, family="logreg", horizons=(1, 5), runs_dir=runs, run_id="gspc")
    return runs


def test_a_paper_replay_of_the_holdout_is_the_model_backtest(
    workspace: Path, settings: Settings, bars: pd.DataFrame, runs: Path
) -> None:
    backtest = run_model_backtest(
        settings,
        bars,
        ModelBacktestRequest(run_id="gspc", runs_dir=runs, predictor="online"),
        workspace / "paper-backtest",
        "XNYS",
    ).result
    equity: list[float] = []

    def mark(driver: LiveDriver) -> None:
        kernel = driver.kernel
        equity.append(kernel.portfolio.equity(kernel.latest_closes()))

    outcome = run_paper(
        settings, bars, PaperRequest("gspc", runs), on_cycle=mark, handle_signals=False
    )
    kernel = outcome.driver.kernel
    assert len(backtest.orders) > 20
    ours = pd.DataFrame(
        [
            (s.client_order_id, s.request.quantity, s.status.value, s.filled_qty)
            for s in kernel.orders.values()
        ],
        columns=["client_order_id", "qty", "status", "filled_qty"],
    )
    theirs = backtest.orders[list(ours.columns)].astype(object)
    pd.testing.assert_frame_equal(ours.astype(object), theirs, check_dtype=False)
    journal = SqliteJournal(outcome.session / JOURNAL, readonly=True)
    try:
        journaled = [
            (r["fill"]["trade_id"], r["fill"]["price"], r["fill"]["quantity"])
            for _, kind, r in journal.replay()
            if kind == "update" and r["event"] == "filled"
        ]
    finally:
        journal.close()
    assert journaled == [(f.trade_id, f.price, f.quantity) for f in backtest.fill_records]
    np.testing.assert_array_equal(np.array(equity), backtest.equity.to_numpy())

    # The shadow backtest of the same bars agrees exactly, and the books reached the database.
    assert outcome.shadow is not None and outcome.shadow.exact(), outcome.shadow
    assert outcome.shadow.orders_compared == len(backtest.orders)
    store = open_trading_store(settings)
    try:
        assert {s.client_order_id for s in store.orders("gspc")} == set(kernel.orders)
        assert len(store.fills("gspc")) == len(backtest.fill_records)
        assert [p.equity for p in store.equity("gspc")] == equity
        children = [o.request for o in kernel.orders.values() if o.request.parent_id is not None]
        stops = {r.parent_id: r.stop_price for r in children if r.stop_price is not None}
        levels = store.protective_levels("gspc")
        assert stops, "the decision path protects its entries: the test needs brackets"
        assert {cid: lv.stop for cid, lv in levels.items()} == stops
        days = store.daily_performance("gspc")
        assert len(days) == len(equity)  # daily bars: one day each
        assert all(d.tracking_error == 0.0 for d in days)
    finally:
        store.close()

    again = run_paper(settings, bars, PaperRequest("gspc", runs), handle_signals=False)
    assert again.summary.cycles == 0
    assert again.summary.recovered.resent == [] and again.summary.recovered.adopted == 0
    assert dict(again.driver.kernel.portfolio.quantities) == dict(kernel.portfolio.quantities)
    assert again.driver.kernel.portfolio.cash == kernel.portfolio.cash

    status = CliRunner().invoke(
        cli, ["paper", "status", "--run", "gspc", "--runs-dir", str(runs), "--json"]
    )
    assert status.exit_code == 0, status.output
    assert f'"orders_sent": {len(kernel.orders)}' in status.output
