"""A candidate's gate state, mirrored onto its run's registered MLflow model versions.

The trading database is the record of every move; MLflow's registry is
where people look for models. So every model version a candidate's run
registered (one per horizon, named in its training manifest) carries:

* the tags ``alphagate.gate_state`` (the candidate's state),
  ``alphagate.candidate`` (its id) and ``alphagate.gate_reason`` (why, cut
  to 500 characters);
* the alias ``live`` on the version of a candidate that is live (MLflow
  keeps one version per alias, so it names the model that went live last),
  removed from that version when it is retired.

The mirror is reconciled, not replayed: each pass compares the tag with
the database and writes where they differ (:func:`sync`), so a mirror that
failed (MLflow's database locked, a folder moved) is logged and written by
the next pass. It never raises into a gate: a candidate moves whether or
not MLflow heard of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from alphagate.errors import AlphagateError
from alphagate.gates.candidates import GateState, Transition
from alphagate.runs import find_run

STATE_TAG = "alphagate.gate_state"
CANDIDATE_TAG = "alphagate.candidate"
REASON_TAG = "alphagate.gate_reason"
LIVE_ALIAS = "live"
_REASON_CHARACTERS = 500

log = logging.getLogger("alphagate.gates")


def model_versions(registration: Transition) -> tuple[str | None, list[tuple[str, int]]]:
    """The tracking URI and ``(model name, version)`` pairs of a candidate's run.

    Found through the registration's ``run_dir`` evidence and the run's
    training manifest; a run trained without the registry gives none.
    """
    run_dir = registration.evidence.get("run_dir")
    if not run_dir:
        return None, []
    try:
        manifest = find_run(Path(str(run_dir)).parent, registration.run_id).training_manifest()
    except AlphagateError:
        return None, []
    mlflow = manifest.get("mlflow") or {}
    models: Mapping[str, Mapping[str, object]] = mlflow.get("models") or {}
    found = [(str(m["name"]), int(str(m["version"]))) for m in models.values()]
    return mlflow.get("tracking_uri"), found


def mirror(registration: Transition, latest: Transition) -> None:
    """Write ``latest``'s state onto the run's model versions where it is not there yet.

    Raises whatever MLflow raises; :func:`mirror_quietly` and :func:`sync`
    are the callers that must not.
    """
    uri, versions = model_versions(registration)
    if uri is None or not versions:
        return
    from alphagate.adapters.tracking import ModelRegistry

    registry = ModelRegistry(uri)
    state = latest.target.value
    for name, version in versions:
        if registry.version_tags(name, version).get(STATE_TAG) != state:
            registry.tag_version(
                name,
                version,
                {
                    STATE_TAG: state,
                    CANDIDATE_TAG: latest.candidate_id,
                    REASON_TAG: latest.reason[:_REASON_CHARACTERS],
                },
            )
        if latest.target is GateState.LIVE:
            registry.point_alias(name, LIVE_ALIAS, version)
        elif latest.target is GateState.RETIRED:
            registry.drop_alias_at(name, LIVE_ALIAS, version)


def mirror_quietly(registration: Transition, latest: Transition) -> bool:
    """:func:`mirror`, a failure logged instead of raised; return whether it was written."""
    try:
        mirror(registration, latest)
    except Exception as error:  # MLflow fails in many ways; none may stop a gate
        log.warning(
            "could not mirror candidate %s (%s) to MLflow: %r; the next pass retries",
            latest.candidate_id,
            latest.target,
            error,
        )
        return False
    return True


def sync(histories: Iterable[Sequence[Transition]]) -> list[str]:
    """Mirror every candidate's current state; return the ids whose mirror failed."""
    return [
        history[-1].candidate_id
        for history in histories
        if history and not mirror_quietly(history[0], history[-1])
    ]
