"""The concrete pipeline's definition: its stages, run ids, and the barrier training cut."""

from __future__ import annotations

import pandas as pd
import pytest

from alphagate.app import pipeline as pipeline_app
from alphagate.app import pipeline_stages
from alphagate.config import Settings
from alphagate.errors import DataError
from alphagate.features.profiles import build_features
from alphagate.labels.fixed_horizon import fixed_horizon_labels
from alphagate.pipeline.stage import check_stages
from alphagate.training.dataset import make_dataset
from alphagate.training.trainer import holdout_split


def test_the_pipeline_is_the_nine_stages_in_order_and_is_valid_over_its_config() -> None:
    settings = Settings()
    selection = pipeline_app.selection_of(settings)
    stages = pipeline_app.build_stages(settings, selection)

    assert [s.name for s in stages] == [
        "data",
        "features",
        "labels",
        "train",
        "calibrate",
        "backtest",
        "validate",
        "stress",
        "report",
        "candidate",
    ]
    check_stages(stages, pipeline_app.run_config(settings, selection))
    by_name = {s.name: s for s in stages}
    assert "backtest" in by_name["validate"].inputs
    assert "pipeline.validation" in by_name["validate"].config
    assert "pipeline.backtest" in by_name["backtest"].config
    assert set(by_name["report"].inputs) >= {"backtest", "validate"}
    assert "stress" in by_name["stress"].config
    assert by_name["report"].optional_inputs == ("stress",)
    assert {"train", "stress"} <= set(by_name["candidate"].inputs)
    assert "gates" in by_name["candidate"].config


def test_the_default_run_id_is_stable_and_names_config_and_selection() -> None:
    settings = Settings()
    selection = pipeline_app.selection_of(settings, ["^GSPC"], "2016-01-01", "2018-12-31")
    run_id = pipeline_app.default_run_id(settings, selection)

    assert run_id == pipeline_app.default_run_id(Settings(), selection)
    assert run_id.startswith("pipeline-bundled-")
    assert len(run_id) == len("pipeline-bundled-") + 10
    others = {
        pipeline_app.default_run_id(settings, pipeline_app.selection_of(settings, ["^IXIC"])),
        pipeline_app.default_run_id(
            settings, pipeline_app.selection_of(settings, ["^GSPC"], "2017-01-01", "2018-12-31")
        ),
        pipeline_app.default_run_id(
            Settings.model_validate({"pipeline": {"trials": 3}}), selection
        ),
    }
    assert run_id not in others
    assert len(others) == 3


def test_symbols_are_deduplicated_and_bad_dates_refused_before_running() -> None:
    selection = pipeline_app.selection_of(Settings(), ["A", "B", "A", ""])
    assert selection.symbols == ("A", "B")

    with pytest.raises(DataError, match="not a date"):
        pipeline_app.selection_of(Settings(), start="yesterday-ish")


@pytest.mark.parametrize("horizons", [(1,), (1, 5, 20), (60,)])
def test_the_barrier_training_cut_precedes_every_horizons_holdout(
    two_symbol_bars: pd.DataFrame, horizons: tuple[int, ...]
) -> None:
    end = pipeline_stages.training_end(two_symbol_bars, horizons)

    features = build_features(two_symbol_bars, "medium", calendar="XNYS")
    labels = fixed_horizon_labels(two_symbol_bars, horizons)
    for h in horizons:
        samples = make_dataset(features, labels, h)
        _, holdout = holdout_split(samples.t0, samples.t1, 0.2)
        first_holdout = pd.DatetimeIndex(samples.t0).take(holdout).min()
        assert end < first_holdout, (h, end, first_holdout)
    # ... and is not needlessly early: most of the bars are training bars.
    share = (two_symbol_bars.index.get_level_values("ts") <= end).mean()
    assert share > 0.7 * (
        1 - max(horizons) / two_symbol_bars.index.get_level_values("ts").nunique()
    )
