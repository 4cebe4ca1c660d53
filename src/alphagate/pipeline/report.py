"""One self-contained HTML page per pipeline run: is this model worth anything?

It reads only what the stages wrote under ``runs/<run_id>/`` (never recomputes
a number the stages judged by), so the page and ``validation_report.json``
cannot disagree. Order follows the question a user asks: the verdict and
every check first, then the evidence (data, out-of-sample model quality,
calibration, what the model looked at, the backtest against buy-and-hold),
then provenance. Charts are PNGs embedded as data URIs and the style is
inline, so the file opens anywhere, offline, and can be mailed as is.
"""

from __future__ import annotations

import base64
import html
import io
import math
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from alphagate.atomic import write_text_atomically
from alphagate.models.calibration import calibrator_from_dict
from alphagate.models.calibration_metrics import plot_reliability_diagram
from alphagate.runs.json_files import read_json_or_none
from alphagate.runs.layout import CALIBRATOR, EVALUATION, HOLDOUT, horizon_folders, horizon_name

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6rem 0}td,th{padding:.25rem .6rem;border:1px solid #ddd}
th{background:#f5f5f5;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#17663a;font-weight:600}.fail{color:#b3261e;font-weight:600}
.missing{color:#8a6d00;font-weight:600}.verdict{font-size:1.3rem;padding:.5rem 1rem;
display:inline-block;border-radius:4px;background:#f5f5f5}img{max-width:100%}
.small{color:#666;font-size:.9em}
"""
_MODEL_METRICS = (
    "accuracy", "roc_auc", "log_loss", "brier", "ece_uniform", "mce_uniform", "ic",
    "precision", "recall", "f1", "strategy_sharpe", "strategy_max_drawdown", "n",
)  # fmt: skip
_BACKTEST_METRICS = (
    "total_return", "cagr", "annual_volatility", "sharpe", "sortino", "max_drawdown",
    "calmar", "win_rate", "profit_factor", "trades", "exposure", "turnover", "alpha", "beta",
)  # fmt: skip


def render_run_report(run_dir: Path, path: Path) -> Path:
    """Write the run's report to ``path`` (atomically) and return it."""
    verdict = _json(run_dir / "validate" / "validation_report.json")
    sections = [
        _verdict_section(verdict),
        _data_section(run_dir / "data"),
        _model_section(run_dir / "calibrate", run_dir / "train"),
        _calibration_section(run_dir / "train", run_dir / "calibrate"),
        _importance_section(run_dir / "train"),
        _backtest_section(run_dir / "backtest"),
        _provenance_section(run_dir),
    ]
    title = f"alphagate run {run_dir.name}"
    page = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{_e(title)}</h1>"
        + "".join(sections)
        + "</body></html>"
    )
    return write_text_atomically(path, page)


def _verdict_section(report: Mapping[str, Any]) -> str:
    verdict = str(report.get("verdict", "unknown"))
    rows = [
        [
            _e(c["name"]),
            _num(c.get("value")),
            _e(c.get("comparison", "")) + " " + _num(c.get("threshold")),
            _status(c.get("passed")),
            _e(c.get("detail", "")),
        ]
        for c in report.get("checks", [])
    ]
    body = (
        f"<p class='verdict'>verdict: <span class='{_verdict_class(verdict)}'>{_e(verdict)}"
        "</span></p><p class='small'>Every check is shown; a check whose input is absent is "
        "<span class='missing'>missing</span>, never passed.</p>"
        + _table(["check", "value", "must be", "result", "measured on"], rows)
    )
    return _section("Validation", body)


def _data_section(stage: Path) -> str:
    coverage = _json(stage / "coverage.json")
    rows = [
        [_e(symbol), _e(span.get("first", "")), _e(span.get("last", "")), _num(span.get("rows"))]
        for symbol, span in coverage.items()
    ]
    return _section("Data", _table(["symbol", "first bar", "last bar", "bars"], rows))


def _model_section(calibrate: Path, train: Path) -> str:
    choice = _json(calibrate / "choice.json")
    parts = []
    for horizon, folder in horizon_folders(calibrate).items():
        calibrated = _json(folder / EVALUATION)
        raw = _json(train / horizon_name(horizon) / EVALUATION).get("raw", {})
        rows = [
            [_e(name), _num(raw.get(name)), _num(calibrated.get(name))]
            for name in _MODEL_METRICS
            if name in calibrated
        ]
        method = choice.get(horizon_name(horizon), {}).get("method", "?")
        parts.append(
            f"<h3>horizon {horizon} bars</h3><p class='small'>holdout (out of sample); "
            f"calibrator chosen on out-of-fold predictions: {_e(method)}</p>"
            + _table(["metric", "raw", "calibrated"], rows)
        )
    return _section("Out-of-sample model quality", "".join(parts) or "<p>no horizons</p>")


def _calibration_section(train: Path, calibrate: Path) -> str:
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
            image = _image(png.read_bytes(), f"reliability, horizon {horizon}")
        parts.append(f"<h3>horizon {horizon} bars</h3>{image}")
    return _section("Calibration on the holdout (before and after)", "".join(parts))


def _importance_section(train: Path) -> str:
    parts = []
    for horizon, folder in horizon_folders(train).items():
        table = folder / "feature_importances.csv"
        if not table.is_file():
            continue
        top = pd.read_csv(table).head(15)
        rows = [[_e(r.feature), _num(r.importance)] for r in top.itertuples(index=False)]
        parts.append(f"<h3>horizon {horizon} bars</h3>" + _table(["feature", "importance"], rows))
    body = "".join(parts) or "<p>the model family records no importances</p>"
    return _section("Feature importances (top 15)", body)


def _backtest_section(stage: Path) -> str:
    metrics = _json(stage / "metrics.json")
    equity = _series(stage / "equity.csv")
    benchmark = _series(stage / "benchmark_equity.csv")
    rows = [[_e(name), _num(metrics.get(name))] for name in _BACKTEST_METRICS if name in metrics]
    chart = _image(_equity_png(equity, benchmark), "equity and drawdown") if len(equity) else ""
    summary = _json(stage / "model_backtest.json")
    note = (
        f"<p class='small'>Out of sample only, from {_e(summary.get('first_bar', '?'))}; "
        f"fills {_e(summary.get('fill_model', '?'))}, commission "
        f"{_num(summary.get('commission_bps'))} bps; {_num(summary.get('decisions'))} decisions "
        f"traced (decisions.parquet), {_num(summary.get('risk_events'))} risk events. "
        "The full interactive backtest report is <a href='../backtest/report.html'>"
        "backtest/report.html</a>.</p>"
    )
    return _section(
        "Backtest against buy-and-hold", note + chart + _table(["metric", "value"], rows)
    )


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


def _provenance_section(run_dir: Path) -> str:
    rows = []
    manifests = [(_json(path), path) for path in run_dir.glob("*/manifest.json")]
    for manifest, manifest_path in sorted(manifests, key=lambda m: str(m[0].get("started_utc"))):
        rows.append(
            [
                _e(manifest.get("stage", manifest_path.parent.name)),
                _e(manifest.get("code_version", "")),
                _e(manifest.get("config_hash", "")),
                _e(str(manifest.get("seed", ""))),
                _num(manifest.get("wall_seconds")),
                _num(manifest.get("peak_memory_mib")),
                _e(manifest.get("finished_utc", "")),
            ]
        )
    headers = ["stage", "code", "config", "seed", "seconds", "peak MiB", "finished (UTC)"]
    return _section("Provenance", _table(headers, rows))


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


def _image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<img alt='{_e(alt)}' src='data:image/png;base64,{data}'>"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(content: str) -> str:
    numeric = content[:1].isdigit() or (content[:1] == "-" and content[1:2].isdigit())
    return f"<td class='n'>{content}</td>" if numeric else f"<td>{content}</td>"


def _section(heading: str, body: str) -> str:
    return f"<h2>{_e(heading)}</h2>{body}"


def _status(passed: object) -> str:
    if passed is True:
        return "<span class='pass'>pass</span>"
    if passed is False:
        return "<span class='fail'>fail</span>"
    return "<span class='missing'>missing</span>"


def _verdict_class(verdict: str) -> str:
    return {"pass": "pass", "fail": "fail"}.get(verdict, "missing")


def _num(value: object) -> str:
    if value is None or isinstance(value, bool):
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if value.is_integer() and abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return _e(str(value))


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
