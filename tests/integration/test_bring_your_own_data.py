"""Issue 15: a user's own bars file backtests with one plain command and matches backtesting.py.

Three files in the shapes people bring, generated here: a daily equity CSV
as a finance site writes it (``Date,Open,High,Low,Close,Adj Close,Volume``,
NYSE sessions), an hourly FX Parquet file open from Sunday to Friday 17:00
New York across a daylight-saving change, and a one-minute crypto CSV that
trades around the clock. Each runs through the real command line with no
option but ``--data``, the strategy and its parameters; what was inferred is
printed in one line, and the trades and final equity equal backtesting.py's
on the same bars (the oracle strategy is the parity test's: SMA crossover,
long only, all in, filled at the next open; see
``test_parity_backtesting_py.py`` for why the two engines line up).
"""

from __future__ import annotations

import os
import re
import shlex
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from typer.testing import CliRunner

from alphagate.cli.root import cli

CASH = 10_000.0
FAST, SLOW = 5, 20


def _sma(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).mean().to_numpy()


class _OracleSmaCross(Strategy):  # type: ignore[misc]
    fast = FAST
    slow = SLOW

    def init(self) -> None:
        self.sma_fast = self.I(_sma, self.data.Close, self.fast)
        self.sma_slow = self.I(_sma, self.data.Close, self.slow)

    def next(self) -> None:
        if crossover(self.sma_fast, self.sma_slow):
            self.buy()
        elif crossover(self.sma_slow, self.sma_fast):
            self.position.close()


def _ohlcv(count: int, seed: int, price: float, volatility: float) -> pd.DataFrame:
    """A seeded random walk as consistent OHLCV bars (each opens at the last close)."""
    rng = np.random.default_rng(seed)
    close = price * np.exp(np.cumsum(rng.normal(0.0, volatility, count)))
    open_ = np.concatenate([[price], close[:-1]])
    wick = np.abs(rng.normal(0.0, volatility / 2, (2, count)))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    volume = rng.integers(1_000, 100_000, count).astype(float)
    return pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume}
    ).round(6)


