"""``alphagate live`` refuses to start unless every safety check passes (RELIABILITY SE-04).

Each refusal exits non-zero with one line that says what to do, and a
credential's value never appears in what is printed, only its name.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from alphagate.cli.root import main
from alphagate.risk.kill_switch import KillSwitch

SECRET = "AKSENTINEL0123456789"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("ALPHAGATE", "APCA_")):
            monkeypatch.delenv(name)


def live(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["alphagate", "live", "--run", "r1", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    out, err = capsys.readouterr()
    code = exit_.value.code
    return (code if isinstance(code, int) else 1), out + err


def test_without_confirm_nothing_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = live(monkeypatch, capsys, "--venue", "alpaca")
    assert code != 0
    assert "--confirm" in text and "YES I AM SURE" in text


def test_a_non_interactive_start_without_the_phrase_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = live(monkeypatch, capsys, "--venue", "alpaca", "--confirm")
    assert code != 0
    assert "ALPHAGATE_LIVE_CONFIRM" in text


def test_a_wrong_phrase_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALPHAGATE_LIVE_CONFIRM", "yes")
    code, text = live(monkeypatch, capsys, "--venue", "alpaca", "--confirm")
    assert code != 0 and "was not 'YES I AM SURE'" in text


def test_missing_credentials_are_named_and_a_present_secret_never_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALPHAGATE_LIVE_CONFIRM", "YES I AM SURE")
    monkeypatch.setenv("APCA_API_KEY_ID", SECRET)
    code, text = live(monkeypatch, capsys, "--venue", "alpaca", "--confirm")
    assert code != 0
    assert "APCA_API_SECRET_KEY" in text
    assert SECRET not in text


def test_with_every_check_passed_it_still_sends_nothing_without_an_adapter(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALPHAGATE_LIVE_CONFIRM", "YES I AM SURE")
    for name in ("ALPHAGATE_OKX_API_KEY", "ALPHAGATE_OKX_SECRET", "ALPHAGATE_OKX_PASSWORD"):
        monkeypatch.setenv(name, SECRET)
    code, text = live(monkeypatch, capsys, "--venue", "okx", "--confirm")
    assert code != 0
    assert "no live adapter" in text and "nothing was sent" in text
    assert SECRET not in text


def test_a_tripped_kill_switch_refuses_before_anything_else(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = tmp_path / "ks.json"
    KillSwitch(state).trip("drill", "ops", pd.Timestamp("2026-01-01", tz="UTC"))
    monkeypatch.setenv("ALPHAGATE_LIVE_CONFIRM", "YES I AM SURE")
    code, text = live(
        monkeypatch, capsys, "--venue", "alpaca", "--confirm",
        "--set", f"risk.kill_switch_state={state}",
    )  # fmt: skip
    assert code != 0
    assert "kill switch is tripped (drill)" in text


def test_an_unknown_venue_lists_the_known_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = live(monkeypatch, capsys, "--venue", "alpacca", "--confirm")
    assert code != 0 and "alpaca, binance, okx" in text
