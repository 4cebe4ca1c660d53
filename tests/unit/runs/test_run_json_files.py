"""A run's JSON files: readable as written, and never half-written when a write fails."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from alphagate.errors import AlphagateError
from alphagate.runs import read_json, read_json_or_none, write_json
from alphagate.runs.layout import write_calibration


def test_a_written_file_reads_back_as_the_same_object_indented_with_sorted_keys(
    tmp_path: Path,
) -> None:
    payload = {"b": [1, 2.5, None], "a": {"z": "x", "y": True}}
    path = write_json(tmp_path / "deep" / "file.json", payload)

    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == payload
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.index('"a"') < text.index('"b"')
    assert '\n  "a": {\n    "y": true,' in text
    assert read_json(path) == payload


def test_nan_is_refused_and_the_old_file_stays_whole(tmp_path: Path) -> None:
    path = write_json(tmp_path / "m.json", {"sharpe": 1.0})
    with pytest.raises(ValueError, match="JSON compliant"):
        write_json(path, {"sharpe": float("nan")})

    assert read_json(path) == {"sharpe": 1.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]
    write_json(path, {"sharpe": float("nan")}, allow_nan=True)
    assert "NaN" in path.read_text(encoding="utf-8")


def test_a_write_that_fails_on_disk_leaves_the_old_file_and_no_partial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_json(tmp_path / "manifest.json", {"stage": "train", "n": 1})

    def full_disk(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_json(path, {"stage": "train", "n": 2, "more": list(range(1000))})

    assert read_json(path) == {"stage": "train", "n": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_a_failed_first_write_leaves_no_file_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        write_json(tmp_path / "new.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []


def test_reading_names_the_file_that_is_missing_damaged_or_not_an_object(tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "cut.json").write_text('{"stage": "tr', encoding="utf-8")

    with pytest.raises(AlphagateError, match=r"missing\.json is missing"):
        read_json(tmp_path / "missing.json")
    with pytest.raises(AlphagateError, match=r"cut\.json cannot be read as JSON"):
        read_json(tmp_path / "cut.json")
    with pytest.raises(AlphagateError, match=r"list\.json: expected a JSON object, found list"):
        read_json(tmp_path / "list.json")
    for name in ("missing.json", "cut.json", "list.json"):
        assert read_json_or_none(tmp_path / name) is None


def test_a_calibrator_fitted_later_is_written_under_its_kind_beside_the_trained_one(
    tmp_path: Path,
) -> None:
    write_json(tmp_path / "calibrator.json", {"kind": "isotonic"})
    written = write_calibration(tmp_path, "sigmoid", {"kind": "sigmoid", "a": 1.0}, {"ece": 0.1})

    assert [p.name for p in written] == ["calibrator-sigmoid.json", "evaluation-sigmoid.json"]
    assert read_json(tmp_path / "calibrator.json") == {"kind": "isotonic"}
    assert read_json(tmp_path / "calibrator-sigmoid.json") == {"kind": "sigmoid", "a": 1.0}
    assert read_json(tmp_path / "evaluation-sigmoid.json") == {"ece": 0.1}
