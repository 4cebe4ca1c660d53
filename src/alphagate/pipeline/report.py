"""One self-contained HTML page per pipeline run: is this model worth anything?

It reads only what the stages wrote under ``runs/<run_id>/`` (never recomputes
a number the stages judged by), so the page and ``validation_report.json``
cannot disagree. Order follows the question a user asks: the verdict and
every check first, then the evidence (data, out-of-sample model quality,
calibration, what the model looked at, the backtest against buy-and-hold),
then provenance. The page is built with :mod:`alphagate.html_report`: charts
are PNGs embedded as data URIs and the style is inline, so the file opens
anywhere, offline, and can be mailed as is; every string read from the run
is escaped.
"""

from __future__ import annotations

import html
import io
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from alphagate.html_report import Cell, Column, Page, format_number, image, table
from alphagate.models.calibration import calibrator_from_dict
from alphagate.models.calibration_metrics import plot_reliability_diagram
from alphagate.runs.json_files import read_json_or_none
from alphagate.runs.layout import CALIBRATOR, EVALUATION, HOLDOUT, horizon_folders, horizon_name

_CSS = """
.pass { color: #17663a; font-weight: 600; } .fail { color: #b3261e; font-weight: 600; }
.missing { color: #8a6d00; font-weight: 600; }
.verdict { font-size: 1.3rem; padding: 0.5rem 1rem; display: inline-block; border-radius: 4px;
           background: #f5f7fa; }
"""
_MODEL_METRICS = (
    "accuracy", "roc_auc", "log_loss", "brier", "ece_uniform", "mce_uniform", "ic",
    "precision", "recall", "f1", "strategy_sharpe", "strategy_max_drawdown", "n",
)  # fmt: skip
_BACKTEST_METRICS = (
    "total_return", "cagr", "annual_volatility", "sharpe", "sortino", "max_drawdown",
    "calmar", "win_rate", "profit_factor", "trades", "exposure", "turnover", "alpha", "beta",
)  # fmt: skip
_CHECK_COLUMNS = (
    Column("check", text=True),
    Column("value"),
    Column("must be", text=True),
    Column("result", text=True),
    Column("measured on", text=True),
)
_METRIC_VALUE_COLUMNS = (Column("metric", text=True), Column("value"))


def render_run_report(run_dir: Path, path: Path) -> Path:
    """Write the run's report to ``path`` (atomically) and return it."""
    page = Page(f"alphagate run {run_dir.name}", css=_CSS)
    page.add_section(
        "validation", "Validation", _verdict(_json(run_dir / "validate" / "validation_report.json"))
    )
    stress = run_dir / "stress" / "stress_summary.json"
    if stress.is_file():
        page.add_section("stress", "Stress", _stress(_json(stress)))
    page.add_section("data", "Data", _data(run_dir / "data"))
    page.add_section(
        "model-quality",
        "Out-of-sample model quality",
        _model_quality(run_dir / "calibrate", run_dir / "train"),
    )
    page.add_section(
        "calibration",
        "Calibration on the holdout (before and after)",
        _calibration(run_dir / "train", run_dir / "calibrate"),
    )
    page.add_section("importances", "Feature importances (top 15)", _importances(run_dir / "train"))
    page.add_section("backtest", "Backtest against buy-and-hold", _backtest(run_dir / "backtest"))
    page.add_section("provenance", "Provenance", _provenance(run_dir))
    return page.write(path)


def _verdict(report: Mapping[str, Any]) -> str:
    verdict = str(report.get("verdict", "unknown"))
    rows: list[list[str | Cell]] = [
        [
            str(c["name"]),
            _num(c.get("value")),
            f"{c.get('comparison', '')} {_num(c.get('threshold'))}",
            Cell(markup=_status(c.get("passed"))),
            str(c.get("detail", "")),
        ]
        for c in report.get("checks", [])
    ]
    return (
        f"<p class='verdict'>verdict: <span class='{_verdict_class(verdict)}'>"
        f"{html.escape(verdict)}</span></p><p class='note'>Every check is shown; a check whose "
        "input is absent is <span class='missing'>missing</span>, never passed.</p>\n"
        + table(_CHECK_COLUMNS, rows, css_class="checks")
    )


