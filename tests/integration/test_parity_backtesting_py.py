"""Parity with backtesting.py (test-only oracle, AGPL: never imported by src/).

An SMA(10, 30) crossover, long-only and all in, filled at the next open, runs
over the bundled S&P 500 daily bars (1999-2018, 5031 bars) in both engines,
without commission and with 0.1 % per side. Trades (entry and exit bars and
prices, sizes) must be identical and the equity curves equal to 1e-9 relative.

Settings that align the two engines, each needed:

- **Signal.** Ours: :class:`SmaCross` (means of the last 10/30 closes).
  Theirs: ``self.I`` of a pandas rolling mean, ``crossover(fast, slow)`` to
  ``buy()``, ``crossover(slow, fast)`` to ``position.close()``; both are
  ``a[-2] < b[-2] and a[-1] > b[-1]``. Both first decide on bar 31
  (backtesting.py starts at ``1 + first non-NaN index`` of the slowest
  indicator; ours has ``warmup = slow + 1``).
- **Timing.** Both decide at a bar's close and fill market orders at the next
  bar's open (``trade_on_close=False``, our :class:`NextOpenFill`).
- **Sizing.** backtesting.py sizes ``buy()`` (size just under 1) *at fill
  time*: ``int(margin_available * (1 - eps) // (open * (1 + commission)))``.
  Ours matches with ``sizing="next_open"``, ``units="whole"`` and the
  commission in the unit cost (``open + fee(1 unit)``). Our default
  ``sizing="close"`` sizes at the decision's close instead and would buy a
  different number of shares. The ``(1 - eps)`` factor only matters when the
  cash is an exact multiple of the unit cost; it never is here.
- **Commission.** theirs ``commission=0.001`` (charged on entry notional and
  again on exit notional, ``spread=0``); ours ``BasisPoints(10)`` per fill.
- **End of run.** backtesting.py with ``finalize_trades=True`` closes a trade
  still open at the end at the *last bar's open* and charges the exit fee; we
  leave it open, marked at the last close. So equity is compared against a run
  with ``finalize_trades=False`` (open trade marked at the last close, as
  ours), and the trade list against a ``finalize_trades=True`` run, whose last
  trade's exit would be the artificial close (then only its entry is
  checked). On this data the last trade closes before the end, so every
  entry and exit is compared.
- **Dates.** Our ``ts`` is the session close in UTC; theirs is the session date.
  A fill stamped at ``ts`` happened at the open of the session ``ts`` closes,
  i.e. their bar of the same New York date.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

from alphagate.backtest.runner import BacktestResult, run_backtest
from alphagate.execution.commission import BasisPoints, NoCommission
from alphagate.strategies.builtin import SmaCross

CASH = 10_000.0


def _sma(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).mean().to_numpy()


class _OracleSmaCross(Strategy):  # type: ignore[misc]
    fast = 10
    slow = 30

    def init(self) -> None:
        self.sma_fast = self.I(_sma, self.data.Close, self.fast)
        self.sma_slow = self.I(_sma, self.data.Close, self.slow)

    def next(self) -> None:
        if crossover(self.sma_fast, self.sma_slow):
            self.buy()
        elif crossover(self.sma_slow, self.sma_fast):
            self.position.close()


def _session_dates(ts: pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(ts)
    return index.tz_convert("America/New_York").tz_localize(None).normalize()


def _oracle(bars: pd.DataFrame, commission: float, finalize: bool) -> pd.Series:
    frame = bars.xs("^GSPC", level="symbol")
    df = pd.DataFrame(
        {c.capitalize(): frame[c].to_numpy() for c in ("open", "high", "low", "close", "volume")},
        index=_session_dates(frame.index),
    )
    bt = Backtest(df, _OracleSmaCross, cash=CASH, commission=commission, finalize_trades=finalize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats: pd.Series = bt.run()
    return stats


def _ours(bars: pd.DataFrame, bps: float) -> BacktestResult:
    commission = BasisPoints(bps) if bps else NoCommission()
    return run_backtest(
        bars, SmaCross(10, 30), cash=CASH, commission=commission, units="whole", sizing="next_open"
    )


@pytest.mark.parametrize(("bps", "rate"), [(0.0, 0.0), (10.0, 0.001)])
def test_sma_cross_trades_match_backtesting_py_bar_for_bar(
    gspc_bars: pd.DataFrame, bps: float, rate: float
) -> None:
    ours = _ours(gspc_bars, bps)
    theirs = _oracle(gspc_bars, rate, finalize=True)["_trades"]
    assert len(ours.trades) == len(theirs) > 50
    assert (ours.trades["qty"].to_numpy() == theirs["Size"].to_numpy()).all()
    entry_dates = _session_dates(ours.trades["entry_ts"])
    assert (entry_dates == pd.DatetimeIndex(theirs["EntryTime"])).all()
    np.testing.assert_array_equal(ours.trades["entry_price"], theirs["EntryPrice"])
    closed = ours.trades["exit_ts"].notna().to_numpy()
    # Only a last trade may be open in ours; theirs would close it artificially at the end.
    assert closed[:-1].all()
    exit_dates = _session_dates(ours.trades["exit_ts"][closed])
    assert (exit_dates == pd.DatetimeIndex(theirs["ExitTime"][closed])).all()
    # The fills are priced at exactly their open; the trade's exit_price is the
    # portfolio's running average of exit fills, ``(0 * 0 + p * q) / q``, which
    # may round ``p`` by one ulp. So fills are compared exactly, trades to 2 ulp.
    sells = ours.fills[ours.fills["side"] == "sell"]["price"].to_numpy()
    np.testing.assert_array_equal(sells, theirs["ExitPrice"][closed])
    np.testing.assert_allclose(
        ours.trades["exit_price"][closed], theirs["ExitPrice"][closed], rtol=4.5e-16, atol=0
    )
    net = (ours.trades["pnl"] - ours.trades["fees"])[closed]
    np.testing.assert_allclose(net, theirs["PnL"][closed], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("bps", "rate"), [(0.0, 0.0), (10.0, 0.001)])
def test_sma_cross_equity_curve_matches_backtesting_py(
    gspc_bars: pd.DataFrame, bps: float, rate: float
) -> None:
    ours = _ours(gspc_bars, bps)
    theirs = _oracle(gspc_bars, rate, finalize=False)["_equity_curve"]["Equity"]
    np.testing.assert_allclose(ours.equity.to_numpy(), theirs.to_numpy(), rtol=1e-9)
    final_ours, final_theirs = ours.equity.iloc[-1], theirs.iloc[-1]
    assert abs(final_ours / final_theirs - 1) < 1e-6
