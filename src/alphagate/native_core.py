"""The engine's compiled core: which modules are compiled, and never running a stale build.

The event engine calls a strategy on every bar and moves every order through
a state machine, a venue and a portfolio: small Python objects, millions of
calls. The modules on that path are compiled to C by mypyc when alphagate is
installed (``setup.py``), from the same typed sources, with the same results
(a test runs both and compares every output). Compiled, a run takes about
two thirds of the time (``benchmarks/bench_backtest.py``).

The build is optional: where no C compiler is found it warns and installs
the pure-Python package. At import, :func:`load_fresh_modules` makes sure a
compiled module only ever runs for the exact source it was built from. The
build writes :data:`MANIFEST_NAME` beside this file, the SHA-256 of each
compiled source; when any source differs (edited or checked out since the
build), when the manifest is missing, or when ``ALPHAGATE_PURE_PYTHON=1`` is
set, every module of :data:`COMPILED_MODULES` is loaded from its ``.py``
instead. All or none: compiled modules call each other directly, so a mix
could run a stale compiled module behind a fresh one. ``make setup`` rebuilds.

What compiling changes for a caller: compiled classes cannot be subclassed
by interpreted ones (wrap them, or depend on a protocol such as
:class:`~alphagate.execution.venue.BarVenue`), their arguments' annotations
are checked at run time, and ``raise ... from`` needs
:func:`~alphagate.errors.caused_by`. Profilers see compiled functions as one
opaque call: set ``ALPHAGATE_PURE_PYTHON=1`` to profile or step through them.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Final, NamedTuple

COMPILED_MODULES: Final = (
    "alphagate.domain.bar",
    "alphagate.domain.ids",
    "alphagate.domain.order_state",
    "alphagate.domain.orders",
    "alphagate.domain.positions",
    "alphagate.domain.value_record",
    "alphagate.engine.book_log",
    "alphagate.engine.builtin",
    "alphagate.engine.loop",
    "alphagate.engine.strategy",
    "alphagate.execution.commission",
    "alphagate.execution.contingent",
    "alphagate.execution.fill_models",
    "alphagate.execution.portfolio",
    "alphagate.execution.venue",
)
"""The modules mypyc compiles: the per-bar and per-order path, and the types it builds."""

MANIFEST_NAME: Final = "native_manifest.json"
PURE_PYTHON_ENV: Final = "ALPHAGATE_PURE_PYTHON"

_PACKAGE_DIR: Final = Path(__file__).resolve().parent
_status: str = "not checked"


def source_path(module: str, package_dir: Path = _PACKAGE_DIR) -> Path:
    """The ``.py`` file of one of the package's modules (``alphagate.x.y`` -> ``x/y.py``)."""
    return package_dir.joinpath(*module.split(".")[1:]).with_suffix(".py")


def source_hashes(package_dir: Path = _PACKAGE_DIR) -> dict[str, str]:
    """SHA-256 of each compiled module's source, as the build records them in the manifest."""
    return {
        module: hashlib.sha256(source_path(module, package_dir).read_bytes()).hexdigest()
        for module in COMPILED_MODULES
    }


class CoreChoice(NamedTuple):
    """Which modules run: the compiled ones (``reason is None``) or the sources, and why."""

    reason: str | None
    stale: bool = False  # a compiled build exists but does not match its sources


def choose_core(
    package_dir: Path = _PACKAGE_DIR, environ: Mapping[str, str] | None = None
) -> CoreChoice:
    """Decide between the compiled modules and their sources; see the module docstring."""
    env = os.environ if environ is None else environ
    if env.get(PURE_PYTHON_ENV, "") not in ("", "0"):
        return CoreChoice(f"{PURE_PYTHON_ENV} is set")
    manifest = package_dir / MANIFEST_NAME
    if not manifest.is_file():
        return CoreChoice("this install was not compiled (no C compiler, or a plain source tree)")
    try:
        built = json.loads(manifest.read_text(encoding="utf-8"))["sources"]
        stale = [m for m, digest in source_hashes(package_dir).items() if built.get(m) != digest]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return CoreChoice(f"{manifest} is unreadable ({exc})", stale=True)
    if stale:
        reason = (
            f"the compiled build is older than {', '.join(stale)} "
            "(`make setup` or `pip install -e .` rebuilds it)"
        )
        return CoreChoice(reason, stale=True)
    return CoreChoice(None)


class _SourceFinder:
    """Finds the compiled modules' ``.py`` files, ahead of the extension modules beside them.

    A meta path finder by protocol (``find_spec``) rather than by subclassing
    ``importlib.abc.MetaPathFinder``, whose import pulls in ``importlib.resources``
    and ``tempfile``: 20 ms on every start-up.
    """

    def __init__(self, package_dir: Path) -> None:
        self._package_dir = package_dir

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in COMPILED_MODULES:
            return None
        return importlib.util.spec_from_file_location(
            fullname, source_path(fullname, self._package_dir)
        )


def load_fresh_modules() -> None:
    """Before any compiled module is imported, fall back to the sources unless the build is fresh.

    Called once by ``alphagate/__init__.py``. A fallback because the build is
    stale warns (a slow run nobody asked for); one asked for, or an install
    that was never compiled, does not.
    """
    global _status  # noqa: PLW0603 - decided once per process, read by native_status()
    choice = choose_core()
    if choice.reason is None:
        _status = "compiled (mypyc)"
        return
    _status = f"pure Python: {choice.reason}"
    if choice.stale:
        warnings.warn(f"alphagate runs its engine as pure Python: {choice.reason}", stacklevel=2)
    sys.meta_path.insert(0, _SourceFinder(_PACKAGE_DIR))


def native_status() -> str:
    """How the engine's core runs in this process: ``compiled (mypyc)`` or ``pure Python: why``."""
    return _status