def _stress(summary: Mapping[str, Any]) -> str:
    """The stress gate beside the validation verdict; the distributions are in its own page."""
    gate = summary.get("gate", {})
    verdict = "pass" if gate.get("passed") else "fail"
    rows: list[list[str | Cell]] = [
        [
            str(c["name"]),
            _num(c.get("value")),
            f"{'<=' if c['name'] == 'catastrophic' else '>='} {_num(c.get('threshold'))}",
            Cell(markup=_status(c.get("passed"))),
            "",
        ]
        for c in gate.get("checks", [])
    ]
    scenarios = summary.get("statistics", {}).get("scenarios", 0)
    return (
        f"<p class='verdict'>stress gate: <span class='{_verdict_class(verdict)}'>"
        f"{html.escape(verdict)}</span></p><p class='note'>{scenarios} seeded scenarios; "
        "the distributions and the per-family table are in stress/stress_report.html.</p>\n"
        + table(_CHECK_COLUMNS, rows, css_class="checks")
    )


def _data(stage: Path) -> str:
    coverage = _json(stage / "coverage.json")
    rows = [
        [str(symbol), str(span.get("first", "")), str(span.get("last", "")), _num(span.get("rows"))]
        for symbol, span in coverage.items()
    ]
    columns = (
        Column("symbol", text=True),
        Column("first bar", text=True),
        Column("last bar", text=True),
        Column("bars"),
    )
    return table(columns, rows, css_class="coverage")


def _model_quality(calibrate: Path, train: Path) -> str:
    choice = _json(calibrate / "choice.json")
    columns = (Column("metric", text=True), Column("raw"), Column("calibrated"))
    parts = []
    for horizon, folder in horizon_folders(calibrate).items():
        calibrated = _json(folder / EVALUATION)
        raw = _json(train / horizon_name(horizon) / EVALUATION).get("raw", {})
        rows = [
            [name, _num(raw.get(name)), _num(calibrated.get(name))]
            for name in _MODEL_METRICS
            if name in calibrated
        ]
        method = str(choice.get(horizon_name(horizon), {}).get("method", "?"))
        parts.append(
            f"<h3>horizon {horizon} bars</h3><p class='note'>holdout (out of sample); "
            f"calibrator chosen on out-of-fold predictions: {html.escape(method)}</p>\n"
            + table(columns, rows, css_class=f"model-h{horizon}")
        )
    return "\n".join(parts) or "<p>no horizons</p>"


def _calibration(train: Path, calibrate: Path) -> str:
    parts = []
    for horizon, folder in horizon_folders(train).items():
        holdout = pd.read_parquet(folder / HOLDOUT)
        calibrator = calibrator_from_dict(_json(calibrate / horizon_name(horizon) / CALIBRATOR))
        raw = holdout["p_raw"].to_numpy(np.float64)
        with tempfile.TemporaryDirectory() as scratch:
            png = plot_reliability_diagram(
                raw,
                holdout["y"].to_numpy(),
                Path(scratch) / "reliability.png",
                p_after=calibrator.transform(raw),
            )
            picture = image(png.read_bytes(), f"reliability, horizon {horizon}")
        parts.append(f"<h3>horizon {horizon} bars</h3>{picture}")
    return "\n".join(parts)


def _importances(train: Path) -> str:
    columns = (Column("feature", text=True), Column("importance"))
    parts = []
    for horizon, folder in horizon_folders(train).items():
        path = folder / "feature_importances.csv"
        if not path.is_file():
            continue
        top = pd.read_csv(path).head(15)
        rows = [[str(r.feature), _num(r.importance)] for r in top.itertuples(index=False)]
        parts.append(
            f"<h3>horizon {horizon} bars</h3>"
            + table(columns, rows, css_class=f"importances-h{horizon}")
        )
    return "\n".join(parts) or "<p>the model family records no importances</p>"


