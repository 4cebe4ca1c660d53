"""alphagate: from raw market data to a guarded trading engine.

The package is organised in rings (see ``docs/architecture.md``): ``domain``,
``ports``, ``config`` and ``errors`` at the bottom, ``data`` above them, the
adapters and the composition root (``app``, ``cli``) at the top.
"""

import hashlib
from functools import lru_cache
from pathlib import Path


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


def __getattr__(name: str) -> str:
    """``alphagate.__version__``, computed when first read (see ``_package_version``)."""
    if name == "__version__":
        return _package_version()
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


__all__ = ["__version__", "code_version", "source_digest"]
