"""The generic research-pipeline machinery: stages, checkpoints, manifests, skipping.

Nothing here knows what a stage computes. A stage is a name, the earlier
stages and configuration keys it depends on, and a function that writes files
into a directory it is given. The runner (``runner.py``) decides what to run,
gives each stage a temporary directory under ``<root>/<run_id>/``, and renames
it into place only after the stage's ``manifest.json`` is written and synced,
so a directory named after a stage is always a complete stage.

The concrete stages live in ``alphagate.app.pipeline`` (the composition ring);
this package sits below the adapters and may not import them, the CLI or the
composition modules.
"""

from alphagate.pipeline.runner import (
    PipelineError,
    PipelineResult,
    StageOutcome,
    StageState,
    inspect_run,
    run_pipeline,
)
from alphagate.pipeline.stage import Stage, StageContext, StageOutput

__all__ = [
    "PipelineError",
    "PipelineResult",
    "Stage",
    "StageContext",
    "StageOutcome",
    "StageOutput",
    "StageState",
    "inspect_run",
    "run_pipeline",
]
