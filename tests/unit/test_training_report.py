"""Tests for ``training_report``: the HTML summary every training run leaves in its stage.

One real run (the fixtures of ``tests/integration/test_training_run.py``:
synthetic daily bars of two symbols, logistic regression, horizons 1 and 5)
checks the report ``run_training`` writes against the files beside it; small
hand-made stages check escaping, missing files and the importance cut.
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
from mlflow.tracking import MlflowClient

from alphagate.app.train import TrainingRunResult, run_training
from alphagate.config import Settings
from alphagate.models.calibration_metrics import plot_reliability_diagram
from alphagate.training.report import TOP_FEATURES, render_training_report

HORIZONS = (1, 5)


class ReportPage:
    """What a reader (or a script) can take from a report: metric cells, images, features.

    Read with the standard library's parser (the ``read_page`` fixture).
    """

    def __init__(self, read: Any) -> None:
        self.read = read
        self.tags = read.tags
        self.images = [attrs.get("src", "") for attrs in read.images]
        self.metrics: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
        self.features: dict[str, list[str]] = {}
        for found in read.tables:
            kind = found.attrs.get("class", "")
            if kind == "metrics":
                self.metrics[found.section] = {
                    row.attrs["data-metric"]: {
                        cell.attrs["data-kind"]: {**cell.attrs, "text": cell.text}
                        for cell in row.cells
                        if "data-kind" in cell.attrs
                    }
                    for row in found.rows
                    if "data-metric" in row.attrs
                }
            elif kind == "importances":
                self.features[found.section] = [
                    row.attrs["data-feature"] for row in found.rows if "data-feature" in row.attrs
                ]


def expected_text(name: str, value: float) -> str:
    if name in {"n", "strategy_periods"}:
        return f"{int(value):,d}"
    return f"{value:.4f}"


def assert_metrics_match(page: ReportPage, horizon: int, evaluation: dict[str, Any]) -> None:
    """Every metric of ``evaluation.json`` is on the page, exactly, raw and calibrated."""
    shown = page.metrics[f"h{horizon}"]
    assert set(shown) == set(evaluation["raw"]) | set(evaluation["calibrated"])
    for kind in ("raw", "calibrated"):
        for name, value in evaluation[kind].items():
            cell = shown[name][kind]
            if value is None:
                assert "data-value" not in cell and cell["text"] == "\u2014", (horizon, name)
            else:
                assert float(cell["data-value"]) == value, (horizon, kind, name)
                assert cell["text"] == expected_text(name, value), (horizon, kind, name)


# --------------------------------------------------------------------------- a real run


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, two_symbol_bars: pd.DataFrame
) -> TrainingRunResult:
    workspace = tmp_path_factory.mktemp("training-report")
    settings = Settings.model_validate({"features": {"cache_dir": workspace / "features"}})
    return run_training(
        settings,
        two_symbol_bars,
        family="logreg",
        horizons=HORIZONS,
        seed=3,
        runs_dir=workspace / "runs",
        run_id="reported",
    )


@pytest.fixture(scope="module")
def page(trained: TrainingRunResult, read_page: Callable[[str], Any]) -> ReportPage:
    return ReportPage(read_page((trained.directory / "report.html").read_text(encoding="utf-8")))


def test_every_training_run_leaves_its_report_in_the_finished_stage(
    trained: TrainingRunResult,
) -> None:
    assert (trained.directory / "report.html").is_file()
    siblings = [p.name for p in trained.directory.parent.iterdir()]
    assert siblings == ["train"], "rendered inside the temporary stage, renamed with it"
    uri = f"sqlite:///{trained.directory.parent.parent / 'mlflow.db'}"
    logged = MlflowClient(tracking_uri=uri).list_artifacts(trained.mlflow_run_id)
    assert "report.html" in {artifact.path for artifact in logged}


def test_the_report_shows_each_horizons_holdout_metrics_as_saved(
    trained: TrainingRunResult, page: ReportPage
) -> None:
    for h in HORIZONS:
        path = trained.directory / f"h{h}" / "evaluation.json"
        evaluation = json.loads(path.read_text(encoding="utf-8"))
        assert {"accuracy", "roc_auc", "log_loss", "brier", "ece_uniform", "ic"} <= set(
            evaluation["raw"]
        )
        assert_metrics_match(page, h, evaluation)


def test_the_reliability_diagrams_are_embedded_as_the_saved_pngs(
    trained: TrainingRunResult, page: ReportPage
) -> None:
    assert len(page.images) == len(HORIZONS)
    for h, source in zip(HORIZONS, page.images, strict=True):
        prefix = "data:image/png;base64,"
        assert source.startswith(prefix)
        png = (trained.directory / f"h{h}" / "reliability.png").read_bytes()
        assert base64.b64decode(source[len(prefix) :]) == png


def test_the_report_names_the_run_its_hashes_and_its_data(
    trained: TrainingRunResult, page: ReportPage
) -> None:
    text = (trained.directory / "report.html").read_text(encoding="utf-8")
    manifest = trained.manifest
    for value in (
        manifest["run_id"],
        manifest["config_hash"],
        manifest["data_hash"],
        manifest["code_version"],
        manifest["bars"]["start"],
        manifest["bars"]["end"],
        "AAA, BBB",
        f"{manifest['wall_seconds']:,.1f} s",
        "alphagate-logreg-h5 v1",
    ):
        assert str(value) in text, value
    assert ["Seed", "3"] in page.read.table("summary").texts


def test_the_report_loads_nothing_from_anywhere(
    trained: TrainingRunResult, page: ReportPage
) -> None:
    text = (trained.directory / "report.html").read_text(encoding="utf-8")
    page.read.assert_self_contained()
    assert "http://" not in text and "https://" not in text
    assert not {"script", "link", "iframe", "object"} & set(page.tags)
    assert all(source.startswith("data:") for source in page.images)


def test_the_top_importances_are_listed_largest_first(
    trained: TrainingRunResult, page: ReportPage
) -> None:
    saved = pd.read_csv(trained.directory / "h1" / "feature_importances.csv")
    expected = saved.sort_values("importance", ascending=False)["feature"].head(TOP_FEATURES)
    assert page.features["h1"] == expected.tolist()
    assert len(saved) > TOP_FEATURES, "the cut must be exercised"


# --------------------------------------------------------------------------- hand-made stages


def write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload), encoding="utf-8")


def hand_made_stage(root: Path, run_id: str = "hand") -> Path:
    """A stage with one complete horizon (3) and one with nothing but its folder (10)."""
    stage = root / run_id / "train"
    write_json(
        stage / "manifest.json",
        {
            "run_id": run_id,
            "horizons": [3, 10],
            "family": "lightgbm",
            "calibration": "isotonic",
            "bars": {"symbols": ["X<Y"], "rows": 10, "start": "a", "end": "b"},
            "per_horizon": {"3": {"n_samples": 100, "params": {"max_depth": 3}}},
        },
    )
    scores = {"accuracy": 0.5123456, "roc_auc": None, "my_new_metric": -1.25, "n": 40.0}
    write_json(stage / "h3" / "evaluation.json", {"raw": scores, "calibrated": scores})
    rng = np.random.default_rng(0)
    p = rng.uniform(size=200)
    plot_reliability_diagram(p, (rng.uniform(size=200) < p).astype(int), stage / "h3" / "r.png")
    (stage / "h3" / "r.png").rename(stage / "h3" / "reliability.png")
    features = pd.DataFrame({"feature": ["a<b&c", "rsi_14"], "importance": [0.25, 0.75]})
    features.to_csv(stage / "h3" / "feature_importances.csv", index=False)
    (stage / "h10").mkdir()
    return stage


def test_every_key_of_an_evaluation_is_shown_even_ones_the_report_does_not_know(
    tmp_path: Path, read_page: Callable[[str], Any]
) -> None:
    stage = hand_made_stage(tmp_path)
    page = ReportPage(read_page(render_training_report(stage).read_text(encoding="utf-8")))
    evaluation = json.loads((stage / "h3" / "evaluation.json").read_text(encoding="utf-8"))
    assert_metrics_match(page, 3, evaluation)
    assert page.metrics["h3"]["my_new_metric"]["raw"]["text"] == "-1.2500"
    assert list(page.metrics["h3"]) == ["n", "accuracy", "roc_auc", "my_new_metric"]


def test_text_from_the_stage_is_escaped(tmp_path: Path, read_page: Callable[[str], Any]) -> None:
    stage = hand_made_stage(tmp_path, run_id="<b>bold</b>")
    text = render_training_report(stage).read_text(encoding="utf-8")
    assert "<b>bold</b>" not in text and "&lt;b&gt;bold&lt;/b&gt;" in text
    assert "a<b&c" not in text and "a&lt;b&amp;c" in text
    assert "X<Y" not in text and "X&lt;Y" in text
    page = ReportPage(read_page(text))
    page.read.assert_self_contained()
    assert page.features["h3"] == ["rsi_14", "a<b&c"]
    assert page.read.title == "Training run <b>bold</b>"
    assert ["Symbols", "1: X<Y"] in page.read.table("summary").texts
    assert page.tags["b"] == 0


def test_a_horizon_without_files_gets_notes_not_an_error(tmp_path: Path) -> None:
    text = render_training_report(hand_made_stage(tmp_path)).read_text(encoding="utf-8")
    ten = text[text.index('<section id="h10">') :]
    assert "No evaluation.json was written" in ten
    assert "No reliability diagram was written" in ten
    assert "saved no feature importances" in ten
    assert "The manifest has no entry for this horizon" in ten
    assert text.index('<section id="h3">') < text.index('<section id="h10">'), "numeric order"


def test_the_same_stage_gives_the_same_bytes(tmp_path: Path) -> None:
    stage = hand_made_stage(tmp_path)
    first = render_training_report(stage).read_bytes()
    assert render_training_report(stage).read_bytes() == first
    assert [p.name for p in stage.iterdir() if p.name.startswith(".")] == []


def test_a_stage_without_a_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        render_training_report(tmp_path)
