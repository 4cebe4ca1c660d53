"""One self-contained HTML page per training run: what was trained, on what, and how well.

A training stage leaves its evidence in a dozen files (the manifest, and per
horizon an evaluation, a reliability diagram, feature importances). A reviewer
deciding whether a model is worth a backtest wants it on one page, often
later, on another machine, offline, or attached to a review. So
``render_training_report`` writes ``report.html`` into the stage directory as
a single file that needs nothing else, built with :mod:`alphagate.html_report`:
styles are inline, the reliability diagrams are embedded as base64 PNG
``data:`` URIs, and there is no script, stylesheet, font or image loaded from
anywhere.

What the page shows is read from the stage's own files, never recomputed, so
it cannot disagree with them: every key of each ``evaluation.json`` is shown
(raw and calibrated side by side, none assumed to exist), and each value cell
carries the exact number in a ``data-value`` attribute, so a script or a test
can read the figures back without parsing their display format. A file that a
run did not write (importances for a model without them, say) gets a short
note instead of its section's content.

Every string read from the files (run id, symbols, feature and metric names,
parameters) is handed to the kit as text, which escapes it, so a name with
``<`` or ``&`` in it is shown as written and never read as markup. No clock is
read, so the same stage always gives the same bytes.
"""

from __future__ import annotations

import csv
import html
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alphagate.html_report import DASH, Cell, Column, Page, Row, image, note, table

__all__ = ["REPORT_NAME", "TOP_FEATURES", "render_training_report"]

REPORT_NAME = "report.html"
TOP_FEATURES = 20
"""Feature importances listed per horizon; the full table stays in the CSV beside it."""

_SHOWN_SYMBOLS = 30
"""Symbols named in the summary: 500 names would bury the table (the manifest has them all)."""
_COUNT_METRICS = frozenset({"n", "strategy_periods"})
_METRIC_LABELS = {
    "n": "Holdout rows",
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "log_loss": "Log loss",
    "brier": "Brier score",
    "ece_uniform": "ECE, equal-width bins",
    "ece_quantile": "ECE, equal-mass bins",
    "mce_uniform": "MCE, equal-width bins",
    "mce_quantile": "MCE, equal-mass bins",
    "ic": "IC (Spearman, p vs forward return)",
    "strategy_periods": "Strategy periods",
    "strategy_total_return": "Strategy total return",
    "strategy_sharpe": "Strategy Sharpe",
    "strategy_max_drawdown": "Strategy max drawdown",
}

_CSS = """
table.importances td:last-child { width: 240px; }
table.importances td div { background: #3e7cb1; height: 0.7rem; }
img.reliability { border: 1px solid #eef0f2; }
"""
_SUMMARY_COLUMNS = (Column("Field", text=True, row_header=True), Column("Value", text=True))
_METRIC_COLUMNS = (
    Column("metric", text=True),
    Column("raw"),
    Column("calibrated"),
    Column("calibrated \u2212 raw"),
)
_IMPORTANCE_COLUMNS = (Column("feature", text=True), Column("importance"), Column(""))


def render_training_report(train_dir: Path) -> Path:
    """Write ``train_dir/report.html`` from the stage's manifest and horizon folders.

    Parameters
    ----------
    train_dir
        A training stage: ``manifest.json`` and one ``h<horizon>/`` folder per
        horizon, as ``training_run.run_training`` writes them (the report is
        rendered there before the stage is renamed into place).

    Returns
    -------
    pathlib.Path
        The report's path, once it is complete and in place.

    Raises
    ------
    FileNotFoundError
        When ``train_dir`` has no ``manifest.json``: without it there is no run
        to describe.
    """
    manifest = _read_json(train_dir / "manifest.json")
    per_horizon = manifest.get("per_horizon") or {}
    run_id = str(manifest.get("run_id", train_dir.parent.name))
    page = Page(f"Training run {run_id}", subtitle=_subtitle(manifest), css=_CSS)
    page.add_section("summary", "Run", _summary_table(manifest))
    for horizon, folder in _horizon_folders(train_dir):
        page.add_section(
            f"h{horizon}",
            f"Horizon {horizon} bars",
            *_horizon_parts(horizon, folder, per_horizon.get(str(horizon)) or {}),
        )
    return page.write(train_dir / REPORT_NAME)


# --------------------------------------------------------------------------- run summary


