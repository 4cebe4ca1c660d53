"""A stage's manifest and the hashes that decide whether it can be reused.

A stage is reusable when three things are unchanged since it ran: what it
read (``input_hashes``: the output hash of each upstream stage), the part of
the configuration it depends on (``config_hash``), and the code
(``code_version``). The manifest records them, with the seed, timings and
memory, and is the last file written into a stage: a directory without a
valid manifest is not a stage.

Writes are durable, not only atomic: the manifest is fsynced, then its
directory, before the directory is renamed into place, and the parent is
fsynced after the rename. Without the fsyncs a power cut could leave a
renamed directory whose manifest is empty.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from alphagate.atomic import fsync_directory
from alphagate.pipeline.stage import lookup
from alphagate.runs.json_files import write_json
from alphagate.runs.layout import MANIFEST, read_stage_manifest

_CHUNK = 1 << 20


def config_hash(config: Mapping[str, Any], keys: Iterable[str]) -> str:
    """sha256 of the values at ``keys`` (dotted) in ``config``, as canonical JSON.

    The keys themselves are part of the hash, so moving a value to another key
    changes it; key order in ``config`` does not.
    """
    picked = {key: lookup(config, key, "?") for key in sorted(keys)}
    payload = json.dumps(picked, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def directory_hash(directory: Path, *, skip: Iterable[str] = (MANIFEST,)) -> str:
    """sha256 over every file under ``directory``: relative path, size and content.

    Files are visited in sorted path order, so the hash depends only on what is
    there, not on the order the file system lists it. Top-level names in
    ``skip`` (the manifest itself) are left out.
    """
    skipped = set(skip)
    digest = hashlib.sha256()
    files = sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and path.relative_to(directory).parts[0] not in skipped
    )
    for path in files:
        relative = path.relative_to(directory).as_posix()
        digest.update(f"{relative}\0{path.stat().st_size}\0".encode())
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def read_manifest(directory: Path, stage: str) -> dict[str, Any] | None:
    """The manifest of a complete stage in ``directory``, or ``None``.

    ``None`` when there is no manifest, it is not valid JSON, names another
    stage, or does not say ``complete``: all of these mean "not a finished
    stage", never an error, so a damaged stage is simply run again. The rule
    is the run layout's (``alphagate.runs``), shared with every reader of runs.
    """
    return read_stage_manifest(directory, stage)


def write_manifest(directory: Path, manifest: Mapping[str, Any]) -> None:
    """Write ``manifest.json`` into ``directory`` atomically, then fsync the directory.

    NaN is refused: a stage whose record is not JSON fails rather than
    writing a manifest no strict reader can load.
    """
    write_json(directory / MANIFEST, manifest)
    fsync_directory(directory)
