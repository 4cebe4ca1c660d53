"""`alphagate sweep` as a user runs it: the heat-map page, the table, and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from alphagate.cli.root import cli


def test_a_sweep_writes_its_table_summary_and_heat_map(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(config),
            "sweep",
            "--grid",
            "fast=5:25:10,slow=10:50:20",
            "--output",
            str(out),
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sweep.csv", keep_default_na=False)
    assert len(table) == 9 and list(table.columns[:2]) == ["fast", "slow"]
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["points"] == 9 and summary["best"]["sharpe"] == max(
        float(v) for v, e in zip(table["sharpe"], table["error"], strict=True) if not e
    )
    assert len(summary["failures"]) == sum(
        1 for f, s in zip(table["fast"], table["slow"], strict=True) if f >= s
    )
    page = (out / "sweep.html").read_text()
    figure = page[page.index('id="sweep-heatmap"') :]
    assert '"type":"heatmap"' in figure.replace(" ", "")
    assert "refused by the strategy" in result.output


def test_an_unknown_metric_is_refused_with_the_choices(config: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(config),
            "sweep",
            "--grid",
            "fast=5|10",
            "--output",
            str(tmp_path / "s"),
            "--metric",
            "alpha",
        ],
    )
    assert result.exit_code != 0
    assert "--metric must be one of" in result.output + str(result.exception)
