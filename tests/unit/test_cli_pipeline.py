"""``alphagate pipeline``: wrong requests end in one line and exit 1, before any stage runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from alphagate.cli import root as cli_module
from alphagate.cli.root import main


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(cli_module, "console", Console(width=400, color_system=None))
    monkeypatch.setattr(
        cli_module, "error_console", Console(stderr=True, width=400, color_system=None)
    )


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "test.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "data": {"dir": str(tmp_path / "data")},
                "pipeline": {"runs_dir": str(tmp_path / "runs")},
                "storage": {"database_url": f"sqlite:///{tmp_path / 'state.db'}"},
            }
        ),
        encoding="utf-8",
    )
    return path


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[object, str, str]:
    monkeypatch.setattr(sys, "argv", ["alphagate", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stage", "train"], "cannot run stage 'train': its input stage 'data' is not complete"),
        (["--stage", "data", "--from-stage", "train"], "either --stage or --from-stage"),
        (["--from-stage", "trian"], "unknown stage 'trian' for --from-stage; stages: data, "),
        (["--run-id", "a/b"], "must be a plain folder name"),
        (["--start", "someday"], "'someday' is not a date or timestamp"),
    ],
)
def test_a_wrong_run_request_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    config_file: Path,
    args: list[str],
    message: str,
) -> None:
    code, out, err = run_main(
        monkeypatch, capsys, "pipeline", "run", "--config", str(config_file), *args
    )

    assert code == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err
    assert not list((config_file.parent / "runs").glob("*/data"))


def test_status_of_an_unknown_run_names_the_runs_that_exist(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], config_file: Path
) -> None:
    code, _, err = run_main(
        monkeypatch, capsys, "--config", str(config_file), "pipeline", "status", "--run-id", "nope"
    )

    assert code == 1
    assert "no pipeline run 'nope'" in err
    assert "none (run `alphagate pipeline run` first)" in err


def test_the_pipeline_commands_are_registered_on_the_main_app(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_main(monkeypatch, capsys, "pipeline", "run", "--help")

    assert code == 0
    for option in ("--stage", "--from-stage", "--symbols", "--start", "--end", "--run-id"):
        assert option in out