def _subtitle(manifest: Mapping[str, Any]) -> str:
    family = _text(manifest.get("family"))
    horizons = ", ".join(_text(h) for h in manifest.get("horizons") or [])
    return (
        f"{family} model per horizon ({horizons or DASH} bars), "
        f"calibrated with {_text(manifest.get('calibration'))}; "
        "metrics are on the holdout, which neither training nor calibration saw."
    )


def _summary_table(manifest: Mapping[str, Any]) -> str:
    """The run's identity and provenance: everything needed to reproduce or refute it."""
    bars = manifest.get("bars") or {}
    mlflow = manifest.get("mlflow") or {}
    rows = [
        ("Run id", _text(manifest.get("run_id"))),
        ("Created (UTC)", _text(manifest.get("created_at"))),
        ("Model family", _text(manifest.get("family"))),
        ("Calibration", _text(manifest.get("calibration"))),
        ("Seed", _text(manifest.get("seed"))),
        ("Search trials per horizon", _text(manifest.get("trials"))),
        ("Horizons (bars)", ", ".join(_text(h) for h in manifest.get("horizons") or []) or DASH),
        ("Symbols", _symbols(bars.get("symbols") or [])),
        ("Bars", _count(bars.get("rows"))),
        ("Date range", f"{_text(bars.get('start'))} \u2192 {_text(bars.get('end'))}"),
        ("Config hash", _code(manifest.get("config_hash"))),
        ("Data hash", _code(manifest.get("data_hash"))),
        ("Code version", _text(manifest.get("code_version"))),
        ("Wall time", _unit(manifest.get("wall_seconds"), "s")),
        ("Peak memory", _unit(manifest.get("peak_memory_mb"), "MiB")),
        ("MLflow run", _code(mlflow.get("run_id"))),
        ("Registered models", _models(mlflow.get("models") or {})),
    ]
    return table(_SUMMARY_COLUMNS, rows, css_class="summary", header=False)


def _symbols(symbols: list[Any]) -> str:
    shown = ", ".join(_text(s) for s in symbols[:_SHOWN_SYMBOLS])
    more = len(symbols) - _SHOWN_SYMBOLS
    suffix = f" and {more:,} more" if more > 0 else ""
    return f"{len(symbols):,}: {shown}{suffix}" if symbols else DASH


def _models(models: Mapping[str, Any]) -> Cell:
    """One registered model a line; the names are escaped, the line breaks are markup."""
    entries = [
        html.escape(f"h{_text(h)}: {_text(m.get('name'))} v{_text(m.get('version'))}")
        for h, m in sorted(models.items(), key=lambda item: _horizon_key(item[0]))
        if isinstance(m, Mapping)
    ]
    return Cell(markup="<br>".join(entries) or DASH)


# --------------------------------------------------------------------------- horizons


def _horizon_parts(horizon: int, folder: Path, entry: Mapping[str, Any]) -> list[str]:
    """One horizon: sample counts, parameters, holdout metrics, reliability, importances."""
    return [
        _samples_note(entry),
        _parameters(entry),
        "<h3>Holdout metrics</h3>",
        _metrics_table(folder / "evaluation.json"),
        "<h3>Reliability diagram</h3>",
        _reliability_image(folder / "reliability.png", horizon),
        f"<h3>Feature importances (top {TOP_FEATURES})</h3>",
        _importances_table(folder / "feature_importances.csv"),
    ]


def _samples_note(entry: Mapping[str, Any]) -> str:
    if not entry:
        return note("The manifest has no entry for this horizon.")
    return note(
        f"{_count(entry.get('n_samples'))} samples: "
        f"{_count(entry.get('n_train'))} to train (purged cross-validation, out-of-fold "
        f"calibration), {_count(entry.get('n_holdout'))} held out; "
        f"{_count(entry.get('n_dropped_features'))} rows dropped for missing features, "
        f"{_count(entry.get('n_dropped_labels'))} for missing labels."
    )


def _parameters(entry: Mapping[str, Any]) -> str:
    params = entry.get("params") or {}
    search = entry.get("search") or {}
    source = (
        f"searched over {_text(search.get('n_trials'))} trial(s)" if search else "family defaults"
    )
    if not params:
        return note(f"Parameters: {source}.")
    shown = ", ".join(f"{_text(k)} = {_text(v)}" for k, v in sorted(params.items()))
    return note(f"Parameters ({source}): {shown}.")