def _oracle(frame: pd.DataFrame, *, finalize: bool) -> pd.Series:
    """backtesting.py's statistics of the SMA crossover on ``frame`` (its own index)."""
    bt = Backtest(frame, _OracleSmaCross, cash=CASH, commission=0.0, finalize_trades=finalize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats: pd.Series = bt.run()
    return stats


def daily_equity_csv(folder: Path) -> tuple[Path, pd.DataFrame]:
    """``SPY.csv``: three years of NYSE sessions, written as a finance site writes them."""
    import exchange_calendars

    sessions = exchange_calendars.get_calendar("XNYS").sessions_in_range("2019-01-02", "2021-12-31")
    bars = _ohlcv(len(sessions), seed=1, price=250.0, volatility=0.012)
    bars.index = pd.DatetimeIndex(sessions)
    table = bars.assign(**{"Adj Close": bars["Close"] * 0.97})
    table = table[["Open", "High", "Low", "Close", "Adj Close", "Volume"]]
    path = folder / "SPY.csv"
    table.rename_axis("Date").to_csv(path, date_format="%Y-%m-%d")
    return path, bars


def hourly_fx_parquet(folder: Path) -> tuple[Path, pd.DataFrame]:
    """``EURUSD.parquet``: hourly bars, stamped at their start, Sunday to Friday 17:00 New York.

    The weeks span the US switch to summer time (2023-03-12), so the open moves
    from 22:00 to 21:00 UTC, as FX's does.
    """
    starts = []
    for day in pd.bdate_range("2023-02-06", "2023-04-28"):
        open_ = (day - pd.Timedelta(days=1) + pd.Timedelta(hours=17)).tz_localize(
            "America/New_York"
        )
        starts.append(pd.date_range(open_, periods=24, freq="1h").tz_convert("UTC"))
    index = starts[0].append(starts[1:]).as_unit("ns")
    bars = _ohlcv(len(index), seed=2, price=1.07, volatility=0.0015)
    bars.index = index
    path = folder / "EURUSD.parquet"
    table = bars.rename(columns=str.lower).rename_axis("time").reset_index()
    table.to_parquet(path, index=False)
    return path, bars


def minute_crypto_csv(folder: Path) -> tuple[Path, pd.DataFrame]:
    """``SOLUSD.csv``: two weeks of one-minute bars around the clock, ISO times in UTC."""
    index = pd.date_range("2024-03-04", periods=14 * 1440, freq="1min", tz="UTC")
    bars = _ohlcv(len(index), seed=3, price=20.0, volatility=0.0008)
    bars.index = index
    path = folder / "SOLUSD.csv"
    text = bars.rename(columns=str.lower).assign(timestamp=index.strftime("%Y-%m-%dT%H:%M:%SZ"))[
        ["timestamp", "open", "high", "low", "close", "volume"]
    ]
    text.to_csv(path, index=False)
    return path, bars


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current folder (no configs/default.yaml) and no ALPHAGATE__ settings."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    return tmp_path


CASES = {
    "daily equity": (daily_equity_csv, "timeframe 1d, calendar XNYS", "symbol SPY"),
    "hourly fx": (hourly_fx_parquet, "timeframe 1h, calendar fx", "symbol EURUSD"),
    "minute crypto": (minute_crypto_csv, "timeframe 1m, calendar 24/7", "symbol SOLUSD"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_users_file_backtests_with_data_alone_and_matches_backtesting_py(
    folder: Path, case: str
) -> None:
    make, settled, symbol = CASES[case]
    path, bars = make(folder)
    out = folder / "bt"
    result = CliRunner().invoke(
        cli,
        ["backtest", "--data", str(path), "--strategy", "sma_cross",
         "--params", f"fast={FAST},slow={SLOW}", "--output", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    inferred = [line for line in result.output.splitlines() if line.startswith("inferred:")]
    assert len(inferred) == 1, result.output
    assert settled in inferred[0]
    assert f"{symbol} (from the file name)" in inferred[0]
    assert "override with --timeframe/--calendar/--symbol" in inferred[0]
    assert "gaps:" not in result.output  # a closed market is not a gap

    trades = pd.read_csv(out / "trades.csv")
    equity = pd.read_csv(out / "equity.csv")
    theirs_trades = _oracle(bars, finalize=True)["_trades"]
    theirs_equity = _oracle(bars, finalize=False)["_equity_curve"]["Equity"]
    assert len(equity) == len(bars)
    assert len(trades) == len(theirs_trades) > 5
    assert trades["qty"].tolist() == theirs_trades["Size"].tolist()
    final = equity.iloc[-1, -1] if "equity" not in equity else equity["equity"].iloc[-1]
    assert final == pytest.approx(theirs_equity.iloc[-1], rel=1e-9)


PAGE = Path(__file__).resolve().parents[2] / "docs" / "data.md"
SHOWN = re.compile(r"```bash\n(alphagate backtest [^\n]+)\n```\n\n```text\n(inferred: [^\n]+)\n```")
REFUSAL = re.compile(
    r"Reading the hourly FX file against NYSE \(`(--calendar \w+)`\):\n\n```text\n(.*?)```",
    re.DOTALL,
)


def test_the_data_page_shows_what_its_three_commands_print(folder: Path) -> None:
    page = PAGE.read_text(encoding="utf-8")
    shown = SHOWN.findall(page)
    assert [command.split()[3] for command, _ in shown] == [
        "SPY.csv", "EURUSD.parquet", "SOLUSD.csv",
    ]  # fmt: skip
    for make in (daily_equity_csv, hourly_fx_parquet, minute_crypto_csv):
        make(folder)
    for command, printed in shown:
        result = CliRunner().invoke(cli, shlex.split(command)[1:])
        assert result.exit_code == 0, result.output
        assert printed in result.output.splitlines(), f"{command} prints otherwise"


def test_the_data_page_shows_the_refusal_of_fx_bars_read_against_nyse(folder: Path) -> None:
    found = REFUSAL.search(PAGE.read_text(encoding="utf-8"))
    assert found is not None
    option, text = found.groups()
    hourly_fx_parquet(folder)
    result = CliRunner().invoke(
        cli, ["backtest", "--data", "EURUSD.parquet", *option.split(), "--output", "runs/x"]
    )
    assert result.exit_code == 1
    message = str(result.exception)
    lines = [line for line in text.splitlines() if "..." not in line]
    for line in [*lines[:3], lines[-2]]:  # the counts, the first row, the likely fix
        assert line.removeprefix("error: ") in message.splitlines(), line
    assert text.splitlines()[-1].startswith("full list: ")
    assert Path(message.split("full list: ")[1].strip()).is_file()
