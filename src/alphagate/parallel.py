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
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Literal, TypeVar

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


def map(
    fn: Callable[[S, T], R],
    items: Iterable[T],
    *,
    shared: S,
    workers: int | None = None,
    backend: Backend = "local",
    on_result: Callable[[int, R], None] | None = None,
) -> list[R]:
    """``[fn(shared, item) for item in items]``, in input order, spread over worker processes.

    Named after the builtin it generalises, as the design calls it (``parallel.map``).

    Parameters
    ----------
    fn
        A picklable top-level function; each call must depend only on its
        arguments, so the results do not depend on which worker ran what.
    shared
        What every call gets first, sent to each worker once.
    workers
        Processes to use; ``None`` means one per CPU, ``1`` runs in-process.
    backend
        ``local`` (processes here) or ``ray`` (``ray.init()`` joins the cluster
        ``RAY_ADDRESS`` names, or starts a local one).
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
    count = min(workers or default_workers(), max(1, len(tasks)))
    if backend == "ray":
        return _map_ray(fn, shared, tasks, on_result)
    if count == 1:
        return _map_here(fn, shared, tasks, on_result)
    return _map_processes(fn, shared, tasks, count, on_result)


def _map_here(
    fn: Callable[[S, T], R], shared: S, tasks: list[T], on_result: Callable[[int, R], None] | None
) -> list[R]:
    results: list[R] = []
    for index, task in enumerate(tasks):
        results.append(fn(shared, task))
        if on_result is not None:
            on_result(index, results[-1])
    return results


def _install(shared: object) -> None:
    global _shared  # noqa: PLW0603 - one value per worker process, set once at its start
    _shared = shared


def _call(fn: Callable[[Any, T], R], task: T) -> R:
    return fn(_shared, task)


def _map_processes(
    fn: Callable[[S, T], R],
    shared: S,
    tasks: list[T],
    workers: int,
    on_result: Callable[[int, R], None] | None,
) -> list[R]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_install, initargs=(shared,)
    ) as pool:
        futures = [pool.submit(_call, fn, task) for task in tasks]
        if on_result is not None:
            index_of = {future: index for index, future in enumerate(futures)}
            for future in as_completed(futures):
                on_result(index_of[future], future.result())
        return [future.result() for future in futures]


def _map_ray(
    fn: Callable[[S, T], R],
    shared: S,
    tasks: list[T],
    on_result: Callable[[int, R], None] | None,
) -> list[R]:
    try:
        import ray  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise ConfigError(
            "parallel.backend is ray but ray is not installed; `pip install ray`, "
            "or set parallel.backend: local"
        ) from None
    ray_any: Any = ray
    if not ray_any.is_initialized():
        ray_any.init()
    remote = ray_any.remote(fn)
    shared_ref = ray_any.put(shared)
    refs = [remote.remote(shared_ref, task) for task in tasks]
    results: list[R] = list(ray_any.get(refs))
    if on_result is not None:
        for index, result in enumerate(results):
            on_result(index, result)
    return results
