"""``map`` over independent tasks: local processes by default, a Ray cluster when configured.

Stress scenarios (and any other fan-out of pure, seeded work) go through here,
so where work runs is one setting (``parallel.backend``) and never a branch in
the callers. Results come back in the order of the inputs, whichever worker
finished first, so a summary built from them is the same bytes with one
worker or many.

Local workers are started with the ``spawn`` context rather than ``fork``: a
forked child inherits the parent's threads' locks (BLAS, LightGBM, logging)
in whatever state they were, which deadlocks now and then; a spawned child
imports what it needs afresh. ``workers=1`` runs in this process, with no
pickling at all, which is what tests and debuggers want.

What all tasks share (a bars history, a trained model) is passed once as
``shared``: each worker unpickles it once, not once per task.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar

from alphagate.errors import ConfigError

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

Backend = Literal["local", "ray"]

_shared: Any = None
"""The ``shared`` value of the map this worker process serves (set by :func:`_install`)."""


def default_workers() -> int:
    """One worker per CPU this process may use (its affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class TaskFailure:
    """A task that raised, kept in its place when ``map`` was asked to keep going.

    ``error`` is ``"TypeName: message"``; ``traceback`` the worker's formatted
    traceback, for the log.
    """

    index: int
    error: str
    traceback: str


def map(
    fn: Callable[[S, T], R],
    items: Iterable[T],
    *,
    shared: S,
    workers: int | None = None,
    backend: Backend = "local",
    ray_address: str | None = None,
    failures: Literal["raise", "keep"] = "raise",
    on_result: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """``[fn(shared, item) for item in items]``, in input order, spread over worker processes.

    Named after the builtin it generalises, as the design calls it (``parallel.map``).

    Parameters
    ----------
    fn
        A picklable top-level function; each call must depend only on its
        arguments, so the results do not depend on which worker ran what.
    shared
        What every call gets first, sent to each worker once (Ray: put in
        its object store once).
    workers
        Processes to use; ``None`` means one per CPU, ``1`` runs in-process.
        With Ray, the CPUs a local Ray instance starts with.
    backend
        ``local`` (processes here) or ``ray``.
    ray_address
        With ``ray``: the cluster to join (``ray://host:10001`` or
        ``host:6379``); ``None`` starts a local instance on loopback, or uses
        the one this process already started.
    failures
        ``raise``: the first failed task's error ends the map. ``keep``: a
        failed task's result is a :class:`TaskFailure` in its place, and the
        others run on.
    on_result
        Called in this process with ``(index, result)`` as each result arrives,
        in completion order: for progress bars, never for the results themselves.

    Raises
    ------
    ConfigError
        For ``workers < 1``, or the ray backend without ray installed.
    """
    tasks = list(items)
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    keep = failures == "keep"
    if backend == "ray":
        return _map_ray(
            fn, shared, tasks, keep=keep, on_result=on_result, workers=workers, address=ray_address
        )
    count = min(workers or default_workers(), max(1, len(tasks)))
    if count == 1:
        return _map_here(fn, shared, tasks, keep, on_result)
    return _map_processes(fn, shared, tasks, workers=count, keep=keep, on_result=on_result)


def run_task(
    fn: Callable[[S, T], R], shared: S, task: T, index: int, keep: bool
) -> R | TaskFailure:
    """One call, its exception kept as a :class:`TaskFailure` when ``keep``."""
    if not keep:
        return fn(shared, task)
    try:
        return fn(shared, task)
    except Exception as error:  # kept per task, reported by the caller
        return TaskFailure(index, f"{type(error).__name__}: {error}", traceback.format_exc())


def _map_here(
    fn: Callable[[S, T], R],
    shared: S,
    tasks: list[T],
    keep: bool,
    on_result: Callable[[int, Any], None] | None,
) -> list[Any]:
    results: list[Any] = []
    for index, task in enumerate(tasks):
        results.append(run_task(fn, shared, task, index, keep))
        if on_result is not None:
            on_result(index, results[-1])
    return results


def _install(shared: object) -> None:
    global _shared  # noqa: PLW0603 - one value per worker process, set once at its start
    _shared = shared


def _call(fn: Callable[[Any, T], R], task: T, index: int, keep: bool) -> R | TaskFailure:
    return run_task(fn, _shared, task, index, keep)


def _map_processes(
    fn: Callable[[S, T], R],
    shared: S,
    tasks: list[T],
    *,
    workers: int,
    keep: bool,
    on_result: Callable[[int, Any], None] | None,
) -> list[Any]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_install, initargs=(shared,)
    ) as pool:
        futures = [pool.submit(_call, fn, task, i, keep) for i, task in enumerate(tasks)]
        if on_result is not None:
            index_of = {future: index for index, future in enumerate(futures)}
            for future in as_completed(futures):
                on_result(index_of[future], future.result())
        return [future.result() for future in futures]


RAY_LOCAL: Final = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
"""Set (unless the user set them) before a local Ray starts.

Ray's single-machine mode (the first variable: off by default on Linux, where
Ray expects to be part of a cluster) keeps every listener, the GCS, raylets,
workers, on loopback; otherwise a local instance listens on all the
machine's interfaces. The second turns usage reporting off."""


def start_ray(workers: int | None = None, address: str | None = None) -> Any:
    """The ``ray`` module, initialised: joined to ``address``, or a local instance.

    A local instance listens on loopback only (:data:`RAY_LOCAL`, which Ray
    reads when it is first imported: let this function import it) and starts
    without its dashboard; one this process already started is reused.

    Raises
    ------
    ConfigError
        When ray is not installed.
    """
    if address is None:
        # Read by Ray when it is imported: set first (a ray imported earlier by the
        # caller, without them, starts a local instance on every interface).
        for name, value in RAY_LOCAL.items():
            os.environ.setdefault(name, value)
    try:
        import ray  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise ConfigError(
            "parallel.backend is ray but ray is not installed; `pip install 'alphagate[ray]'` "
            "(or `pip install ray`), or set parallel.backend: local"
        ) from None
    ray_any: Any = ray
    if ray_any.is_initialized():
        return ray_any
    if address is not None:
        ray_any.init(address=address, log_to_driver=False)
    else:
        # Local workers import what this process can, as spawned processes do.
        path = os.pathsep.join(p for p in sys.path if p)
        ray_any.init(
            num_cpus=workers or default_workers(),
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": path}},
        )
    return ray_any


def _map_ray(
    fn: Callable[[S, T], R],
    shared: S,
    tasks: list[T],
    *,
    keep: bool,
    on_result: Callable[[int, Any], None] | None,
    workers: int | None,
    address: str | None,
) -> list[Any]:
    ray = start_ray(workers, address)
    remote = ray.remote(run_task)
    shared_ref = ray.put(shared)
    refs = [remote.remote(fn, shared_ref, task, i, keep) for i, task in enumerate(tasks)]
    index_of = {ref: index for index, ref in enumerate(refs)}
    results: list[Any] = [None] * len(refs)
    pending = list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        for ref in done:
            index = index_of[ref]
            results[index] = ray.get(ref)
            if on_result is not None:
                on_result(index, results[index])
    return results


def stop_ray() -> None:
    """Shut down the Ray instance this process started or joined (nothing if none)."""
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()
