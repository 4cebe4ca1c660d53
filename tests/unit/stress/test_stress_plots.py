"""What the scenarios CLI shows and draws."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from alphagate.stress.plots import describe, plot
from alphagate.stress.scenarios import build, default_library


def test_describe_is_json_and_says_what_a_family_reads() -> None:
    specs = default_library(10)
    described = [describe(s) for s in specs]
    json.dumps(described)
    bootstrap = described[0]
    assert bootstrap["name"] == "bootstrap-0000" and "train_end" in bootstrap["reads"]
    assert described[3]["params"] == dict(specs[3].params)


def test_plot_writes_a_png(tmp_path: Path, history: pd.DataFrame, train_end: pd.Timestamp) -> None:
    spec = next(s for s in default_library(10) if s.family == "crash")
    scenario = build(spec, history, train_end=train_end)
    path = plot(scenario, tmp_path / "out" / "crash.png", original=history)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
