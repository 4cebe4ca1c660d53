"""The static check of generated code, done on its syntax tree before anything imports it.

What a model writes is read, never run, in this process: the check parses
it with :mod:`ast` and refuses it, listing every problem with its line, when

- it imports a module outside :data:`ALLOWED_MODULES` (NumPy, pandas, TA-Lib,
  ``math``, ``dataclasses``, ``typing``, ``collections.abc``, ``__future__``,
  and alphagate's public surface: the package root and the strategy
  contract's two modules);
- it names a builtin that reaches outside the strategy (``open``, ``exec``,
  ``eval``, ``compile``, ``__import__``, ``getattr`` and friends, ``input``,
  ``breakpoint``), or a module such as ``os``, ``socket`` or ``subprocess``
  even without importing it;
- it reads a dunder attribute (``__class__``, ``__globals__``,
  ``__subclasses__``: the classic ways out of a restricted namespace), or an
  attribute that loads pickles, runs expressions or maps files
  (:data:`FORBIDDEN_ATTRIBUTES`);
- it assigns to an attribute of an imported module (``np.random = ...``),
  which would change what the engine itself runs with.

This is a first line, not a jail: Python cannot be confined from inside.
The containment is the subprocess (time limit, every socket refused, no
secrets in its environment, a scratch working folder; see
:mod:`alphagate.drafts.sandbox`), and the limits of both are written down in
docs/strategy-drafts.md.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Final

ALLOWED_MODULES: Final = frozenset(
    {
        "numpy",
        "pandas",
        "talib",
        "math",
        "dataclasses",
        "typing",
        "collections.abc",
        "__future__",
        "alphagate",
        "alphagate.domain.strategy",
        "alphagate.domain.orders",
    }
)
"""Modules a draft may import; a submodule of NumPy, pandas or TA-Lib is allowed with its root."""

_ROOTS_WITH_SUBMODULES: Final = frozenset({"numpy", "pandas", "talib"})

FORBIDDEN_NAMES: Final = frozenset(
    {
        "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars",
        "getattr", "setattr", "delattr", "input", "breakpoint", "memoryview", "help",
        "exit", "quit", "__builtins__", "__loader__", "__spec__",
        "os", "sys", "socket", "subprocess", "shutil", "importlib", "ctypes", "pickle",
        "marshal", "builtins",
    }
)  # fmt: skip
"""Names a draft may not use, whether it imported them or not."""

FORBIDDEN_ATTRIBUTES: Final = frozenset(
    {
        "read_pickle", "to_pickle", "load", "loads", "save", "savez", "savez_compressed",
        "savetxt", "loadtxt", "genfromtxt", "fromfile", "tofile", "memmap", "open_memmap",
        "eval", "query", "exec", "system", "popen", "ctypeslib", "f2py", "DataSource",
    }
)  # fmt: skip
"""Attributes that load pickles (code), evaluate strings, or map files."""

ALLOWED_DUNDERS: Final = frozenset({"__init__", "__post_init__", "__name__"})


class UnsafeCodeError(ValueError):
    """Generated code broke the static check; ``problems`` lists each with its line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class _Finding:
    line: int
    text: str


def check_code(source: str) -> None:
    """Refuse ``source`` unless it passes every rule of the module docstring.

    Raises
    ------
    UnsafeCodeError
        Listing every problem found (syntax errors included), in line order.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise UnsafeCodeError([f"line {error.lineno}: syntax error: {error.msg}"]) from None
    visitor = _Visitor()
    visitor.visit(tree)
    if visitor.findings:
        ordered = sorted(visitor.findings, key=lambda finding: finding.line)
        raise UnsafeCodeError([f"line {f.line}: {f.text}" for f in ordered])


def is_allowed_module(name: str) -> bool:
    """True when a draft may import ``name`` (see :data:`ALLOWED_MODULES`)."""
    return name in ALLOWED_MODULES or name.split(".", 1)[0] in _ROOTS_WITH_SUBMODULES


class _Visitor(ast.NodeVisitor):
    """Collects every finding in one walk, so one answer to the model lists them all."""

    def __init__(self) -> None:
        self.findings: list[_Finding] = []
        self.module_names: set[str] = set()

    def _found(self, node: ast.AST, text: str) -> None:
        self.findings.append(_Finding(getattr(node, "lineno", 0), text))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(node, alias.name)
            self.module_names.add(alias.asname or alias.name.split(".", 1)[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self._found(
                node, "relative import: a draft is one module and imports nothing beside it"
            )
            return
        module = node.module or ""
        self._check_module(node, module)
        for alias in node.names:
            if alias.name == "*":
                self._found(node, f"'from {module} import *': import the names you use")
            elif is_allowed_module(f"{module}.{alias.name}") and module != "alphagate":
                self.module_names.add(alias.asname or alias.name)

    def _check_module(self, node: ast.AST, name: str) -> None:
        if not is_allowed_module(name):
            allowed = ", ".join(sorted(ALLOWED_MODULES))
            self._found(node, f"import of {name!r} is not allowed (allowed: {allowed})")

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in FORBIDDEN_NAMES:
            self._found(node, f"use of {node.id!r} is not allowed in a strategy")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attribute = node.attr
        if attribute.startswith("__") and attribute.endswith("__"):
            if attribute not in ALLOWED_DUNDERS:
                self._found(node, f"dunder attribute {attribute!r} is not allowed")
        elif attribute in FORBIDDEN_ATTRIBUTES:
            self._found(
                node, f"attribute {attribute!r} (file, pickle or eval access) is not allowed"
            )
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_target(target)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self._found(node, "'global' is not allowed: keep state on the strategy object")

    def _check_target(self, target: ast.expr) -> None:
        root = target
        while isinstance(root, ast.Attribute | ast.Subscript):
            root = root.value
        if root is not target and isinstance(root, ast.Name) and root.id in self.module_names:
            self._found(target, f"assigning into the module {root.id!r} is not allowed")
