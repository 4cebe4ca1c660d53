"""``alphagate kill-switch``, driven as an operator drives it (RELIABILITY SE-09, CR-13).

Errors go through ``main()``, the console script's entry point, where a
refused reset or an unreadable state becomes one line on stderr and exit 1.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner, Result

from alphagate.cli import root as cli_module
from alphagate.cli.root import cli, main
from alphagate.risk.kill_switch import KillSwitch


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A fresh working directory, no ALPHAGATE__ variables, and wide consoles."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    wide = {"width": 400, "force_terminal": False, "color_system": None}
    monkeypatch.setattr(cli_module, "console", Console(**wide))  # type: ignore[arg-type]
    monkeypatch.setattr(cli_module, "error_console", Console(stderr=True, **wide))  # type: ignore[arg-type]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    settings = {
        "risk": {
            "kill_switch_state": str(tmp_path / "state" / "ks.json"),
            "kill_switch_file": str(tmp_path / "STOP"),
        }
    }
    path = tmp_path / "test.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def invoke(config_file: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config_file), "kill-switch", *args])


def run_main(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    config_file: Path,
    *args: str,
) -> tuple[object, str, str]:
    monkeypatch.setattr(
        sys, "argv", ["alphagate", "--config", str(config_file), "kill-switch", *args]
    )
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def status_json(config_file: Path) -> dict[str, object]:
    result = invoke(config_file, "status", "--json")
    assert result.exit_code == 0, result.output
    loaded: dict[str, object] = json.loads(result.stdout)
    return loaded


def test_a_fresh_switch_is_not_tripped_and_has_no_history(config_file: Path) -> None:
    result = invoke(config_file, "status")

    assert result.exit_code == 0, result.output
    assert "kill switch: not tripped" in result.stdout
    assert "history: none" in result.stdout
    assert status_json(config_file)["tripped"] is False


def test_trip_then_status_shows_it_with_reason_and_since(config_file: Path, tmp_path: Path) -> None:
    tripped = invoke(config_file, "trip", "--reason", "feed [lost]", "--by", "alice")

    assert tripped.exit_code == 0, tripped.output
    assert "tripped by alice: feed [lost]" in tripped.stdout
    shown = invoke(config_file, "status")
    assert "TRIPPED" in shown.stdout
    assert "reason: feed [lost]" in shown.stdout  # brackets survive: not read as markup
    assert "since: " in shown.stdout
    state = status_json(config_file)
    assert state["tripped"] is True and state["reason"] == "feed [lost]"
    # The engine reads the same file: it would start halted (CR-13).
    assert KillSwitch(tmp_path / "state" / "ks.json").is_tripped()


def test_tripping_twice_keeps_the_first_reason_and_records_both(config_file: Path) -> None:
    invoke(config_file, "trip", "--reason", "first", "--by", "alice")
    again = invoke(config_file, "trip", "--reason", "second", "--by", "bob")

    assert again.exit_code == 0, again.output
    assert "already tripped" in again.stdout
    state = status_json(config_file)
    assert state["reason"] == "first"
    history = state["history"]
    assert isinstance(history, list)
    assert [h["reason"] for h in history] == [
        "tripped by alice: first",
        "tripped by bob: second",
    ]


def test_a_reset_without_by_is_refused_with_how_to_do_it(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke(config_file, "trip", "--reason", "drill", "--by", "alice")

    code, out, err = run_main(monkeypatch, capsys, config_file, "reset", "--reason", "done")

    assert code == 1
    assert "needs --by NAME" in err
    assert "alphagate kill-switch reset --reason" in err  # the message shows the fix
    assert "Traceback" not in err + out
    assert status_json(config_file)["tripped"] is True


def test_a_reset_without_a_reason_is_refused_too(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke(config_file, "trip", "--reason", "drill", "--by", "alice")

    code, _, err = run_main(monkeypatch, capsys, config_file, "reset", "--by", "bob")

    assert code == 1
    assert "needs --reason TEXT" in err
    assert status_json(config_file)["tripped"] is True


def test_a_reset_with_reason_and_name_clears_the_switch_and_is_recorded(
    config_file: Path,
) -> None:
    invoke(config_file, "trip", "--reason", "drill", "--by", "alice")

    reset = invoke(config_file, "reset", "--reason", "drill over", "--by", "bob")

    assert reset.exit_code == 0, reset.output
    assert "reset by bob: drill over" in reset.stdout
    state = status_json(config_file)
    assert state["tripped"] is False and state["since"] is None
    history = state["history"]
    assert isinstance(history, list)
    last = history[-1]
    assert last["data"]["action"] == "reset"
    assert last["data"]["actor"] == "bob"
    assert last["data"]["was_tripped_for"] == "drill"
    shown = invoke(config_file, "status")
    assert "reset by bob: drill over" in shown.stdout


def test_the_trigger_file_trips_it_and_blocks_a_reset_until_removed(
    config_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "STOP").touch()

    state = status_json(config_file)
    code, _, err = run_main(monkeypatch, capsys, config_file, "reset", "--reason", "x", "--by", "b")

    assert state["tripped"] is True and state["trigger_present"] is True
    assert code == 1
    assert "remove the trigger file" in err


def test_a_corrupt_state_file_fails_closed_naming_the_file(
    config_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = tmp_path / "state" / "ks.json"
    state.parent.mkdir()
    state.write_text('{"reason": null, "hist', encoding="utf-8")

    code, out, err = run_main(monkeypatch, capsys, config_file, "status")

    assert code == 1
    assert str(state) in err and "refusing to start un-halted" in err
    assert "not tripped" not in out
    assert "Traceback" not in err + out


def test_the_default_state_file_lives_under_state_in_the_working_directory(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(cli, ["kill-switch", "trip", "--reason", "r", "--by", "a"])

    assert result.exit_code == 0, result.output
    assert KillSwitch(tmp_path / "state" / "kill_switch.json").is_tripped()
