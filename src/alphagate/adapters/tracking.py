"""Experiment tracking and the model registry, through MLflow on a local SQLite file.

Why an adapter rather than ``mlflow.*`` calls spread through the code:

* **No global state.** MLflow's fluent API (``mlflow.start_run``,
  ``mlflow.log_metric``) keeps the tracking URI and the active run in process
  globals, so two trackers (a test and the CLI, or two stores) would write
  into each other. Everything here goes through one ``MlflowClient`` bound to
  an explicit URI, and the active run is this object's own attribute.
* **No server, no network.** The backend is a ``sqlite:///`` URL and the
  artifacts a local directory given per experiment, so a laptop without a
  connection records runs and registers models. MLflow's usage telemetry is
  switched off before MLflow is imported, because it would otherwise try to
  reach the internet from every process that tracks a run.
* **Numbers JSON and MLflow both accept.** Metrics that are ``None`` or not
  finite (an AUC with one class, a Sharpe of a constant series) are skipped
  rather than stored as NaN, which MLflow's UI and comparisons handle badly
  and which would read as a measurement.
* **Models registered as plain directories.** A model is saved in its
  family's own format (``alphagate.models``), not as an MLflow flavour; the
  registry only needs a source URI and a run, so versions are created with
  ``MlflowClient.create_model_version`` on the logged artifact directory.
"""

from __future__ import annotations

import logging
import math
import os
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from mlflow.entities import Metric, Param, RunStatus
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

_PARAM_BATCH = 100  # MLflow's limit on params per log_batch call
_METRIC_BATCH = 1000  # ... and on metrics
_PARAM_VALUE_LIMIT = 6000  # characters MLflow keeps of one param value


def quiet_mlflow() -> None:
    """Silence MLflow's and Alembic's INFO chatter (schema migrations on a new database)."""
    for name in ("mlflow", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module=r"mlflow(\..*)?")


