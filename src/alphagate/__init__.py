"""alphagate: from raw market data to a guarded trading engine.

The public surface is small and stable::

    from alphagate import Strategy, StrategyContext, OrderIntent, run_backtest, load_settings

``Strategy``, ``StrategyContext``, ``OrderIntent``, ``DeclaresIndicators``
and ``SymbolHistory`` are what a user's strategy implements and reads
(``docs/strategies.md``); ``run_backtest`` runs one over a bars frame;
``load_settings`` reads the settings tree from YAML files and the
environment; ``Kernel`` is the engine itself, for a driver of one's own.
Everything else is reached through its package (see ``docs/architecture.md``).
The engine's names are imported when first read, so ``import alphagate``
stays as light as the command line needs it to be.
"""

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what type checkers see; at run time ``__getattr__`` imports them
    from alphagate.app.data import load_settings
    from alphagate.backtest.runner import run_backtest
    from alphagate.domain.strategy import (
        DeclaresIndicators,
        OrderIntent,
        Strategy,
        StrategyContext,
        SymbolHistory,
    )
    from alphagate.engine.kernel import Kernel


@lru_cache(maxsize=1)
def _package_version() -> str:
    """The installed distribution's version, looked up on first use.

    ``importlib.metadata`` and the scan of installed distributions cost tens
    of milliseconds, paid by every command at start-up if done on import,
    while only ``--version`` and the pipeline's code version read it.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alphagate")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


_LAZY: dict[str, tuple[str, str]] = {
    "DeclaresIndicators": ("alphagate.domain.strategy", "DeclaresIndicators"),
    "Kernel": ("alphagate.engine.kernel", "Kernel"),
    "OrderIntent": ("alphagate.domain.strategy", "OrderIntent"),
    "Strategy": ("alphagate.domain.strategy", "Strategy"),
    "StrategyContext": ("alphagate.domain.strategy", "StrategyContext"),
    "SymbolHistory": ("alphagate.domain.strategy", "SymbolHistory"),
    "load_settings": ("alphagate.app.data", "load_settings"),
    "run_backtest": ("alphagate.backtest.runner", "run_backtest"),
}


def __getattr__(name: str) -> object:
    """The public names, imported when first read; ``__version__`` computed then."""
    if name == "__version__":
        return _package_version()
    if name in _LAZY:
        from importlib import import_module

        module, attribute = _LAZY[name]
        value = getattr(import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def source_digest(folder: Path) -> str:
    """SHA-256 over the names and contents of every ``.py`` file below ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@lru_cache(maxsize=1)
def code_version() -> str:
    """The package version plus a hash of every source file of the package.

    What a result was computed with: the version alone does not change while
    the code is edited, so a pipeline keyed on it would reuse stages computed
    by code that no longer exists.
    """
    return f"{_package_version()}+{source_digest(Path(__file__).resolve().parent)[:16]}"


__all__ = [
    "DeclaresIndicators",
    "Kernel",
    "OrderIntent",
    "Strategy",
    "StrategyContext",
    "SymbolHistory",
    "__version__",
    "code_version",
    "load_settings",
    "run_backtest",
    "source_digest",
]
