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


@lru_cache(maxsize=1)
def code_version() -> str:
    """The package version plus a hash of every source file of the package.

    What a result was computed with: the version alone does not change while
    the code is edited, so a pipeline keyed on it would reuse stages computed
    by code that no longer exists.
    """
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return f"{__version__}+{digest.hexdigest()[:16]}"


__all__ = ["__version__", "code_version"]
