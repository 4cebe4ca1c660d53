"""A horizon's feature profiles survive the run folder, and their absence or damage is plain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alphagate.engine.drift import FeatureProfile
from alphagate.errors import AlphagateError
from alphagate.runs import read_feature_profiles, write_feature_profiles


def test_profiles_read_back_equal_to_those_written(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    profiles = {
        "rsi_14": FeatureProfile.from_training(rng.uniform(0, 100, 500)),
        "gap": FeatureProfile.from_training(rng.integers(0, 3, 500).astype(float)),
    }

    path = write_feature_profiles(tmp_path, profiles, bins=10)
    back = read_feature_profiles(tmp_path)

    assert path == tmp_path / "feature_profiles.json"
    assert back is not None and set(back) == set(profiles)
    for name, profile in profiles.items():
        np.testing.assert_array_equal(back[name].edges, profile.edges)
        np.testing.assert_array_equal(back[name].shares, profile.shares)
    assert json.loads(path.read_text(encoding="utf-8"))["bins"] == 10


def test_a_run_trained_before_profiles_has_none_rather_than_an_error(tmp_path: Path) -> None:
    assert read_feature_profiles(tmp_path) is None


@pytest.mark.parametrize(
    "text",
    [
        '{"version": 2, "features": {}}',
        '{"version": 1}',
        '{"version": 1, "features": {"f": {"edges": [1.0, 0.0], "shares": [0.5, 0.2, 0.3]}}}',
        "not json",
    ],
)
def test_a_damaged_profile_file_names_itself(tmp_path: Path, text: str) -> None:
    (tmp_path / "feature_profiles.json").write_text(text, encoding="utf-8")
    with pytest.raises(AlphagateError, match=r"feature_profiles\.json"):
        read_feature_profiles(tmp_path)
