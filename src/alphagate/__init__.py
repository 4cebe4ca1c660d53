"""alphagate: from raw market data to a guarded trading engine.

The package is organised in rings (see ``docs/architecture.md``): ``domain``,
``ports``, ``config`` and ``errors`` at the bottom, ``data`` above them, the
adapters and the composition root (``app``, ``cli``) at the top.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("alphagate")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
