"""`alphagate stress run` as a user runs it, with the generator replaced by a stand-in."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import yaml
from fake_scenarios import FakeSpec, fake_build
from typer.testing import CliRunner

from alphagate.app import stress as stress_app
from alphagate.cli.root import cli


def fake_library(
    n: int = 200, *, seed: int = 0, families: Sequence[str] | None = None
) -> list[FakeSpec]:
    names = ("drift", "crash")
    return [
        FakeSpec(
            f"{names[i % 2]}-{i}", names[i % 2], seed + i, {"drift": 1e-4, "depth": 0.1 * (i % 2)}
        )
        for i in range(n)
        if families is None or names[i % 2] in families
    ]


def fake_drawdowns(trades: Sequence[float], *, seed: int, runs: int = 1000) -> Mapping[str, float]:
    return {"p50": 0.1, "p95": 0.2}


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ALPHAGATE__"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(
        stress_app,
        "default_generator",
        lambda: stress_app.Generator(fake_build, fake_library, fake_drawdowns),
    )
    settings = {
        "data": {
            "dir": str(tmp_path / "data"),
            "synthetic": {"symbols": ["AAA", "BBB"], "start": "2016-01-04", "end": "2017-12-29"},
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


def test_stress_run_writes_the_summary_and_report_and_prints_the_gate(
    config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "s"
    args = [
        "--config",
        str(config),
        "stress",
        "run",
        "--strategy",
        "sma_cross",
        "--params",
        "fast=5,slow=20",
    ]
    result = CliRunner().invoke(
        cli, [*args, "--scenarios", "6", "--workers", "1", "--output", str(out)]
    )

    assert result.exit_code in (0, 1), result.output  # 1 is a failed gate, not a crash
    summary = json.loads((out / "stress_summary.json").read_text(encoding="utf-8"))
    assert summary["statistics"]["scenarios"] == 6
    assert sorted(summary["families"]) == ["crash", "drift"]
    assert summary["candidate"]["strategy"] == "sma_cross"
    assert (out / "stress_report.html").exists()
    assert "stress gate:" in result.output
    assert (result.exit_code == 0) == summary["gate"]["passed"]


def test_stress_run_needs_exactly_one_candidate(config: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config), "stress", "run"])

    assert result.exit_code != 0
    assert "--run RUN_ID or --strategy NAME" in result.output