class MlflowTracker:
    """One MLflow experiment on an explicit backend, with at most one active run.

    Parameters
    ----------
    tracking_uri
        A backend store URL, e.g. ``"sqlite:///runs/mlflow.db"``; the registry
        uses the same store.
    artifact_root
        Directory under which the experiment's artifacts are written, when
        the experiment is created here. An existing experiment keeps the
        location it was created with (MLflow cannot move it).
    experiment
        Experiment name; created when missing, restored when deleted.
    """

    def __init__(self, tracking_uri: str, artifact_root: Path, experiment: str) -> None:
        quiet_mlflow()
        if tracking_uri.startswith("sqlite:///"):
            Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.tracking_uri = tracking_uri
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        self.experiment_id = self._experiment(Path(artifact_root), experiment)
        self._run_id: str | None = None

    def _experiment(self, artifact_root: Path, name: str) -> str:
        """The id of experiment ``name``, created with ``artifact_root`` when missing."""
        found = self.client.get_experiment_by_name(name)
        if found is None:
            artifact_root.mkdir(parents=True, exist_ok=True)
            location = artifact_root.resolve().as_uri()
            return str(self.client.create_experiment(name, artifact_location=location))
        if found.lifecycle_stage == "deleted":
            self.client.restore_experiment(found.experiment_id)
        return str(found.experiment_id)

    @property
    def run_id(self) -> str:
        """The active run's id.

        Raises
        ------
        RuntimeError
            Outside ``start_run``: logging then would silently go nowhere.
        """
        if self._run_id is None:
            raise RuntimeError("no active MLflow run; use `with tracker.start_run(...)`")
        return self._run_id

    @contextmanager
    def start_run(self, run_name: str, tags: Mapping[str, str] | None = None) -> Iterator[str]:
        """Open a run for the block and yield its id; it ends FINISHED, or FAILED on an error.

        A run left RUNNING by a crash would look alive forever in the UI, so
        the status is set whichever way the block exits.
        """
        if self._run_id is not None:
            raise RuntimeError(f"run {self._run_id} is still active; runs do not nest here")
        run = self.client.create_run(
            self.experiment_id,
            run_name=run_name,
            tags={key: str(value) for key, value in (tags or {}).items()},
        )
        self._run_id = run.info.run_id
        status = RunStatus.to_string(RunStatus.FAILED)
        try:
            yield self._run_id
            status = RunStatus.to_string(RunStatus.FINISHED)
        finally:
            self.client.set_terminated(self._run_id, status=status)
            self._run_id = None

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log parameters as strings (truncated to MLflow's limit), in batches it accepts."""
        items = [Param(str(key), str(value)[:_PARAM_VALUE_LIMIT]) for key, value in params.items()]
        for start in range(0, len(items), _PARAM_BATCH):
            self.client.log_batch(self.run_id, params=items[start : start + _PARAM_BATCH])

    def log_metrics(self, metrics: Mapping[str, float | None], step: int | None = None) -> None:
        """Log the finite metrics; ``None``, NaN and infinities are skipped, not stored."""
        stamp = int(time.time() * 1000)
        items = [
            Metric(str(key), float(value), stamp, step or 0)
            for key, value in metrics.items()
            if value is not None and math.isfinite(float(value))
        ]
        for start in range(0, len(items), _METRIC_BATCH):
            self.client.log_batch(self.run_id, metrics=items[start : start + _METRIC_BATCH])

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        """Copy one file into the run's artifacts (under ``artifact_path`` when given)."""
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_model_dir(self, directory: Path, name: str) -> str:
        """Copy a saved model directory into the run's artifacts as ``name``; return its URI."""
        self.client.log_artifacts(self.run_id, str(directory), artifact_path=name)
        return f"runs:/{self.run_id}/{name}"

    def register_model(self, run_id: str, artifact_path: str, name: str) -> int:
        """Register the logged directory ``artifact_path`` of ``run_id`` as a version of ``name``.

        The registered model is created on first use. The version's source is
        the artifact directory's own URI, so the registry points at files
        that exist whatever flavour (none, here) the model has.

        Returns
        -------
        int
            The new version number (1 for a new name, then 2, 3, ...).
        """
        try:
            self.client.create_registered_model(name)
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        artifact_uri = self.client.get_run(run_id).info.artifact_uri
        source = f"{artifact_uri.rstrip('/')}/{artifact_path}"
        version = self.client.create_model_version(name, source=source, run_id=run_id)
        return int(version.version)


class ModelRegistry:
    """The registry side of one MLflow store: tags and aliases on registered model versions.

    The gates mirror a candidate's state here so MLflow's UI shows it; the
    trading database stays the record. Every write is idempotent (a tag set
    twice, an alias moved to where it is), so a mirror that failed half-way
    is simply written again.
    """

    def __init__(self, tracking_uri: str) -> None:
        quiet_mlflow()
        self.tracking_uri = tracking_uri
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def version_tags(self, name: str, version: int) -> dict[str, str]:
        """The tags of version ``version`` of registered model ``name``."""
        return dict(self.client.get_model_version(name, str(version)).tags)

    def tag_version(self, name: str, version: int, tags: Mapping[str, str]) -> None:
        """Set ``tags`` on one model version (others are left as they are)."""
        for key, value in tags.items():
            self.client.set_model_version_tag(name, str(version), key, value)

    def point_alias(self, name: str, alias: str, version: int) -> None:
        """Make ``alias`` of model ``name`` point at ``version`` (moved from any other)."""
        self.client.set_registered_model_alias(name, alias, str(version))

    def drop_alias_at(self, name: str, alias: str, version: int) -> None:
        """Delete ``alias`` of model ``name`` if it points at ``version``; else leave it."""
        aliases = self.client.get_registered_model(name).aliases or {}
        if str(aliases.get(alias)) == str(version):
            self.client.delete_registered_model_alias(name, alias)
