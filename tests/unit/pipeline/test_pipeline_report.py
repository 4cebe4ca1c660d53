"""Tests for the pipeline run's ``report.html``: read back from a hand-made run directory.

The run directory holds what each stage writes (small, hand-written numbers),
and the page is read back with the standard library's HTML parser (the
``read_page`` fixture), so every expected cell below is written out from
those inputs, not taken from the code under test.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphagate.pipeline.report import render_run_report

HOSTILE_SYMBOL = "<b>X&Y"
DASH = "\u2014"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload), encoding="utf-8")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run of one horizon (5 bars) with every file the report reads."""
    run = tmp_path_factory.mktemp("runs") / "run-1"
    write_json(
        run / "validate" / "validation_report.json",
        {
            "verdict": "fail",
            "checks": [
                {"name": "sharpe", "value": 0.75, "comparison": ">=", "threshold": 1.0,
                 "passed": False, "detail": "out of sample"},
                {"name": "trades", "value": 1234, "comparison": ">=", "threshold": 30,
                 "passed": True, "detail": "backtest"},
                {"name": "stress", "value": None, "comparison": ">=", "threshold": 0.5,
                 "passed": None, "detail": "<i>no stress run</i>"},
            ],
        },
    )  # fmt: skip
    write_json(
        run / "data" / "coverage.json",
        {
            "AAA": {"first": "2020-01-02", "last": "2023-12-29", "rows": 1006},
            HOSTILE_SYMBOL: {"first": "2021-01-04", "last": "2023-12-29", "rows": 753},
        },
    )
    write_json(run / "calibrate" / "choice.json", {"h5": {"method": "sigmoid"}})
    write_json(run / "calibrate" / "h5" / "evaluation.json", {"accuracy": 0.5512, "n": 400})
    write_json(
        run / "calibrate" / "h5" / "calibrator.json",
        {"kind": "sigmoid", "version": 1, "a": 0.8, "b": 0.1},
    )
    write_json(run / "train" / "h5" / "evaluation.json", {"raw": {"accuracy": 0.5398, "n": 400}})
    rng = np.random.default_rng(4)
    p = rng.uniform(size=300)
    pd.DataFrame({"p_raw": p, "y": (rng.uniform(size=300) < p).astype(int)}).to_parquet(
        run / "train" / "h5" / "holdout_predictions.parquet"
    )
    pd.DataFrame({"feature": ["rsi_14", "a<b"], "importance": [0.75, 0.25]}).to_csv(
        run / "train" / "h5" / "feature_importances.csv", index=False
    )
    stamps = pd.date_range("2023-01-02", periods=50, freq="D", tz="UTC")
    (run / "backtest").mkdir()
    for name, start in (("equity.csv", 10_000.0), ("benchmark_equity.csv", 400.0)):
        values = start * np.cumprod(1.0 + rng.normal(0.0, 0.01, 50))
        pd.DataFrame({"ts": stamps, "equity": values}).to_csv(run / "backtest" / name, index=False)
    write_json(
        run / "backtest" / "metrics.json",
        {"sharpe": 0.75, "max_drawdown": -0.1234, "trades": 1234, "alpha": None},
    )
    write_json(
        run / "backtest" / "model_backtest.json",
        {"first_bar": "2023-01-02", "fill_model": "next_open", "commission_bps": 1.5,
         "decisions": 50, "risk_events": 0},
    )  # fmt: skip
    for number, stage in enumerate(("data", "train")):
        write_json(
            run / stage / "manifest.json",
            {"stage": stage, "code_version": "abc", "config_hash": "cfg", "seed": 7,
             "wall_seconds": 1.5 + number, "peak_memory_mib": 2048.0,
             "started_utc": f"2024-01-0{number + 1}", "finished_utc": f"2024-01-0{number + 1}"},
        )  # fmt: skip
    render_run_report(run, run / "report" / "report.html")
    return run


@pytest.fixture(scope="module")
def page(run_dir: Path, read_page: Callable[[str], Any]) -> Any:
    return read_page((run_dir / "report" / "report.html").read_text(encoding="utf-8"))


def test_the_page_is_well_formed_self_contained_and_runs_no_script(page: Any) -> None:
    page.assert_self_contained()
    assert page.scripts == []  # PNG charts only: no Plotly bundle to carry
    assert page.title == "alphagate run run-1"


def test_every_section_is_there_in_the_order_a_reader_asks(page: Any) -> None:
    assert page.sections == [
        "validation", "data", "model-quality", "calibration", "importances", "backtest",
        "provenance",
    ]  # fmt: skip


def test_every_check_is_listed_with_its_result(page: Any) -> None:
    assert page.table("checks").texts == [
        ["check", "value", "must be", "result", "measured on"],
        ["sharpe", "0.75", ">= 1", "fail", "out of sample"],
        ["trades", "1,234", ">= 30", "pass", "backtest"],
        ["stress", DASH, ">= 0.5", "missing", "<i>no stress run</i>"],
    ]
    assert page.tags["i"] == 0


def test_coverage_escapes_a_symbol_and_reads_back_as_written(page: Any) -> None:
    assert page.table("coverage").texts == [
        ["symbol", "first bar", "last bar", "bars"],
        ["AAA", "2020-01-02", "2023-12-29", "1,006"],
        [HOSTILE_SYMBOL, "2021-01-04", "2023-12-29", "753"],
    ]
    assert page.tags["b"] == 0


def test_model_quality_importances_and_backtest_show_the_stages_numbers(page: Any) -> None:
    assert page.table("model-h5").texts == [
        ["metric", "raw", "calibrated"],
        ["accuracy", "0.5398", "0.5512"],
        ["n", "400", "400"],
    ]
    assert page.table("importances-h5").texts == [
        ["feature", "importance"],
        ["rsi_14", "0.75"],
        ["a<b", "0.25"],
    ]
    assert page.table("backtest").texts == [
        ["metric", "value"],
        ["sharpe", "0.75"],
        ["max_drawdown", "-0.1234"],
        ["trades", "1,234"],
        ["alpha", DASH],
    ]
    assert page.table("provenance").texts[1:] == [
        ["data", "abc", "cfg", "7", "1.5", "2,048", "2024-01-01"],
        ["train", "abc", "cfg", "7", "2.5", "2,048", "2024-01-02"],
    ]


def test_the_charts_are_pngs_inside_the_page(page: Any) -> None:
    assert [image["alt"] for image in page.images] == [
        "reliability, horizon 5",
        "equity and drawdown",
    ]
    for image in page.images:
        prefix = "data:image/png;base64,"
        assert image["src"].startswith(prefix)
        assert base64.b64decode(image["src"][len(prefix) :]).startswith(PNG_MAGIC)
