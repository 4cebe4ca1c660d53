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

import ast
import hashlib
import json
import os
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


def _constant(name: str) -> Any:
    """Read a constant from native_core.py without importing the package (not installed yet)."""
    tree = ast.parse((PACKAGE / "native_core.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                assert node.value is not None
                return ast.literal_eval(node.value)
    raise LookupError(f"{name} not found in native_core.py")


COMPILED_MODULES: tuple[str, ...] = _constant("COMPILED_MODULES")
MANIFEST_NAME: str = _constant("MANIFEST_NAME")


def _source(module: str) -> Path:
    return PACKAGE.joinpath(*module.split(".")[1:]).with_suffix(".py")


def _warn(message: str) -> None:
    print(f"alphagate build: {message}", file=sys.stderr)


def _extensions() -> list[Any]:
    if MODE == "off":
        return []
    try:
        from mypyc.build import mypycify

        config = Path(tempfile.mkdtemp(prefix="alphagate-mypyc-")) / "mypy.ini"
        config.write_text(MYPY_CONFIG, encoding="utf-8")
        paths = [str(_source(m).relative_to(ROOT)) for m in COMPILED_MODULES]
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
            {
                "sources": {
                    m: hashlib.sha256(_source(m).read_bytes()).hexdigest() for m in COMPILED_MODULES
                }
            },
            indent=1,
            sort_keys=True,
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
