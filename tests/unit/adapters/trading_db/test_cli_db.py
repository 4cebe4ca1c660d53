"""``alphagate db upgrade`` and ``db current``, run as a user runs them, passwords never shown.

The password tests put a recognisable secret into the URL (or the
environment) and grep everything the command printed, and every error's
text, for it: the only acceptable form is the masked ``***``.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from rich.console import Console
from sqlalchemy.engine import make_url

from alphagate.adapters.trading_db import TradingDatabaseError, TradingStore, head_revision
from alphagate.cli import root as cli_module
from alphagate.cli.root import main

if TYPE_CHECKING:
    from alphagate.testing.servers import PostgresServer

SECRET = "Pw-7f3a9c1e-not-for-eyes"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A fresh working directory, no ALPHAGATE__ variables, and consoles that never wrap."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(cli_module, "console", Console(width=400, color_system=None))
    monkeypatch.setattr(
        cli_module, "error_console", Console(stderr=True, width=400, color_system=None)
    )


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[object, str, str]:
    """Run ``alphagate ARGS`` through the console script's ``main()``; return (code, out, err)."""
    monkeypatch.setattr(sys, "argv", ["alphagate", *args])
    code: object = 0
    try:
        main()
    except SystemExit as exited:
        code = exited.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once the probe closes


def test_upgrade_twice_migrates_once_and_current_reports_head(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = run_main(monkeypatch, capsys, "db", "current", "--url", database_url)
    first = run_main(monkeypatch, capsys, "db", "upgrade", "--url", database_url)
    second = run_main(monkeypatch, capsys, "db", "upgrade", "--url", database_url)
    after = run_main(monkeypatch, capsys, "db", "current", "--url", database_url)

    assert before[0] == 0 and "not migrated" in before[1] and "alphagate db upgrade" in before[1]
    head = head_revision()  # the newest migration, whichever number it has
    assert first[0] == 0 and f"upgraded from empty to {head} (head)" in first[1]
    assert second[0] == 0 and f"already at revision {head} (head)" in second[1]
    assert after[0] == 0 and f"revision {head} (head)" in after[1]


def test_current_does_not_create_a_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "none" / "trading.db"

    code, out, _ = run_main(monkeypatch, capsys, "db", "current", "--url", f"sqlite:///{path}")

    assert code == 0 and "not migrated" in out
    assert not path.exists()


def test_upgrade_without_url_migrates_the_configured_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "state" / "trading.db"
    config = tmp_path / "test.yaml"
    config.write_text(
        yaml.safe_dump({"storage": {"trading_database_url": f"sqlite:///{path}"}}), "utf-8"
    )

    code, out, _ = run_main(monkeypatch, capsys, "--config", str(config), "db", "upgrade")

    assert code == 0 and str(path) in out
    with TradingStore.open(f"sqlite:///{path}", migrate=False) as store:
        assert store.orders("any") == []  # the tables exist


def test_a_password_in_the_url_is_masked_in_what_a_working_upgrade_prints(
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database = postgres_server.create_database()
    # The test server trusts loopback, so any password connects.
    url = make_url(database).set(password=SECRET).render_as_string(hide_password=False)
    try:
        code, out, err = run_main(monkeypatch, capsys, "db", "upgrade", "--url", url)
    finally:
        postgres_server.drop_database(database)

    assert code == 0, err
    assert SECRET not in out + err
    assert ":***@" in out


@pytest.mark.parametrize("command", ["upgrade", "current"])
def test_a_password_never_appears_when_the_server_cannot_be_reached(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql+psycopg://trader:{SECRET}@127.0.0.1:{closed_port()}/trading"

    code, out, err = run_main(monkeypatch, capsys, "db", command, "--url", url)

    assert code == 1
    assert SECRET not in out + err
    assert "trader:***@127.0.0.1" in err and "Traceback" not in err


def test_a_password_from_the_environment_is_used_and_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALPHAGATE__STORAGE__DATABASE_PASSWORD", SECRET)
    url = f"postgresql://trader@127.0.0.1:{closed_port()}/trading"

    code, out, err = run_main(monkeypatch, capsys, "db", "upgrade", "--url", url)

    assert code == 1
    assert SECRET not in out + err
    assert "postgresql+psycopg://trader:***@" in err  # set from the environment, then masked


def test_a_url_that_does_not_parse_is_not_echoed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(monkeypatch, capsys, "db", "upgrade", "--url", f"::{SECRET}::")

    assert code == 1
    assert SECRET not in out + err
    assert "not a SQLAlchemy URL" in err


def test_the_store_error_text_itself_is_masked() -> None:
    url = f"postgresql+psycopg://trader:{SECRET}@127.0.0.1:{closed_port()}/trading"

    with pytest.raises(TradingDatabaseError) as raised:
        TradingStore.open(url)

    assert SECRET not in str(raised.value) and SECRET not in repr(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
