"""The pipeline's stress stage on a tiny run: the verdict beside validation's, in the report too.

The generator is the stand-in of :mod:`fake_scenarios`; the models, features,
decision path and guard are the real ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_scenarios import fake_build
from test_cli_stress import fake_drawdowns, fake_library

from alphagate.app import pipeline as pipeline_app
from alphagate.app import stress as stress_app
from alphagate.config import Settings


def test_the_stress_stage_runs_after_validate_and_its_gate_reaches_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        stress_app,
        "default_generator",
        lambda: stress_app.Generator(fake_build, fake_library, fake_drawdowns),
    )
    settings = Settings.model_validate(
        {
            "data": {
                "dir": str(tmp_path / "data"),
                "source": "synthetic",
                "synthetic": {
                    "symbols": ["AAA", "BBB"],
                    "start": "2016-01-01",
                    "end": "2018-06-30",
                },
            },
            "features": {"cache_dir": str(tmp_path / "features"), "profile": "short"},
            "labels": {"horizons": [1, 5], "barriers_file": str(tmp_path / "barriers.json")},
            "storage": {"database_url": f"sqlite:///{tmp_path / 'state.db'}"},
            "pipeline": {"runs_dir": str(tmp_path / "runs"), "model": "logreg"},
            "stress": {"pipeline_scenarios": 4, "workers": 2},  # real worker processes
        }
    )

    result = pipeline_app.run(settings, pipeline_app.selection_of(settings), run_id="tiny")

    names = [o.name for o in result.outcomes]
    stress = result.outcomes[names.index("stress")]
    assert stress.status == "ran", stress.summary
    assert names.index("stress") == names.index("validate") + 1
    summary = json.loads((result.run_dir / "stress" / "stress_summary.json").read_text("utf-8"))
    assert summary["statistics"]["scenarios"] == 4
    assert summary["candidate"]["run_id"] == "tiny"
    assert sorted(summary["families"]) == ["crash", "drift"]
    page = (result.run_dir / "report" / "report.html").read_text(encoding="utf-8")
    assert "stress gate:" in page
    assert page.index("Validation") < page.index("Stress") < page.index("Data")
