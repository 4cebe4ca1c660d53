"""What a pipeline stage is: a name, what it depends on, and a function that writes files.

A stage declares its dependencies instead of discovering them, because the
runner must know them *before* running anything: to skip a stage whose
inputs are unchanged, to invalidate every stage after a changed one, and to
refuse ``--stage S`` when an input of ``S`` was never completed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STAGE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
"""Stage names become directory names and CLI values: lower case, no dots or dashes.

A dot or a dash could collide with the ``<stage>.tmp-<uuid>`` scratch directories.
"""


@dataclass(frozen=True)
class StageOutput:
    """What a stage function reports back beside the files it wrote.

    Attributes
    ----------
    summary
        One short line for the summary table ("2 symbols, 1,508 bars").
    details
        JSON-ready facts recorded in the stage's manifest under ``outputs``,
        for later stages and for people (coverage, metrics, choices).
    """

    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StageContext:
    """Everything a stage function may use; it must write only into ``directory``.

    Attributes
    ----------
    run_id
        The run's name.
    run_dir
        ``<root>/<run_id>``, for stages that read optional files of the run.
    directory
        The stage's scratch directory; it becomes ``run_dir/<stage>`` once the
        function returns and the manifest is written.
    inputs
        Complete directories of the stages named in ``inputs`` (and of the
        ``optional_inputs`` that exist), by stage name.
    manifests
        Their manifests, by stage name (``outputs`` holds each one's details).
    seed
        The run's seed.
    say
        Report one line of progress.
    """

    run_id: str
    run_dir: Path
    directory: Path
    inputs: Mapping[str, Path]
    manifests: Mapping[str, Mapping[str, Any]]
    seed: int
    say: Callable[[str], None]


StageFunction = Callable[[StageContext], StageOutput]


@dataclass(frozen=True)
class Stage:
    """One step of a pipeline.

    Attributes
    ----------
    name
        Directory name under the run and the value of ``--stage``.
    run
        Writes the stage's files into ``context.directory``.
    inputs
        Earlier stages whose outputs it reads; each must be complete first,
        and a change in one re-runs this stage.
    config
        Dotted keys of the run's configuration it depends on (``"labels"``,
        ``"pipeline.seed"``); only these enter its configuration hash, so
        changing a validation threshold does not retrain a model.
    optional_inputs
        Inputs used when present: a stage of that name earlier in the
        pipeline, or else an existing ``run_dir/<name>/`` directory written
        by something else (hashed by its files). Absent ones are simply not
        given, so a later stage can be added by one entry in the list.
    description
        One line for ``pipeline status`` and help texts.
    """

    name: str
    run: StageFunction
    inputs: tuple[str, ...] = ()
    config: tuple[str, ...] = ()
    optional_inputs: tuple[str, ...] = ()
    description: str = ""


def check_stages(stages: tuple[Stage, ...] | list[Stage], config: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` unless ``stages`` form a valid pipeline over ``config``.

    Names must be unique and well formed, every input an *earlier* stage (so
    running in list order always has its inputs), and every config key present.
    """
    seen: set[str] = set()
    for stage in stages:
        if not STAGE_NAME.match(stage.name):
            raise ValueError(f"stage name {stage.name!r} must match {STAGE_NAME.pattern}")
        if stage.name in seen:
            raise ValueError(f"stage {stage.name!r} appears twice")
        for name in stage.inputs:
            if name not in seen:
                raise ValueError(
                    f"stage {stage.name!r} reads {name!r}, which is not an earlier stage"
                )
        for name in stage.optional_inputs:
            if not STAGE_NAME.match(name) or name == stage.name:
                raise ValueError(f"stage {stage.name!r} has an invalid optional input {name!r}")
        for key in stage.config:
            lookup(config, key, stage.name)
        seen.add(stage.name)


def lookup(config: Mapping[str, Any], dotted: str, stage: str) -> Any:
    """The value at ``dotted`` in nested ``config``; ``ValueError`` naming the stage if absent."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ValueError(f"stage {stage!r} depends on config key {dotted!r}, which is absent")
        node = node[part]
    return node
