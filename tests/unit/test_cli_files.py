"""Commands that read a user's file: what they infer, how they refuse, what they tolerate.

Each test runs the real command line in an empty folder (no
configs/default.yaml) on a file it writes, and checks what a user sees.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import exchange_calendars
import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from alphagate.cli.root import cli, main


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    return tmp_path


def _config(folder: Path, **data: object) -> Path:
    settings = {
        "data": {"dir": str(folder / "store"), **data},
        "storage": {"database_url": f"sqlite:///{folder / 'state.db'}"},
    }
    path = folder / "c.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def _walk(count: int, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, count)))
    open_ = np.concatenate([[100.0], close[:-1]])
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.002,
            "low": np.minimum(open_, close) * 0.998,
            "close": close,
            "volume": 1000.0,
        }
    ).round(6)


def _fx_hours_csv(folder: Path, weeks: int = 2) -> Path:
    """Hourly FX bars with offsets, Sunday 17:00 to Friday 17:00 New York."""
    days = pd.bdate_range("2024-01-08", periods=5 * weeks)
    starts = [
        pd.date_range(
            (day - pd.Timedelta(days=1, hours=-17)).tz_localize("America/New_York"),
            periods=24,
            freq="1h",
        ).tz_convert("UTC")
        for day in days
    ]
    index = starts[0].append(starts[1:])
    frame = _walk(len(index)).assign(ts=index.strftime("%Y-%m-%dT%H:%M:%SZ"))
    path = folder / "EURUSD.csv"
    frame[["ts", "open", "high", "low", "close", "volume"]].to_csv(path, index=False)
    return path


def _us_daily_csv(folder: Path, name: str = "prices.csv", drop: tuple[int, ...] = ()) -> Path:
    sessions = exchange_calendars.get_calendar("XNYS").sessions_in_range("2023-01-03", "2023-12-29")
    frame = _walk(len(sessions)).assign(Date=pd.DatetimeIndex(sessions).strftime("%Y-%m-%d"))
    frame = frame.drop(index=list(drop))
    path = folder / name
    frame[["Date", "open", "high", "low", "close", "volume"]].to_csv(path, index=False)
    return path


def test_a_calendar_from_the_users_config_wins_and_its_refusal_says_how_to_fix_it(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(folder, calendar="XNYS", timeframe="1h")
    path = _fx_hours_csv(folder)
    argv = ["alphagate", "--config", str(config), "backtest", "--data", str(path)]
    monkeypatch.setattr(sys, "argv", [*argv, "--output", str(folder / "bt")])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert "nothing was stored" in err
    assert "off_calendar: " in err  # the count per rule
    shown = [line for line in err.splitlines() if "rule off_calendar" in line]
    assert 1 <= len(shown) <= 3  # the first few rows of the rule, not all of them
    assert f"{path}, row " in shown[0]
    assert "looks like FX; try --calendar fx" in err
    listed = err.split("full list: ")[1].split()[0]
    with Path(listed).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > len(shown)
    assert {row["rule"] for row in rows} >= {"off_calendar"}
    assert not (folder / "bt").exists()


def test_ingest_of_a_refused_file_stores_nothing_and_points_at_the_full_list(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(folder, calendar="XNYS")
    path = _fx_hours_csv(folder)
    argv = ["alphagate", "--config", str(config), "data", "ingest", "--path", str(path)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert "full list: " in err
    assert "likely fix: " in err
    assert not any(folder.glob("store/**/*.parquet"))


@pytest.mark.parametrize("word", ["none", "24/7", "null", "NONE"])
def test_none_24_7_and_null_mean_the_same_on_the_command_line_and_in_a_config_file(
    folder: Path, word: str
) -> None:
    minutes = pd.date_range("2024-03-04", periods=3 * 1440, freq="1min", tz="UTC")
    frame = _walk(len(minutes)).assign(ts=minutes.strftime("%Y-%m-%dT%H:%M:%SZ"))
    path = folder / "BTC.csv"
    frame[["ts", "open", "high", "low", "close", "volume"]].to_csv(path, index=False)
    on_line = CliRunner().invoke(
        cli, ["--config", str(_config(folder)), "data", "validate", str(path), "--calendar", word]
    )
    assert on_line.exit_code == 0, on_line.output
    assert "calendar" not in on_line.output.split("inferred:")[-1].split(";")[0]
    in_file = CliRunner().invoke(
        cli, ["--config", str(_config(folder, calendar=word)), "data", "validate", str(path)]
    )
    assert in_file.exit_code == 0, in_file.output


def test_validate_reads_a_file_without_a_symbol_column_under_its_name(folder: Path) -> None:
    path = _us_daily_csv(folder)
    config = str(_config(folder))
    result = CliRunner().invoke(cli, ["--config", config, "data", "validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "symbol prices (from the file name)" in result.output
    assert "clean" in result.output


def test_a_backtest_goes_on_over_gaps_and_counts_them_while_ingest_refuses_them(
    folder: Path,
) -> None:
    config = _config(folder)
    path = _us_daily_csv(folder, drop=(40, 41, 120))
    out = folder / "bt"
    result = CliRunner().invoke(
        cli, ["--config", str(config), "backtest", "--data", str(path), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "gaps: 2 stretch(es) of missing bars inside sessions" in result.output
    assert "no bar is invented" in result.output
    assert len(pd.read_csv(out / "equity.csv")) == 250 - 3
    ingest = CliRunner().invoke(
        cli, ["--config", str(config), "data", "ingest", "--path", str(path)]
    )
    assert ingest.exit_code == 1
    assert not any((folder / "store").rglob("*.parquet"))


def test_a_naive_intraday_time_without_a_zone_is_still_refused_naming_its_row(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hours = pd.date_range("2024-03-04", periods=72, freq="1h")
    frame = _walk(len(hours)).assign(ts=hours.strftime("%Y-%m-%d %H:%M:%S"))
    path = folder / "naive.csv"
    frame[["ts", "open", "high", "low", "close", "volume"]].to_csv(path, index=False)
    argv = ["alphagate", "--config", str(_config(folder)), "backtest", "--data", str(path)]
    monkeypatch.setattr(sys, "argv", [*argv, "--output", str(folder / "bt")])
    with pytest.raises(SystemExit):
        main()
    err = capsys.readouterr().err
    assert "row 1," in err
    assert "rule timezone" in err
    assert "--set data.csv.timezone=" in err


def test_dates_without_a_time_in_a_daily_file_are_session_dates_even_when_written_as_midnight(
    folder: Path,
) -> None:
    path = _us_daily_csv(folder)
    text = path.read_text(encoding="utf-8").splitlines()
    midnight = [text[0]] + [f"{line[:10]} 00:00:00{line[10:]}" for line in text[1:]]
    path.write_text("\n".join(midnight) + "\n", encoding="utf-8")
    config = str(_config(folder))
    result = CliRunner().invoke(cli, ["--config", config, "data", "validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "timeframe 1d, calendar XNYS" in result.output


def test_hourly_bars_read_as_daily_are_refused_with_the_bar_size_to_use(folder: Path) -> None:
    path = _fx_hours_csv(folder)
    config = str(_config(folder))
    result = CliRunner().invoke(
        cli, ["--config", config, "data", "validate", str(path), "--timeframe", "1d"]
    )
    assert result.exit_code == 1
    assert "duplicates: " in result.output
    assert "likely fix: the bars are 1h apart but are read as 1d bars; try --timeframe 1h" in (
        result.output
    )
    assert "full list: " in result.output
