"""Fixtures shared by the unit tests of the command line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from alphagate.cli.root import cli


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace (the current folder) with a config of one synthetic symbol, ingested."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    settings = {
        "data": {
            "dir": str(tmp_path / "data"),
            "synthetic": {"symbols": ["AAA"], "start": "2015-01-02", "end": "2017-12-29"},
        },
        "storage": {"database_url": f"sqlite:///{tmp_path / 'state.db'}"},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["--config", str(path), "data", "ingest", "--source", "synthetic"]
    )
    assert result.exit_code == 0, result.output
    return path
