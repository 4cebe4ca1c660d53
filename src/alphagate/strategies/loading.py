"""The strategy a user named: a built-in's name, or a class of their own by where it lives.

``--strategy`` takes one of three spellings:

- ``sma_cross``: a built-in (:data:`~alphagate.strategies.builtin.STRATEGIES`);
- ``package.module:ClassName``: a class in a module importable from
  ``sys.path`` or from the current folder (as ``python -m`` would find it;
  the ``alphagate`` script alone does not put the current folder on the path);
- ``path/to/file.py:ClassName``: a class in a file, loaded under a private
  module name (``_alphagate_strategy_file_<stem>_<hash>``), so a file called
  ``json.py`` or ``alphagate.py`` neither shadows nor replaces a module of
  the same name. Its folder is searched while it loads, so it may import
  modules beside it.

A user's class is built with the same parameter parsing as the built-ins
(:mod:`alphagate.strategies.parameters`) and then checked against the
:class:`~alphagate.domain.strategy.Strategy` contract here, before any bar
is read, so a wrong path or a missing member fails in a second with a
message that says what to fix, not in the middle of a run.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import operator
import re
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Final

from alphagate.domain.strategy import Strategy
from alphagate.errors import ConfigError
from alphagate.strategies.builtin import make_strategy
from alphagate.strategies.parameters import ParameterValue, constructor_arguments, did_you_mean

STRATEGY_MEMBERS: Final = ("name", "warmup", "on_bar")
"""What every strategy has (:class:`~alphagate.domain.strategy.Strategy`)."""

_GUIDE: Final = "see docs/strategies.md"


def load_strategy(spec: str, params: Mapping[str, ParameterValue] | None = None) -> Strategy:
    """Build the strategy ``spec`` names (see the module docstring) with ``params``.

    Raises
    ------
    ConfigError
        When the module or file cannot be found or imported, it has no such
        class (the message lists the classes it has), the class lacks a
        member of the Strategy contract (named), or its constructor refuses
        a parameter (named, with the ones it accepts).
    """
    if ":" not in spec:
        return make_strategy(spec, params)
    where, _, class_name = spec.rpartition(":")
    if not where or not class_name.isidentifier():
        raise ConfigError(
            f"--strategy {spec!r}: expected package.module:ClassName or "
            f"path/to/file.py:ClassName ({_GUIDE})"
        )
    module = _import_file(Path(where)) if _names_a_file(where) else _import_module(where)
    cls = _class_in(module, where, class_name)
    arguments = constructor_arguments(spec, cls, params or {})
    try:
        strategy = cls(**arguments)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{spec}: {exc}") from exc
    _check_contract(spec, strategy)
    return strategy  # type: ignore[no-any-return]


def _names_a_file(where: str) -> bool:
    return where.endswith(".py") or "/" in where or "\\" in where


def _import_module(name: str) -> ModuleType:
    """Import ``name`` from ``sys.path``, then also from the current folder."""
    if name.startswith(".") or not all(part.isidentifier() for part in name.split(".")):
        raise ConfigError(
            f"--strategy: {name!r} is not a module name like package.module; "
            f"for a file, give its path ending in .py ({_GUIDE})"
        )
    with _searched(Path.cwd()):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and (name == exc.name or name.startswith(f"{exc.name}.")):
                raise ConfigError(
                    f"no module {name!r} in the current folder or on the Python path; "
                    "run from the folder that holds it, add that folder to PYTHONPATH, "
                    f"or give the file: path/to/{name.rpartition('.')[2]}.py:ClassName"
                ) from exc
            raise _import_failed(name, exc) from exc
        except Exception as exc:  # the module is the user's: at import it may raise anything
            raise _import_failed(name, exc) from exc


def _import_file(path: Path) -> ModuleType:
    """Run the file ``path`` as a module under a private name; see the module docstring."""
    if not path.is_file():
        raise ConfigError(
            f"no file {str(path)!r} (from --strategy); give the path of a .py file, "
            "relative to the current folder or absolute"
        )
    resolved = path.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    stem = re.sub(r"\W", "_", resolved.stem)
    module_name = f"_alphagate_strategy_file_{stem}_{digest}"
    found = importlib.util.spec_from_file_location(module_name, resolved)
    if found is None or found.loader is None:
        raise ConfigError(f"cannot load {str(path)!r} as Python: give a .py file")
    module = importlib.util.module_from_spec(found)
    # Registered while it runs: dataclasses and typing look a class's module
    # up in sys.modules to read its annotations.
    sys.modules[module_name] = module
    try:
        with _searched(resolved.parent):
            found.loader.exec_module(module)
    except Exception as exc:  # the file is the user's: it may raise anything
        sys.modules.pop(module_name, None)
        raise _import_failed(str(path), exc) from exc
    return module


@contextmanager
def _searched(folder: Path) -> Iterator[None]:
    """Search ``folder`` for imports, after everything on ``sys.path``, until the block ends.

    Appended, not prepended: a user's ``numpy.py`` must not replace NumPy.
    ``""`` on the path already means the current folder.
    """
    entry = str(folder)
    present = entry in sys.path or (folder == Path.cwd() and "" in sys.path)
    if not present:
        sys.path.append(entry)
    try:
        yield
    finally:
        if not present and entry in sys.path:
            sys.path.remove(entry)


def _import_failed(what: str, exc: Exception) -> ConfigError:
    """Say that importing ``what`` raised, and where, without the traceback."""
    place = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames and not isinstance(exc, SyntaxError):  # a SyntaxError names its own line
        place = f" at {frames[-1].filename}, line {frames[-1].lineno}"
    return ConfigError(f"importing {what!r} failed{place}: {type(exc).__name__}: {exc}")


def _class_in(module: ModuleType, where: str, class_name: str) -> type:
    """The class ``class_name`` of ``module``, or an error listing the classes it defines."""
    found = getattr(module, class_name, None)
    if found is None:
        classes = sorted(
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and value.__module__ == module.__name__
        )
        listed = ", ".join(classes) if classes else "none"
        raise ConfigError(
            f"{where} has no class {class_name!r}{did_you_mean(class_name, classes)} "
            f"(classes defined there: {listed})"
        )
    if not isinstance(found, type):
        raise ConfigError(
            f"{where}:{class_name} is a {type(found).__name__}, not a class; "
            f"name the class that implements the strategy ({_GUIDE})"
        )
    return found


def _check_contract(spec: str, strategy: object) -> None:
    """Refuse an object that lacks a Strategy member or has one of the wrong kind."""
    missing = [member for member in STRATEGY_MEMBERS if not hasattr(strategy, member)]
    if missing:
        raise ConfigError(
            f"{spec} is not a Strategy: it has no {', '.join(missing)} (a strategy needs "
            f"{', '.join(STRATEGY_MEMBERS)}; {_GUIDE})"
        )
    name = getattr(strategy, "name")  # noqa: B009 (checked above; the type is object)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{spec}: name must be non-empty text, got {name!r}")
    warmup = getattr(strategy, "warmup")  # noqa: B009
    try:
        bars = operator.index(warmup)
    except TypeError:
        bars = -1
    if bars < 0:
        raise ConfigError(f"{spec}: warmup must be a whole number of bars >= 0, got {warmup!r}")
    if not callable(getattr(strategy, "on_bar")):  # noqa: B009
        raise ConfigError(f"{spec}: on_bar must be a method taking the context, not a value")
