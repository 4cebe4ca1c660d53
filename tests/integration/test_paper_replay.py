"""``paper`` over a run's holdout gives exactly what ``backtest --strategy model`` gives.

The same small logistic run as the online-prediction tests; the backtest
with the online predictor (the one a live engine uses) and a paper session
replaying the same bars through the live driver, the paper venue and SQLite
journals must agree order for order, fill for fill, and on the equity at
every bar. A second start of the finished session changes nothing.
"""

from __future__ import annotations

import json
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
from alphagate.strategies.model import ModelStrategy
from alphagate.testing import bundled_bars

SYMBOL = "^GSPC"


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """The model's staleness judged with thresholds that let it trade, then age mid-replay.

    The feature PSI of this small run is above 1 from the first bar (its
    ATR is in points, and the index rose), which would scale the confidence
    down from the start; with the PSI thresholds out of reach, the rolling IC
    turns it stale and fresh again and its age (600 days) ends it, so the
    replay crosses several verdict changes while still trading.
    """
    data = settings.model_dump()
    data["health"]["model"].update(max_age_days=600, psi_warn=5.0, psi_stale=10.0)
    return Settings.model_validate(data)


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
    modelled = run_model_backtest(
        settings,
        bars,
        ModelBacktestRequest(run_id="gspc", runs_dir=runs, predictor="online"),
        workspace / "paper-backtest",
        "XNYS",
    )
    backtest = modelled.result
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

    # The staleness monitor judged the same bars the same way, and its changes were stored.
    assert modelled.staleness is not None and len(modelled.staleness.changes) >= 3
    changes = sorted(
        (c.ts_ns, c.column, c.verdict.name.lower()) for c in modelled.staleness.changes
    )
    paper_strategy = kernel.strategy
    assert isinstance(paper_strategy, ModelStrategy)
    decided = ["ts", "symbol", "stale:logreg_h5", "conf:logreg_h5", "w_target"]
    pd.testing.assert_frame_equal(
        paper_strategy.decisions()[decided], modelled.decisions[decided], check_dtype=False
    )
    assert stored_changes(settings) == changes
    summary = json.loads((workspace / "paper-backtest" / "model_backtest.json").read_text())
    first = summary["staleness"]["columns"]["logreg_h5"]["first_stale"]
    assert pd.Timestamp(first["ts"]).value == next(
        t for t, column, verdict in changes if column == "logreg_h5" and verdict == "stale"
    )

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
    # The resumed session stored no change twice; status shows the latest and the retrain flag.
    assert stored_changes(settings) == changes
    books = f"storage.trading_database_url={settings.storage.trading_database_url}"
    shown = CliRunner().invoke(
        cli, ["paper", "status", "--run", "gspc", "--runs-dir", str(runs), "--json", "--set", books]
    )
    assert shown.exit_code == 0, shown.output
    model = json.loads(shown.output)["model"]
    assert model["retrain"] is True
    latest = {column: verdict for _, column, verdict in changes}
    assert {c: e["verdict"] for c, e in model["columns"].items()} == latest
    table = CliRunner().invoke(
        cli, ["paper", "status", "--run", "gspc", "--runs-dir", str(runs), "--set", books]
    )
    assert table.exit_code == 0, table.output
    assert "retrain" in table.output and "yes" in table.output


def stored_changes(settings: Settings) -> list[tuple[int, str, str]]:
    """The session's model staleness events in the trading database, oldest first."""
    store = open_trading_store(settings)
    try:
        events = store.system_events("model_staleness", limit=1000)
    finally:
        store.close()
    found = [(e.ts, e.detail or {}) for e in events if (e.detail or {}).get("run_id") == "gspc"]
    return sorted(
        ((ts, str(d["column"]), str(d["verdict"])) for ts, d in found),
        key=lambda row: (row[0], row[1]),
    )
