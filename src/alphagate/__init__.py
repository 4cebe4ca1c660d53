"""alphagate: from raw market data to a guarded trading engine.

The package is organised in rings (see ``docs/architecture.md``): ``domain``,
``ports``, ``config`` and ``errors`` at the bottom, ``data`` above them, the
adapters and the composition root (``app``, ``cli``) at the top.
"""

import hashlib
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("alphagate")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"


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
    return f"{__version__}+{source_digest(Path(__file__).resolve().parent)[:16]}"


__all__ = ["__version__", "code_version", "source_digest"]
