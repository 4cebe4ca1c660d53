"""The generic runner on toy stages: checkpoints, manifests, reuse, invalidation, selection.

Each toy stage appends its name to a shared list when it runs, so a test can
tell "ran" from "cached" by what actually executed, not only by what the
runner claims.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

import pytest

from alphagate.pipeline import (
    PipelineError,
    PipelineResult,
    Stage,
    StageContext,
    StageOutcome,
    StageOutput,
    inspect_run,
    run_pipeline,
)
from alphagate.pipeline.manifest import directory_hash
from alphagate.pipeline.stage import check_stages

MANIFEST_KEYS = {
    "stage",
    "run_id",
    "status",
    "input_hashes",
    "config_keys",
    "config_hash",
    "code_version",
    "seed",
    "started_utc",
    "finished_utc",
    "wall_seconds",
    "peak_memory_mib",
    "summary",
    "outputs",
    "output_hash",
}


class Recorder:
    """A reporter that keeps every event, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def stage_started(self, name: str) -> None:
        self.events.append(("started", name))

    def stage_message(self, name: str, text: str) -> None:
        self.events.append(("message", f"{name}: {text}"))

    def stage_finished(self, outcome: StageOutcome) -> None:
        self.events.append((outcome.status, outcome.name))


class Toy:
    """Three chained stages a -> b -> c whose outputs depend on config values."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail_in: str | None = None
        self.interrupt_in: str | None = None

    def _begin(self, name: str, context: StageContext) -> None:
        self.calls.append(name)
        context.say(f"{name} working")
        (context.directory / "partial.txt").write_text("started", encoding="utf-8")
        if self.fail_in == name:
            raise ValueError(f"{name} broke")
        if self.interrupt_in == name:
            raise KeyboardInterrupt

    def a(self, config: dict[str, Any]) -> Any:
        def run(context: StageContext) -> StageOutput:
            self._begin("a", context)
            (context.directory / "a.txt").write_text(str(config["a"]["value"]), encoding="utf-8")
            return StageOutput(f"a={config['a']['value']}", {"value": config["a"]["value"]})

        return run

    def b(self, context: StageContext) -> StageOutput:
        self._begin("b", context)
        text = (context.inputs["a"] / "a.txt").read_text(encoding="utf-8")
        (context.directory / "b.txt").write_text(text + "-b", encoding="utf-8")
        return StageOutput("b done", {"upstream": dict(context.manifests["a"]["outputs"])})

    def c(self, context: StageContext) -> StageOutput:
        self._begin("c", context)
        text = (context.inputs["b"] / "b.txt").read_text(encoding="utf-8")
        (context.directory / "c.txt").write_text(text + "-c", encoding="utf-8")
        return StageOutput("c done")

    def stages(self, config: dict[str, Any]) -> list[Stage]:
        return [
            Stage("a", self.a(config), config=("a",)),
            Stage("b", self.b, inputs=("a",), config=("b.mode",)),
            Stage("c", self.c, inputs=("b",), config=("pipeline.seed",)),
        ]


def base_config() -> dict[str, Any]:
    return {"a": {"value": 1, "note": "x"}, "b": {"mode": "m"}, "pipeline": {"seed": 3}, "z": 0}


@pytest.fixture
def toy() -> Toy:
    return Toy()


def run(
    toy: Toy,
    root: Path,
    config: dict[str, Any] | None = None,
    *,
    code_version: str = "1.0",
    reporter: Recorder | None = None,
    **options: Any,
) -> PipelineResult:
    chosen = config or base_config()
    return run_pipeline(
        toy.stages(chosen),
        root=root,
        run_id="r1",
        config=chosen,
        seed=3,
        code_version=code_version,
        reporter=reporter,
        **options,
    )


def statuses(result: PipelineResult) -> dict[str, str]:
    return {o.name: o.status for o in result.outcomes}


def manifest(root: Path, stage: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((root / "r1" / stage / "manifest.json").read_text())
    return loaded


def scratch_dirs(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "r1").iterdir() if ".tmp-" in p.name)


# ------------------------------------------------------------------ first run, manifests


def test_a_first_run_runs_every_stage_in_order_and_writes_complete_manifests(
    toy: Toy, tmp_path: Path
) -> None:
    result = run(toy, tmp_path)

    assert statuses(result) == {"a": "ran", "b": "ran", "c": "ran"}
    assert toy.calls == ["a", "b", "c"]
    assert (tmp_path / "r1" / "c" / "c.txt").read_text() == "1-b-c"
    for name in ("a", "b", "c"):
        recorded = manifest(tmp_path, name)
        assert set(recorded) == MANIFEST_KEYS
        assert (recorded["stage"], recorded["run_id"], recorded["status"]) == (
            name,
            "r1",
            "complete",
        )
        assert (recorded["code_version"], recorded["seed"]) == ("1.0", 3)
        assert recorded["wall_seconds"] >= 0
        assert recorded["peak_memory_mib"] > 1
        assert recorded["started_utc"] <= recorded["finished_utc"]
        assert recorded["output_hash"] == directory_hash(tmp_path / "r1" / name)
    assert manifest(tmp_path, "a")["input_hashes"] == {}
    assert manifest(tmp_path, "b")["input_hashes"] == {"a": manifest(tmp_path, "a")["output_hash"]}
    assert manifest(tmp_path, "b")["outputs"] == {"upstream": {"value": 1}}
    assert scratch_dirs(tmp_path) == []


def test_the_reporter_hears_every_start_message_and_finish(toy: Toy, tmp_path: Path) -> None:
    recorder = Recorder()
    run(toy, tmp_path, reporter=recorder)

    assert recorder.events[:3] == [("started", "a"), ("message", "a: a working"), ("ran", "a")]
    cached = Recorder()
    run(toy, tmp_path, reporter=cached)
    assert cached.events == [("cached", "a"), ("cached", "b"), ("cached", "c")]


# ------------------------------------------------------------------ reuse and invalidation


def test_a_second_run_with_nothing_changed_reuses_every_stage(toy: Toy, tmp_path: Path) -> None:
    run(toy, tmp_path)
    before = {name: manifest(tmp_path, name) for name in "abc"}

    again = run(toy, tmp_path)

    assert statuses(again) == {"a": "cached", "b": "cached", "c": "cached"}
    assert toy.calls == ["a", "b", "c"]  # nothing ran the second time
    assert {name: manifest(tmp_path, name) for name in "abc"} == before
    assert again.outcomes[0].summary == "a=1"


def test_a_changed_first_stage_config_reruns_it_and_every_stage_after_it(
    toy: Toy, tmp_path: Path
) -> None:
    run(toy, tmp_path)
    changed = base_config()
    changed["a"]["value"] = 2

    result = run(toy, tmp_path, changed)

    assert statuses(result) == {"a": "ran", "b": "ran", "c": "ran"}
    assert (tmp_path / "r1" / "c" / "c.txt").read_text() == "2-b-c"


def test_a_changed_middle_stage_config_keeps_earlier_stages_and_reruns_later_ones(
    toy: Toy, tmp_path: Path
) -> None:
    run(toy, tmp_path)
    changed = base_config()
    changed["b"]["mode"] = "other"

    result = run(toy, tmp_path, changed)

    assert statuses(result) == {"a": "cached", "b": "ran", "c": "cached"}
    # b wrote the same bytes, so c's input hash is unchanged: nothing to redo.
    assert toy.calls == ["a", "b", "c", "b"]


def test_a_changed_input_reruns_the_reader_even_when_its_own_config_is_unchanged(
    toy: Toy, tmp_path: Path
) -> None:
    run(toy, tmp_path)
    changed = base_config()
    changed["a"]["value"] = 5

    result = run(toy, tmp_path, changed, only="a")
    assert statuses(result) == {"a": "ran"}
    assert inspect_states(toy, tmp_path, changed) == {
        "a": ("complete", ""),
        "b": ("stale", "input 'a' changed"),
        "c": ("stale", "input 'b' is stale"),
    }

    follow = run(toy, tmp_path, changed)
    assert statuses(follow) == {"a": "cached", "b": "ran", "c": "ran"}
    assert (tmp_path / "r1" / "c" / "c.txt").read_text() == "5-b-c"


def test_a_key_no_stage_declared_changes_nothing(toy: Toy, tmp_path: Path) -> None:
    run(toy, tmp_path)
    changed = base_config()
    changed["z"] = 99

    assert statuses(run(toy, tmp_path, changed)) == {"a": "cached", "b": "cached", "c": "cached"}


def test_a_new_code_version_reruns_every_stage(toy: Toy, tmp_path: Path) -> None:
    run(toy, tmp_path)

    result = run(toy, tmp_path, code_version="1.1")

    assert statuses(result) == {"a": "ran", "b": "ran", "c": "ran"}
    assert manifest(tmp_path, "c")["code_version"] == "1.1"


def test_a_rerun_stage_replaces_the_old_directory_and_leaves_no_scratch(
    toy: Toy, tmp_path: Path
) -> None:
    run(toy, tmp_path)
    changed = base_config()
    changed["a"]["value"] = 7

    run(toy, tmp_path, changed)

    assert (tmp_path / "r1" / "a" / "a.txt").read_text() == "7"
    assert manifest(tmp_path, "a")["outputs"] == {"value": 7}
    assert scratch_dirs(tmp_path) == []


# ------------------------------------------------------------------ --stage / --from-stage


def test_from_stage_forces_that_stage_and_every_later_one(toy: Toy, tmp_path: Path) -> None:
    run(toy, tmp_path)

    result = run(toy, tmp_path, from_stage="b")

    assert statuses(result) == {"a": "cached", "b": "ran", "c": "ran"}
    assert toy.calls == ["a", "b", "c", "b", "c"]


def test_only_runs_just_that_stage(toy: Toy, tmp_path: Path) -> None:
    run(toy, tmp_path)
    changed = base_config()
    changed["b"]["mode"] = "new"

    result = run(toy, tmp_path, changed, only="b")

    assert [o.name for o in result.outcomes] == ["b"]
    assert statuses(result) == {"b": "ran"}
    assert toy.calls == ["a", "b", "c", "b"]


def test_only_reuses_the_stage_when_it_is_up_to_date(toy: Toy, tmp_path: Path) -> None:
    run(toy, tmp_path)

    assert statuses(run(toy, tmp_path, only="c")) == {"c": "cached"}


def test_only_refuses_a_stage_whose_input_was_never_completed_naming_it(
    toy: Toy, tmp_path: Path
) -> None:
    with pytest.raises(PipelineError, match="input stage 'a' is not complete"):
        run(toy, tmp_path, only="b")
    assert toy.calls == []
    assert not (tmp_path / "r1" / "b").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"only": "x"}, "unknown stage 'x' for --stage; stages: a, b, c"),
        ({"from_stage": "zz"}, "unknown stage 'zz' for --from-stage"),
        ({"only": "a", "from_stage": "b"}, "either --stage or --from-stage"),
    ],
)
def test_bad_selections_are_refused_before_anything_runs(
    toy: Toy, tmp_path: Path, options: dict[str, str], message: str
) -> None:
    with pytest.raises(PipelineError, match=message):
        run(toy, tmp_path, **options)
    assert toy.calls == []


def test_a_run_id_that_is_not_a_plain_folder_name_is_refused(toy: Toy, tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="plain folder name"):
        run_pipeline(
            toy.stages(base_config()),
            root=tmp_path,
            run_id="../escape",
            config=base_config(),
            seed=1,
            code_version="1",
        )


# ------------------------------------------------------------------ checkpoints


def test_a_failing_stage_stops_the_run_and_leaves_no_stage_directory(
    toy: Toy, tmp_path: Path
) -> None:
    toy.fail_in = "b"

    result = run(toy, tmp_path)

    assert statuses(result) == {"a": "ran", "b": "failed"}
    assert result.failed is not None
    assert result.failed.error == "ValueError: b broke"
    assert not (tmp_path / "r1" / "b").exists()
    assert not (tmp_path / "r1" / "c").exists()
    [leftover] = scratch_dirs(tmp_path)
    assert leftover.startswith("b.tmp-")
    traceback_text = (tmp_path / "r1" / leftover / "traceback.txt").read_text()
    assert "ValueError: b broke" in traceback_text

    toy.fail_in = None
    fixed = run(toy, tmp_path)
    assert statuses(fixed) == {"a": "cached", "b": "ran", "c": "ran"}
    assert scratch_dirs(tmp_path) == []


def test_a_stage_whose_record_is_not_valid_json_fails_instead_of_completing(
    tmp_path: Path,
) -> None:
    def nan_details(context: StageContext) -> StageOutput:
        return StageOutput("nan", {"score": float("nan")})

    result = run_pipeline(
        [Stage("a", nan_details)], root=tmp_path, run_id="r1", config={}, seed=0, code_version="1"
    )

    assert statuses(result) == {"a": "failed"}
    assert result.failed is not None
    assert "Out of range float values are not JSON compliant" in (result.failed.error or "")
    assert not (tmp_path / "r1" / "a").exists()
    assert not (result.failed.directory / "manifest.json").exists()


def test_an_interrupted_stage_keeps_its_scratch_until_the_next_run(
    toy: Toy, tmp_path: Path
) -> None:
    toy.interrupt_in = "b"
    recorder = Recorder()

    with pytest.raises(KeyboardInterrupt):
        run(toy, tmp_path, reporter=recorder)

    assert recorder.events[-1] == ("interrupted", "b")
    assert not (tmp_path / "r1" / "b").exists()
    assert [name.split(".tmp-")[0] for name in scratch_dirs(tmp_path)] == ["b"]
    assert inspect_states(toy, tmp_path)["b"] == (
        "interrupted",
        "scratch directory left by a run that stopped",
    )

    toy.interrupt_in = None
    resumed = run(toy, tmp_path)
    assert statuses(resumed) == {"a": "cached", "b": "ran", "c": "ran"}
    assert scratch_dirs(tmp_path) == []


def test_a_scratch_directory_is_never_taken_as_the_stage_even_with_a_manifest(
    toy: Toy, tmp_path: Path
) -> None:
    run(toy, tmp_path, only="a")
    fake = tmp_path / "r1" / "b.tmp-0123abcd"
    fake.mkdir()
    (fake / "b.txt").write_text("half", encoding="utf-8")
    forged = {**manifest(tmp_path, "a"), "stage": "b"}
    (fake / "manifest.json").write_text(json.dumps(forged), encoding="utf-8")

    result = run(toy, tmp_path)

    assert statuses(result) == {"a": "cached", "b": "ran", "c": "ran"}
    assert (tmp_path / "r1" / "b" / "b.txt").read_text() == "1-b"
    assert not fake.exists()


@pytest.mark.parametrize(
    "damage",
    [
        "",  # empty, as after a crash without fsync
        "{not json",
        json.dumps({"stage": "b", "status": "running"}),
        json.dumps({"stage": "a", "status": "complete"}),  # another stage's manifest
    ],
)
def test_a_stage_directory_without_a_valid_manifest_is_run_again(
    toy: Toy, tmp_path: Path, damage: str
) -> None:
    run(toy, tmp_path)
    (tmp_path / "r1" / "b" / "manifest.json").write_text(damage, encoding="utf-8")

    result = run(toy, tmp_path)

    assert statuses(result)["b"] == "ran"
    assert manifest(tmp_path, "b")["status"] == "complete"


def test_stale_scratch_directories_of_the_run_are_removed_at_the_next_run(
    toy: Toy, tmp_path: Path
) -> None:
    for name in ("a.tmp-1", "c.tmp-old-2", "b.tmp-3"):
        (tmp_path / "r1" / name / "deep").mkdir(parents=True)

    run(toy, tmp_path)

    assert scratch_dirs(tmp_path) == []
    assert sorted(p.name for p in (tmp_path / "r1").iterdir() if p.is_dir()) == ["a", "b", "c"]


def test_a_run_held_by_another_process_is_refused(toy: Toy, tmp_path: Path) -> None:
    (tmp_path / "r1").mkdir()
    descriptor = os.open(tmp_path / "r1" / ".lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        with pytest.raises(PipelineError, match="another process"):
            run(toy, tmp_path)
    finally:
        os.close(descriptor)
    assert toy.calls == []


def test_run_info_is_written_for_status(toy: Toy, tmp_path: Path) -> None:
    run(toy, tmp_path, run_info={"selection": {"symbols": ["X"]}})

    assert json.loads((tmp_path / "r1" / "run.json").read_text()) == {
        "selection": {"symbols": ["X"]}
    }


# ------------------------------------------------------------------ optional inputs


def optional_pipeline(seen: list[dict[str, Path]]) -> list[Stage]:
    def first(context: StageContext) -> StageOutput:
        (context.directory / "x.txt").write_text("x", encoding="utf-8")
        return StageOutput("first")

    def reader(context: StageContext) -> StageOutput:
        seen.append(dict(context.inputs))
        return StageOutput("reader")

    return [
        Stage("first", first),
        Stage("reader", reader, inputs=("first",), optional_inputs=("extra",)),
    ]


def test_an_optional_input_outside_the_pipeline_is_used_and_hashed_when_present(
    tmp_path: Path,
) -> None:
    seen: list[dict[str, Path]] = []

    def go() -> dict[str, str]:
        result = run_pipeline(
            optional_pipeline(seen), root=tmp_path, run_id="r1", config={}, seed=0, code_version="1"
        )
        return statuses(result)

    assert go() == {"first": "ran", "reader": "ran"}
    assert set(seen[-1]) == {"first"}
    extra = tmp_path / "r1" / "extra"
    extra.mkdir()
    (extra / "metrics.json").write_text('{"sharpe": 1}', encoding="utf-8")

    assert go() == {"first": "cached", "reader": "ran"}
    assert seen[-1]["extra"] == extra
    assert go() == {"first": "cached", "reader": "cached"}
    (extra / "metrics.json").write_text('{"sharpe": 2}', encoding="utf-8")
    assert go() == {"first": "cached", "reader": "ran"}


def test_an_optional_input_that_is_a_stage_becomes_a_regular_input(tmp_path: Path) -> None:
    seen: list[dict[str, Path]] = []
    stages = optional_pipeline(seen)

    def extra(context: StageContext) -> StageOutput:
        (context.directory / "e.txt").write_text("e", encoding="utf-8")
        return StageOutput("extra")

    stages.insert(1, Stage("extra", extra))
    run_pipeline(stages, root=tmp_path, run_id="r1", config={}, seed=0, code_version="1")

    assert set(seen[-1]) == {"first", "extra"}
    reader = json.loads((tmp_path / "r1" / "reader" / "manifest.json").read_text())
    extra_manifest = json.loads((tmp_path / "r1" / "extra" / "manifest.json").read_text())
    assert reader["input_hashes"]["extra"] == extra_manifest["output_hash"]


# ------------------------------------------------------------------ pipeline definition


def noop(context: StageContext) -> StageOutput:
    return StageOutput("")


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([Stage("a", noop), Stage("a", noop)], "appears twice"),
        ([Stage("b", noop, inputs=("a",)), Stage("a", noop)], "not an earlier stage"),
        ([Stage("A-1", noop)], "must match"),
        ([Stage("a.tmp", noop)], "must match"),
        ([Stage("a", noop, config=("nope.key",))], "config key 'nope.key'"),
        ([Stage("a", noop, optional_inputs=("a",))], "invalid optional input"),
    ],
)
def test_an_invalid_pipeline_is_refused_with_the_reason(stages: list[Stage], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_stages(stages, {"pipeline": {}})


def test_status_reports_missing_stages_of_a_run_never_started(toy: Toy, tmp_path: Path) -> None:
    assert inspect_states(toy, tmp_path) == {
        "a": ("missing", "never run"),
        "b": ("missing", "never run"),
        "c": ("missing", "never run"),
    }


def test_status_names_the_configuration_that_changed(toy: Toy, tmp_path: Path) -> None:
    run(toy, tmp_path)
    changed = base_config()
    changed["pipeline"]["seed"] = 4

    assert inspect_states(toy, tmp_path, changed) == {
        "a": ("complete", ""),
        "b": ("complete", ""),
        "c": ("stale", "configuration changed (pipeline.seed)"),
    }


def inspect_states(
    toy: Toy, root: Path, config: dict[str, Any] | None = None
) -> dict[str, tuple[str, str]]:
    chosen = config or base_config()
    states = inspect_run(
        toy.stages(chosen), root=root, run_id="r1", config=chosen, code_version="1.0"
    )
    return {s.name: (s.state, s.reason) for s in states}
