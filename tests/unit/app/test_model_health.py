"""A run's staleness plan: what it watches, what it cannot judge, and the summary it leaves."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphagate.app.model_health import changes_frame, plan_model_health, staleness_summary
from alphagate.config.trading import ModelStalenessConfig
from alphagate.engine.drift import FeatureProfile
from alphagate.engine.staleness_monitor import StalenessMonitor, WatchedModel
from alphagate.runs import write_feature_profiles

DAY = pd.Timedelta(days=1)
CUT = pd.Timestamp("2020-03-02 21:00", tz="UTC")


def test_a_switched_off_monitor_plans_nothing(tmp_path: Path) -> None:
    settings = ModelStalenessConfig(enabled=False)
    plan = plan_model_health(
        settings, manifest={}, train_dir=tmp_path, family="m", cuts={5: CUT}, features=None
    )
    assert plan is None


def test_an_old_run_is_aged_from_its_cut_without_psi_and_says_both_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "h5").mkdir()
    profiled = tmp_path / "h1"
    profiled.mkdir()
    profile = FeatureProfile.from_training(np.random.default_rng(0).normal(size=500))
    write_feature_profiles(profiled, {"f": profile}, bins=10)
    manifest = {"per_horizon": {"1": {"train_end": "2020-02-28T21:00:00+00:00"}, "5": {}}}
    features = pd.DataFrame(
        {"f": [0.1, 0.2], "g": [1.0, 2.0]}, index=pd.DatetimeIndex([CUT - DAY, CUT])
    )

    with caplog.at_level(logging.WARNING, logger="alphagate.staleness"):
        plan = plan_model_health(
            ModelStalenessConfig(),
            manifest=manifest,
            train_dir=tmp_path,
            family="m",
            cuts={1: CUT, 5: CUT + 3 * DAY},
            features=features,
        )

    assert plan is not None
    by_column = {m.column: m for m in plan.models}
    assert by_column["m_h1"].trained_ns == pd.Timestamp("2020-02-28 21:00", tz="UTC").value
    assert by_column["m_h5"].trained_ns == (CUT + 3 * DAY).value
    assert by_column["m_h5"].profiles is None and by_column["m_h1"].profiles is not None
    assert plan.features is not None and plan.features.names == ("f",)  # only what is profiled
    assert len(plan.notes) == 2
    assert "h5" in plan.notes[0] and "train_end" in plan.notes[0]
    assert "m_h5" in plan.notes[1] and "feature profiles" in plan.notes[1]
    assert [r.getMessage() for r in caplog.records] == [f"model staleness: {n}" for n in plan.notes]


def test_the_summary_names_the_first_bar_a_model_warned_and_went_stale_and_why() -> None:
    settings = ModelStalenessConfig(max_age_days=10)
    start = pd.Timestamp("2021-01-01 21:00", tz="UTC")
    monitor = StalenessMonitor([WatchedModel("m_h5", 5, start.value, None)], None, settings)
    for day in range(15):
        monitor.observe((start + day * DAY).value, [], {}, {})

    summary = staleness_summary(monitor, ("a note",))

    entry = summary["columns"]["m_h5"]
    assert summary["retrain"] is True and summary["notes"] == ["a note"]
    assert entry["verdict"] == "stale" and entry["retrain"] is True
    assert pd.Timestamp(entry["first_stale"]["ts"]) == start + 11 * DAY  # 11 days > 10
    assert entry["first_warn"] == entry["first_stale"]  # the age goes straight to stale
    assert entry["first_stale"]["reasons"][0].startswith("age stale")
    table = changes_frame(monitor.changes)
    assert table[["column", "verdict", "retrain"]].values.tolist() == [["m_h5", "stale", True]]
    assert staleness_summary(None, ()) == {"enabled": False}