def _metrics_table(path: Path) -> str:
    """Every metric of ``evaluation.json``, raw vs calibrated.

    Known metrics come first in a reading order (classification, probability
    quality, calibration, ranking, strategy); any other key follows in the
    file's order, so a metric added to the evaluation later still shows up.
    """
    if not path.is_file():
        return note("No evaluation.json was written for this horizon.")
    evaluation = _read_json(path)
    raw = evaluation.get("raw") or {}
    calibrated = evaluation.get("calibrated") or {}
    present = dict.fromkeys([*raw, *calibrated])
    names = [name for name in _METRIC_LABELS if name in present]
    names += [name for name in present if name not in _METRIC_LABELS]
    rows = [
        Row(
            [
                _METRIC_LABELS.get(name, name.replace("_", " ")),
                _metric_cell(name, "raw", raw.get(name)),
                _metric_cell(name, "calibrated", calibrated.get(name)),
                _difference(name, raw.get(name), calibrated.get(name)),
            ],
            data={"metric": name},
        )
        for name in names
    ]
    return table(_METRIC_COLUMNS, rows, css_class="metrics")


def _metric_cell(name: str, kind: str, value: Any) -> Cell:
    """The metric as shown, with the exact number in ``data-value`` for a script to read."""
    number = _finite(value)
    if number is None:
        return Cell(DASH, data={"kind": kind})
    return Cell(_format_metric(name, number), data={"kind": kind, "value": repr(number)})


def _difference(name: str, raw: Any, calibrated: Any) -> str:
    before, after = _finite(raw), _finite(calibrated)
    if before is None or after is None:
        return DASH
    change = after - before
    return ("+" if change > 0 else "") + _format_metric(name, change)


def _reliability_image(path: Path, horizon: int) -> str:
    """The saved PNG as a data URI: the page then carries its images with it."""
    if not path.is_file():
        return note("No reliability diagram was written for this horizon.")
    alt = f"Reliability diagram, horizon {horizon}: observed frequency against prediction"
    return image(path.read_bytes(), alt, css_class="reliability")


def _importances_table(path: Path) -> str:
    """The largest ``TOP_FEATURES`` importances, with bars scaled to the largest."""
    if not path.is_file():
        return note("This model saved no feature importances.")
    rows = _read_importances(path)
    if not rows:
        return note("The feature importance file is empty.")
    top = sorted(rows, key=lambda row: -row[1])[:TOP_FEATURES]
    largest = max(top[0][1], 0.0)
    lines = [
        Row(
            [
                name,
                Cell(f"{value:.4g}", data={"value": repr(value)}),
                Cell(markup=f'<div style="width: {_share(value, largest):.1f}%"></div>'),
            ],
            data={"feature": name},
        )
        for name, value in top
    ]
    explanation = note(f"{len(rows):,} features in {path.name}.")
    return explanation + "\n" + table(_IMPORTANCE_COLUMNS, lines, css_class="importances")


def _read_importances(path: Path) -> list[tuple[str, float]]:
    with path.open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    pairs = ((r.get("feature") or "", _finite_text(r.get("importance"))) for r in records)
    return [(name, value) for name, value in pairs if value is not None]


def _share(value: float, largest: float) -> float:
    return 0.0 if largest <= 0 else max(0.0, min(100.0, 100.0 * value / largest))


# --------------------------------------------------------------------------- small pieces


def _horizon_folders(train_dir: Path) -> list[tuple[int, Path]]:
    found = (p for p in train_dir.glob("h*") if p.is_dir() and p.name[1:].isdigit())
    return sorted((int(p.name[1:]), p) for p in found)


def _horizon_key(name: str) -> tuple[int, int, str]:
    """Numeric horizons in numeric order (5 before 20), anything else after them."""
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def _format_metric(name: str, value: float) -> str:
    """Counts whole with separators, everything else to four decimals (as the CLI prints)."""
    if name in _COUNT_METRICS and value.is_integer():
        return f"{int(value):,d}"
    return f"{value:.4f}"


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _finite_text(text: str | None) -> float | None:
    try:
        return _finite(float(text or "nan"))
    except ValueError:
        return None


def _text(value: Any) -> str:
    """A value read from the stage as text (escaped by the kit), or the dash."""
    return DASH if value is None or value == "" else str(value)


def _code(value: Any) -> Cell | str:
    return DASH if value is None else Cell(markup=f"<code>{html.escape(str(value))}</code>")


def _count(value: Any) -> str:
    number = _finite(value)
    return DASH if number is None else f"{number:,.0f}"


def _unit(value: Any, unit: str) -> str:
    number = _finite(value)
    return DASH if number is None else f"{number:,.1f} {unit}"


def _read_json(path: Path) -> dict[str, Any]:
    payload = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(payload, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return payload
