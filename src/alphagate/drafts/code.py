"""The code in a model's answer, and the strategy class in that code, found without running it.

Models wrap code in Markdown fences, add prose before and after, and
sometimes answer with two blocks (an example, then the module). The module
is the longest ```python`` block, else the longest unlabelled block, else the
whole answer when it parses as Python. The class is found on the syntax
tree: the one that defines ``on_bar`` (the last one, when an answer defines
a helper class first), so nothing is imported to find it.
"""

from __future__ import annotations

import ast
import re
from typing import Final

_FENCE: Final = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.DOTALL)


class NoCodeError(ValueError):
    """The answer holds no Python module, or no class with ``on_bar``."""


def extract_code(answer: str) -> str:
    """The Python module in ``answer`` (see the module docstring).

    Raises
    ------
    NoCodeError
        When no fenced block is found and the answer itself is not Python.
    """
    blocks: list[tuple[str, str]] = [
        (match.group(1).lower(), match.group(2)) for match in _FENCE.finditer(answer)
    ]
    for wanted in (("python", "py", "python3"), ("",)):
        chosen = [body for label, body in blocks if label in wanted]
        if chosen:
            return max(chosen, key=len).strip() + "\n"
    try:
        ast.parse(answer)
    except SyntaxError:
        raise NoCodeError(
            "the answer has no ```python code block and is not Python itself; answer with "
            "the whole module in one ```python block"
        ) from None
    return answer.strip() + "\n"


def strategy_class(source: str) -> str:
    """The name of the class in ``source`` that defines ``on_bar``.

    Raises
    ------
    NoCodeError
        When ``source`` does not parse or defines no such class at module level.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise NoCodeError(f"line {error.lineno}: syntax error: {error.msg}") from None
    found = [
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(isinstance(item, ast.FunctionDef) and item.name == "on_bar" for item in node.body)
    ]
    if not found:
        raise NoCodeError(
            "the module defines no class with an on_bar method; define one class with "
            "name, warmup and on_bar(self, context)"
        )
    return found[-1]
