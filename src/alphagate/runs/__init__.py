"""The one owner of a run directory's layout (ring 6).

A run is ``<runs>/<run_id>/``, made by ``alphagate train`` or by ``alphagate
pipeline run``. This package knows both layouts (``layout``), finds a run by
id whatever made it and loads what a model needs from it (``finding``), and
reads and writes its JSON files atomically (``json_files``) and each
horizon's feature profiles (``profiles``). Every other
module asks it rather than joining paths itself, so a change of layout is a
change here.

It sits beside ``gates`` and ``pipeline`` and imports neither the adapters,
the composition root (``app``) nor the command line.
"""

from alphagate.runs.finding import (
    Run,
    RunKind,
    RunNotFoundError,
    RunNotTrainedError,
    find_run,
    list_runs,
)
from alphagate.runs.json_files import read_json, read_json_or_none, write_json
from alphagate.runs.layout import horizon_folders, horizon_name, read_stage_manifest
from alphagate.runs.profiles import read_feature_profiles, write_feature_profiles

__all__ = [
    "Run",
    "RunKind",
    "RunNotFoundError",
    "RunNotTrainedError",
    "find_run",
    "horizon_folders",
    "horizon_name",
    "list_runs",
    "read_feature_profiles",
    "read_json",
    "read_json_or_none",
    "read_stage_manifest",
    "write_feature_profiles",
    "write_json",
]
