"""Build hook: compile the engine's hot modules with mypyc where a C compiler is available.

Everything else about the package is declared in ``pyproject.toml``. The
modules compiled, and how a stale build is kept from running, are described
in ``src/alphagate/native_core.py``. ``ALPHAGATE_NATIVE`` chooses:

- ``auto`` (default): compile; if that fails, warn and install pure Python;
- ``require``: fail the install when compiling fails (CI uses this, so a
  broken build is seen rather than silently slow);
- ``off``: install pure Python.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import tempfile
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "src" / "alphagate"
MODE = os.environ.get("ALPHAGATE_NATIVE", "auto")
# mypy settings for the compile, apart from pyproject's (whose plugins the build
# environment lacks). That environment holds mypy but not numpy or pandas, whose
# types are then Any: calls into them are Python calls either way.
MYPY_CONFIG = """\
[mypy]
python_version = 3.11
ignore_missing_imports = True
follow_imports = silent
"""


# native_core.py holds the module list, the manifest's name and how sources are
# hashed; it imports only the standard library, so it runs here without the
# package (whose dependencies are not installed yet) and both sides agree.
NATIVE_CORE = runpy.run_path(str(PACKAGE / "native_core.py"))
COMPILED_MODULES: tuple[str, ...] = NATIVE_CORE["COMPILED_MODULES"]
MANIFEST_NAME: str = NATIVE_CORE["MANIFEST_NAME"]


def _source(module: str) -> Path:
    path: Path = NATIVE_CORE["source_path"](module, PACKAGE)
    return path


def _warn(message: str) -> None:
    print(f"alphagate build: {message}", file=sys.stderr)


def _extensions() -> list[Any]:
    if MODE == "off":
        return []
    try:
        from mypyc.build import mypycify

        paths = [str(_source(m).relative_to(ROOT)) for m in COMPILED_MODULES]
        with tempfile.TemporaryDirectory(prefix="alphagate-mypyc-") as folder:
            config = Path(folder) / "mypy.ini"
            config.write_text(MYPY_CONFIG, encoding="utf-8")
            extensions = mypycify(
                ["--config-file", str(config), *paths], opt_level="3", group_name="alphagate_native"
            )
    except (Exception, SystemExit) as exc:  # mypy reports type errors by exiting
        if MODE == "require":
            raise
        _warn(f"mypyc could not compile the engine ({exc!r}); installing pure Python")
        return []
    for extension in extensions:
        extension.optional = MODE != "require"  # no C compiler: pure Python, with a warning
    return extensions


class BuildWithManifest(build_ext):
    """Build the extensions, then record which sources they were built from.

    The manifest is written only when every extension was built, so a
    partial build is never taken for a fresh one.
    """

    def run(self) -> None:
        super().run()
        if not self.extensions:
            return
        built = all(Path(self.get_ext_fullpath(e.name)).is_file() for e in self.extensions)
        if not built:
            _warn("some compiled modules failed to build; the package runs as pure Python")
            return
        text = json.dumps(
            {"sources": NATIVE_CORE["source_hashes"](PACKAGE)}, indent=1, sort_keys=True
        )
        targets = [Path(self.build_lib) / "alphagate" / MANIFEST_NAME]
        if self.inplace or getattr(self, "editable_mode", False):
            targets.append(PACKAGE / MANIFEST_NAME)
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text + "\n", encoding="utf-8")

    def get_outputs(self) -> list[str]:
        """Include the manifest among the files a wheel ships."""
        outputs = list(super().get_outputs())
        if self.extensions:
            outputs.append(str(Path(self.build_lib) / "alphagate" / MANIFEST_NAME))
        return outputs


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildWithManifest})
