"""Finding a run by id, whichever command made it, built by hand in both layouts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from alphagate.runs import (
    RunNotFoundError,
    RunNotTrainedError,
    find_run,
    horizon_folders,
    list_runs,
    read_stage_manifest,
)

RAW = {"accuracy": 0.51, "ece_uniform": 0.08}
TRAINED = {"accuracy": 0.52, "ece_uniform": 0.04}
CHOSEN = {"accuracy": 0.53, "ece_uniform": 0.02}


def put(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload), encoding="utf-8")


def training_run(runs: Path, run_id: str, horizons: tuple[int, ...] = (5, 20)) -> Path:
    """What ``alphagate train`` leaves: ``train/manifest.json`` and ``h<h>/`` per horizon."""
    train = runs / run_id / "train"
    put(train / "manifest.json", {"run_id": run_id, "stage": "train", "horizons": list(horizons)})
    for h in horizons:
        put(train / f"h{h}" / "evaluation.json", {"raw": RAW, "calibrated": TRAINED})
        put(train / f"h{h}" / "calibrator.json", {"kind": "isotonic"})
    return runs / run_id


def stage(directory: Path, name: str, status: str = "complete") -> None:
    put(directory / "manifest.json", {"stage": name, "status": status, "outputs": {}})


def pipeline_run(runs: Path, run_id: str, *, calibrated: bool = True) -> Path:
    """What ``alphagate pipeline run`` leaves: ``run.json`` and one manifest per stage."""
    run = runs / run_id
    put(run / "run.json", {"run_id": run_id})
    stage(run / "data", "data")
    stage(run / "train", "train")
    put(run / "train" / "training.json", {"run_id": run_id, "horizons": [1, 5]})
    for h in (1, 5):
        put(run / "train" / f"h{h}" / "evaluation.json", {"raw": RAW, "calibrated": TRAINED})
    if calibrated:
        stage(run / "calibrate", "calibrate")
        for h in (1, 5):
            put(run / "calibrate" / f"h{h}" / "evaluation.json", CHOSEN)
    return run


def test_a_training_run_is_found_with_its_horizons_in_numeric_order(tmp_path: Path) -> None:
    directory = training_run(tmp_path, "t1")
    run = find_run(tmp_path, "t1")

    assert (run.kind, run.directory, run.train_dir) == ("training", directory, directory / "train")
    assert run.horizons() == {5: directory / "train/h5", 20: directory / "train/h20"}
    assert run.calibrator_folder(20) == directory / "train/h20"
    assert run.review_folder(5) == directory / "train/h5"
    assert run.training_manifest()["horizons"] == [5, 20]
    assert run.evaluations() == {
        5: {"raw": RAW, "calibrated": TRAINED},
        20: {"raw": RAW, "calibrated": TRAINED},
    }


def test_a_pipeline_run_reads_its_training_json_and_the_calibrators_it_chose(
    tmp_path: Path,
) -> None:
    directory = pipeline_run(tmp_path, "p1")
    run = find_run(tmp_path, "p1")

    assert run.kind == "pipeline"
    assert run.training_manifest() == {"run_id": "p1", "horizons": [1, 5]}
    assert run.horizons() == {1: directory / "train/h1", 5: directory / "train/h5"}
    assert run.uses_chosen_calibrators
    assert run.calibrator_folder(5) == directory / "calibrate/h5"
    # A calibrator fitted later goes outside every stage, whose files are their hash.
    assert run.review_folder(5) == directory / "review/h5"
    assert run.evaluations()[1] == {"raw": RAW, "calibrated": CHOSEN}


def test_a_pipeline_run_without_a_finished_calibrate_stage_stands_by_its_trained_calibrators(
    tmp_path: Path,
) -> None:
    directory = pipeline_run(tmp_path, "p1", calibrated=False)
    stage(directory / "calibrate", "calibrate", status="running")
    run = find_run(tmp_path, "p1")

    assert not run.uses_chosen_calibrators
    assert run.calibrator_folder(1) == directory / "train/h1"
    assert run.evaluations()[5]["calibrated"] == TRAINED


def test_an_unknown_id_lists_the_runs_there_and_the_closest_one(tmp_path: Path) -> None:
    training_run(tmp_path, "tiny")
    pipeline_run(tmp_path, "pipeline-synthetic-0123456789")
    (tmp_path / "mlruns").mkdir()  # MLflow's folder is not a run

    assert list_runs(tmp_path) == ["pipeline-synthetic-0123456789", "tiny"]
    with pytest.raises(RunNotFoundError) as error:
        find_run(tmp_path, "pipeline-synthetic-0123456780")
    message = str(error.value)
    assert "no run 'pipeline-synthetic-0123456780'" in message
    assert "did you mean 'pipeline-synthetic-0123456789'?" in message
    assert "Runs there: pipeline-synthetic-0123456789, tiny." in message
    with pytest.raises(RunNotFoundError, match="did you mean") as far:
        find_run(tmp_path, "tiny2")
    assert "'tiny'" in str(far.value)
    with pytest.raises(RunNotFoundError, match="mlruns"):
        find_run(tmp_path, "mlruns")


def test_an_empty_or_missing_runs_folder_says_how_to_make_a_run(tmp_path: Path) -> None:
    with pytest.raises(RunNotFoundError, match=r"alphagate train.*alphagate pipeline run"):
        find_run(tmp_path, "x")
    with pytest.raises(RunNotFoundError, match="does not exist; pass --runs-dir"):
        find_run(tmp_path / "nowhere", "x")


@pytest.mark.parametrize("run_id", ["", "../x", "a/b", ".hidden"])
def test_an_id_that_is_not_a_folder_name_is_not_a_run(tmp_path: Path, run_id: str) -> None:
    training_run(tmp_path / "a", "b")
    with pytest.raises(RunNotFoundError):
        find_run(tmp_path, run_id)


def test_a_pipeline_run_stopped_before_training_says_which_command_finishes_it(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "p2"
    put(run_dir / "run.json", {"run_id": "p2"})
    stage(run_dir / "data", "data")
    run = find_run(tmp_path, "p2")

    assert run.kind == "pipeline"
    with pytest.raises(
        RunNotTrainedError, match=r"no finished train stage.*pipeline run --run-id p2"
    ):
        run.horizons()


def test_a_training_run_without_a_manifest_or_a_horizon_folder_is_not_trained(
    tmp_path: Path,
) -> None:
    (tmp_path / "t2" / "train" / "h1").mkdir(parents=True)
    with pytest.raises(RunNotTrainedError, match="no finished training"):
        find_run(tmp_path, "t2").training_manifest()
    directory = training_run(tmp_path, "t3", horizons=(1, 5))
    (directory / "train" / "h5" / "evaluation.json").unlink()
    (directory / "train" / "h5" / "calibrator.json").unlink()
    (directory / "train" / "h5").rmdir()
    with pytest.raises(RunNotTrainedError, match=r"names horizon 5 but .*h5 is missing"):
        find_run(tmp_path, "t3").horizons()


def test_horizon_folders_are_the_h_number_folders_in_numeric_order(tmp_path: Path) -> None:
    for name in ("h20", "h5", "h1", "hx", "model"):
        (tmp_path / name).mkdir()
    (tmp_path / "h7").write_text("a file, not a folder", encoding="utf-8")

    assert list(horizon_folders(tmp_path).items()) == [
        (1, tmp_path / "h1"), (5, tmp_path / "h5"), (20, tmp_path / "h20"),
    ]  # fmt: skip


def test_only_a_complete_manifest_of_the_named_stage_is_a_finished_stage(tmp_path: Path) -> None:
    stage(tmp_path / "ok", "train")
    stage(tmp_path / "running", "train", status="running")
    stage(tmp_path / "other", "calibrate")
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "manifest.json").write_text('{"stage": "tr', encoding="utf-8")

    assert read_stage_manifest(tmp_path / "ok", "train") == {
        "stage": "train", "status": "complete", "outputs": {},
    }  # fmt: skip
    for name in ("running", "other", "cut", "absent"):
        assert read_stage_manifest(tmp_path / name, "train") is None


def test_latest_names_the_run_trained_last_of_either_kind(tmp_path: Path) -> None:
    first = training_run(tmp_path, "t-old")
    second = pipeline_run(tmp_path, "p-new")
    unfinished = tmp_path / "p-unfinished"
    put(unfinished / "run.json", {"run_id": "p-unfinished"})
    os.utime(first / "train", ns=(1, 1_000_000_000))
    os.utime(second / "train", ns=(1, 2_000_000_000))
    assert find_run(tmp_path, "latest").run_id == "p-new"
    os.utime(first / "train", ns=(1, 3_000_000_000))
    assert find_run(tmp_path, "latest").run_id == "t-old"


def test_latest_with_no_trained_run_says_how_to_make_one(tmp_path: Path) -> None:
    put(tmp_path / "p1" / "run.json", {"run_id": "p1"})
    with pytest.raises(RunNotFoundError, match="make pipeline"):
        find_run(tmp_path, "latest")
