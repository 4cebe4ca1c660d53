"""The ``alphagate`` command line, driven as a user drives it.

Every test runs in its own temporary working directory with a config file
that keeps the bar store and the state database inside it. Error cases go
through ``main()``, the console-script entry point, because that is where a
user-fixable error becomes one line on stderr and exit status 1.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import exchange_calendars
import pandas as pd
import pytest
import yaml
from click.testing import Result
from rich.console import Console
from typer.testing import CliRunner

import alphagate
from alphagate.cli import root as cli_module
from alphagate.cli.root import cli, main

SYMBOLS = ("SYMALPHA", "SYMBETA")
START, END = "2019-01-01", "2019-03-31"
SECRET = "supersecretvalue123456"
CLEAN_CSV = (
    "symbol,ts,open,high,low,close,volume\n"
    "AAA,2020-01-02,100,101,99,100.5,1000\n"
    "AAA,2020-01-03,100.5,102,100,101.5,1100\n"
    "AAA,2020-01-06,101.5,103,101,102.5,1200\n"
    "AAA,2020-01-07,102.5,104,102,103.5,1300\n"
)


def sessions(start: str, end: str) -> pd.DatetimeIndex:
    return exchange_calendars.get_calendar("XNYS").sessions_in_range(start, end)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A fresh working directory, no ALPHAGATE__ variables, and wide consoles.

    The consoles are widened so tables and messages are never folded at
    whitespace in the middle of what a test looks for.
    """
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(
        cli_module, "console", Console(width=400, force_terminal=False, color_system=None)
    )
    monkeypatch.setattr(
        cli_module,
        "error_console",
        Console(stderr=True, width=400, force_terminal=False, color_system=None),
    )


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    settings = {
        "data": {
            "dir": str(tmp_path / "data"),
            "synthetic": {"symbols": list(SYMBOLS), "start": START, "end": END},
        },
        "storage": {"database_url": f"sqlite:///{tmp_path / 'state.db'}"},
    }
    path = tmp_path / "test.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def invoke(config_file: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config_file), *args])


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[object, str, str]:
    """Run the console script's ``main()`` as ``alphagate ARGS``; return (code, out, err)."""
    monkeypatch.setattr(sys, "argv", ["alphagate", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def query_json(config_file: Path, sql: str) -> list[dict[str, Any]]:
    result = invoke(config_file, "data", "query", sql, "--format", "json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def ingest_synthetic(config_file: Path) -> Result:
    result = invoke(config_file, "data", "ingest", "--source", "synthetic")
    assert result.exit_code == 0, result.output
    return result


def table_rows(output: str) -> list[list[str]]:
    """The body cells of rich tables in ``output``."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in output.splitlines()
        if line.strip().startswith("│")
    ]


def assert_no_traceback(*streams: str) -> None:
    for stream in streams:
        assert "Traceback" not in stream


# ----------------------------------------------------------------------- ingest


def test_synthetic_ingest_stores_every_session_for_both_symbols(config_file: Path) -> None:
    expected_rows = len(sessions(START, END))

    ingest_synthetic(config_file)
    listed = invoke(config_file, "data", "list")

    assert listed.exit_code == 0, listed.output
    rows = {cells[0]: cells for cells in table_rows(listed.stdout)}
    assert set(rows) == set(SYMBOLS)
    for symbol in SYMBOLS:
        assert rows[symbol][1] == "1d"
        assert rows[symbol][-1].replace(",", "") == str(expected_rows)


def test_re_running_the_same_ingest_adds_no_rows(config_file: Path) -> None:
    expected = len(SYMBOLS) * len(sessions(START, END))
    ingest_synthetic(config_file)
    first = query_json(config_file, "select count(*) as n from bars")

    ingest_synthetic(config_file)
    second = query_json(config_file, "select count(*) as n from bars")

    assert first == [{"n": expected}]
    assert second == [{"n": expected}]


def test_csv_ingest_with_high_below_low_stores_nothing_and_names_row_and_rule(
    tmp_path: Path,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "symbol,ts,open,high,low,close,volume\n"
        "AAA,2020-01-02,100,101,99,100.5,1000\n"
        "AAA,2020-01-03,100,99,101,100,1000\n"  # data row 2: high < low
        "AAA,2020-01-06,101.5,103,101,102.5,1200\n"
        "BBB,2020-01-02,50,51,49,50.5,500\n"  # a clean symbol: must not be stored either
        "BBB,2020-01-03,50.5,52,50,51.5,600\n",
        encoding="utf-8",
    )

    code, out, err = run_main(
        monkeypatch,
        capsys,
        "--config",
        str(config_file),
        "data",
        "ingest",
        "--source",
        "csv",
        "--path",
        str(bad),
    )

    assert code == 1
    assert "ohlc_consistent" in err
    assert re.search(r"\brow 2\b", err)
    assert "ohlc_consistent" in out  # the quality report on stdout
    assert_no_traceback(out, err)
    assert list(tmp_path.rglob("*bars.parquet*")) == []


# --------------------------------------------------------------------- validate


def test_validate_exits_zero_on_a_clean_csv(tmp_path: Path, config_file: Path) -> None:
    clean = tmp_path / "clean.csv"
    clean.write_text(CLEAN_CSV, encoding="utf-8")

    result = invoke(config_file, "data", "validate", str(clean))

    assert result.exit_code == 0, result.output
    assert "clean" in result.stdout
    assert list(tmp_path.rglob("*bars.parquet*")) == []  # validate stores nothing


def test_validate_exits_one_naming_the_row_and_rule_of_a_negative_price(
    tmp_path: Path,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dirty = tmp_path / "dirty.csv"
    dirty.write_text(
        "symbol,ts,open,high,low,close,volume\n"
        "AAA,2020-01-02,100,101,99,100.5,1000\n"
        "AAA,2020-01-03,100.5,102,100,101.5,1100\n"
        "AAA,2020-01-06,101.5,103,-1,102.5,1200\n"  # data row 3: negative low
        "AAA,2020-01-07,102.5,104,102,103.5,1300\n",
        encoding="utf-8",
    )

    code, out, err = run_main(
        monkeypatch, capsys, "--config", str(config_file), "data", "validate", str(dirty)
    )

    assert code == 1
    assert "price_positive" in out
    assert re.search(r"\brow 3\b", out)
    assert_no_traceback(out, err)


# ------------------------------------------------------------------------- show


def test_show_prints_only_bars_within_the_date_range(config_file: Path) -> None:
    ingest_synthetic(config_file)
    in_range = sessions("2019-02-01", "2019-02-28")

    result = invoke(
        config_file,
        "data",
        "show",
        SYMBOLS[0],
        "--start",
        "2019-02-01",
        "--end",
        "2019-02-28",
        "--rows",
        "0",
    )

    assert result.exit_code == 0, result.output
    assert f"{SYMBOLS[0]} 1d: {len(in_range)} bars" in result.stdout
    for inside in ("2019-02-01", "2019-02-15", "2019-02-28"):  # both ends are inclusive
        assert inside in result.stdout
    for outside in ("2019-01-31", "2019-03-01"):
        assert outside not in result.stdout


# ------------------------------------------------------------------------ query


def test_query_with_invalid_sql_exits_one_with_a_message_and_no_traceback(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest_synthetic(config_file)

    code, out, err = run_main(
        monkeypatch,
        capsys,
        "--config",
        str(config_file),
        "data",
        "query",
        "selec count(*) from bars",
    )

    assert code == 1
    assert "error" in err.lower()
    assert "syntax error" in err.lower()
    assert_no_traceback(out, err)


def test_a_misspelt_config_key_exits_one_with_the_suggestion_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "typo.yaml"
    typo.write_text("data:\n  qualty:\n    gaps: warn\n", encoding="utf-8")

    code, out, err = run_main(monkeypatch, capsys, "--config", str(typo), "config", "show")

    assert code == 1
    assert "did you mean 'data.quality'" in err
    assert out == ""
    assert_no_traceback(out, err)


# ----------------------------------------------------------------------- config


def test_config_show_masks_the_secret_from_the_environment(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALPHAGATE__STORAGE__DATABASE_PASSWORD", SECRET)

    result = invoke(config_file, "config", "show")

    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert "database_url" in result.stdout
    assert str(tmp_path / "state.db") in result.stdout


def test_config_show_prints_yaml_that_reads_back_when_stdout_is_a_pipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Piped output has no terminal width: rich falls back to 80 columns. The YAML
    # must still be valid and carry every value whole, however long.
    monkeypatch.setattr(cli_module, "console", Console(width=80, force_terminal=False))
    url = "sqlite:///" + "/".join(["a-rather-long-directory-name"] * 5) + "/state.db"
    config = tmp_path / "long.yaml"
    config.write_text(yaml.safe_dump({"storage": {"database_url": url}}), encoding="utf-8")

    result = invoke(config, "config", "show")

    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["storage"]["database_url"] == url


def test_config_hash_prints_twelve_hex_characters_that_follow_the_config(
    config_file: Path, tmp_path: Path
) -> None:
    changed = tmp_path / "changed.yaml"
    changed.write_text("logging:\n  level: DEBUG\n", encoding="utf-8")

    first = invoke(config_file, "config", "hash")
    again = invoke(config_file, "config", "hash")
    layered = invoke(config_file, "--config", str(changed), "config", "hash")

    for result in (first, again, layered):
        assert result.exit_code == 0, result.output
        assert re.fullmatch(r"[0-9a-f]{12}", result.stdout.strip())
    assert again.stdout == first.stdout
    assert layered.stdout != first.stdout


# --------------------------------------------------------------------- resample


def test_weekly_resample_keeps_each_symbols_total_volume(config_file: Path) -> None:
    ingest_synthetic(config_file)
    weeks = sessions(START, END).isocalendar()
    expected_weeks = len(weeks.groupby(["year", "week"]).size())

    result = invoke(config_file, "data", "resample", "--from", "1d", "--to", "1w")

    assert result.exit_code == 0, result.output
    totals = query_json(
        config_file,
        "select symbol, timeframe, count(*) as n, sum(volume) as volume "
        "from bars group by symbol, timeframe",
    )
    by_key = {(row["symbol"], row["timeframe"]): row for row in totals}
    assert {timeframe for _, timeframe in by_key} == {"1d", "1w"}
    for symbol in SYMBOLS:
        daily, weekly = by_key[(symbol, "1d")], by_key[(symbol, "1w")]
        assert weekly["n"] == expected_weeks
        assert weekly["volume"] == pytest.approx(daily["volume"], rel=1e-12)


# ---------------------------------------------------------------------- version


def test_version_option_prints_the_installed_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])

    assert result.exit_code == 0
    assert result.stdout.strip() == f"alphagate {alphagate.__version__}"
    assert alphagate.__version__ != "0.0.0+unknown"