def _backtest(stage: Path) -> str:
    metrics = _json(stage / "metrics.json")
    equity = _series(stage / "equity.csv")
    benchmark = _series(stage / "benchmark_equity.csv")
    rows = [[name, _num(metrics.get(name))] for name in _BACKTEST_METRICS if name in metrics]
    chart = image(_equity_png(equity, benchmark), "equity and drawdown") if len(equity) else ""
    summary = _json(stage / "model_backtest.json")
    note = (
        "<p class='note'>Out of sample only, from "
        f"{html.escape(str(summary.get('first_bar', '?')))}; "
        f"fills {html.escape(str(summary.get('fill_model', '?')))}, commission "
        f"{html.escape(_num(summary.get('commission_bps')))} bps; "
        f"{html.escape(_num(summary.get('decisions')))} decisions traced (decisions.parquet), "
        f"{html.escape(_num(summary.get('risk_events')))} risk events. "
        "The full interactive backtest report is <a href='../backtest/report.html'>"
        "backtest/report.html</a>.</p>"
    )
    return note + chart + "\n" + table(_METRIC_VALUE_COLUMNS, rows, css_class="backtest")


def _equity_png(equity: pd.Series, benchmark: pd.Series) -> bytes:
    figure = Figure(figsize=(10, 5.5), dpi=100)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    top.plot(equity.index, equity.to_numpy(), label="model", color="#1f5fa8")
    if len(benchmark):
        scaled = benchmark * (equity.iloc[0] / benchmark.iloc[0])
        top.plot(scaled.index, scaled.to_numpy(), label="buy and hold", color="#999999")
    top.set_ylabel("equity")
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    drawdown = equity / equity.cummax() - 1.0
    bottom.fill_between(drawdown.index, drawdown.to_numpy(), 0.0, color="#b3261e", alpha=0.4)
    bottom.set_ylabel("drawdown")
    bottom.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _provenance(run_dir: Path) -> str:
    rows = []
    manifests = [(_json(path), path) for path in run_dir.glob("*/manifest.json")]
    for manifest, manifest_path in sorted(manifests, key=lambda m: str(m[0].get("started_utc"))):
        rows.append(
            [
                str(manifest.get("stage", manifest_path.parent.name)),
                str(manifest.get("code_version", "")),
                str(manifest.get("config_hash", "")),
                str(manifest.get("seed", "")),
                _num(manifest.get("wall_seconds")),
                _num(manifest.get("peak_memory_mib")),
                str(manifest.get("finished_utc", "")),
            ]
        )
    columns = (
        *(Column(heading, text=True) for heading in ("stage", "code", "config", "seed")),
        Column("seconds"),
        Column("peak MiB"),
        Column("finished (UTC)", text=True),
    )
    return table(columns, rows, css_class="provenance")


def _series(path: Path) -> pd.Series:
    if not path.is_file():
        return pd.Series(dtype="float64")
    frame = pd.read_csv(path)
    return pd.Series(
        frame["equity"].to_numpy(np.float64), index=pd.to_datetime(frame["ts"], utc=True)
    )


def _json(path: Path) -> dict[str, Any]:
    """A stage's JSON file, or nothing: the page shows what exists and dashes for the rest."""
    return read_json_or_none(path) or {}


def _status(passed: object) -> str:
    if passed is True:
        return "<span class='pass'>pass</span>"
    if passed is False:
        return "<span class='fail'>fail</span>"
    return "<span class='missing'>missing</span>"


def _verdict_class(verdict: str) -> str:
    return {"pass": "pass", "fail": "fail"}.get(verdict, "missing")


def _num(value: object) -> str:
    """A number as the stages' JSON holds it: counts whole, the rest to four digits."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1000:
        return format_number(value, "{:,.0f}")
    if isinstance(value, int) and not isinstance(value, bool):
        return format_number(value, "{:,}")
    return format_number(value, "{:.4g}")
