"""A strategy's constructor arguments from parameters given as text (``--params fast=5``).

Built-in strategies and users' own classes are configured the same way, so
one module reads a constructor's signature and converts each value to the
type its parameter is annotated with (or, unannotated, the type of its
default): ``"5"`` reaches an ``int`` parameter as ``5``, ``"yes"`` a ``bool``
one as ``True``. A value whose parameter says nothing usable about its type
is passed on as given. Names are checked before the constructor runs, so a
typo is answered with the nearest accepted name and the full list, not with
Python's ``unexpected keyword argument``.
"""

from __future__ import annotations

import difflib
import inspect
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Final

from alphagate.errors import ConfigError

ParameterValue = str | float
"""What a parameter may be given as: text from a command line or config, or a number."""

_CONVERTIBLE: Final[dict[str, type]] = {kind.__name__: kind for kind in (bool, int, float, str)}
_TRUE: Final = frozenset({"true", "yes", "on", "1"})
_FALSE: Final = frozenset({"false", "no", "off", "0"})


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` with the choice closest to ``word``; ``""`` if none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def constructor_arguments(
    owner: str, cls: type, params: Mapping[str, ParameterValue]
) -> dict[str, object]:
    """Keyword arguments for ``cls(...)``: each of ``params`` converted to its parameter's type.

    Parameters
    ----------
    owner
        How the user named the strategy, for the messages.
    cls
        The strategy class whose constructor takes the arguments.
    params
        Parameter names and values, as text or numbers.

    Raises
    ------
    ConfigError
        For a name the constructor does not take (with the nearest one and
        all it accepts), a value that is not of its parameter's type, or a
        parameter without a default that was not given.
    """
    accepted, open_ended = _keyword_parameters(cls)
    arguments: dict[str, object] = {}
    for key, raw in params.items():
        parameter = accepted.get(key)
        if parameter is None:
            if open_ended:  # ``**kwargs``: the constructor decides, as text
                arguments[key] = raw
                continue
            listed = ", ".join(accepted) or "no parameters"
            raise ConfigError(
                f"{owner}: unknown parameter {key!r}{did_you_mean(key, accepted)} "
                f"(accepted: {listed})"
            )
        arguments[key] = _convert(owner, key, raw, _kind_of(parameter))
    missing = [
        name for name, p in accepted.items() if p.default is p.empty and name not in arguments
    ]
    if missing:
        given = ",".join(f"{name}=..." for name in missing)
        raise ConfigError(f"{owner}: no value for {', '.join(missing)}; give --params {given}")
    return arguments


def _keyword_parameters(cls: type) -> tuple[dict[str, inspect.Parameter], bool]:
    """The constructor's parameters that can be passed by name, and whether it takes ``**kwargs``.

    Annotations written as strings (``from __future__ import annotations``)
    are evaluated in the class's module; when one cannot be (a name imported
    only for type checkers), all stay strings and :func:`_kind_of` reads the
    simple ones by name.
    """
    try:
        signature = inspect.signature(cls, eval_str=True)
    except (NameError, AttributeError, SyntaxError, TypeError):
        try:
            signature = inspect.signature(cls)
        except (TypeError, ValueError):  # a class implemented in C: no signature to read
            return {}, True
    except ValueError:
        return {}, True
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    parameters = signature.parameters.values()
    accepted = {p.name: p for p in parameters if p.kind in named}
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    return accepted, open_ended


def _kind_of(parameter: inspect.Parameter) -> type | None:
    """``bool``, ``int``, ``float`` or ``str`` if the parameter says so, else ``None``.

    ``int | None`` counts as ``int``: ``None`` cannot be written as text anyway.
    """
    annotation: object = parameter.annotation
    if isinstance(annotation, str):
        parts = {part.strip() for part in annotation.split("|")} - {"None"}
        annotation = _CONVERTIBLE.get(parts.pop()) if len(parts) == 1 else None
    elif typing.get_origin(annotation) in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        annotation = others[0] if len(others) == 1 else None
    if annotation is parameter.empty:
        annotation = type(parameter.default)
    return annotation if annotation in _CONVERTIBLE.values() else None  # type: ignore[return-value]


def _convert(owner: str, key: str, raw: ParameterValue, kind: type | None) -> object:
    """``raw`` as a ``kind``; ``int`` refuses a fractional number rather than truncate it."""
    if kind is None:
        return raw
    if kind is bool:
        return _boolean(owner, key, raw)
    try:
        value = kind(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{owner}: {key} must be {kind.__name__}, got {raw!r}") from exc
    if kind is int and isinstance(raw, float) and raw != value:
        raise ConfigError(f"{owner}: {key} must be an integer, got {raw!r}")
    return value


def _boolean(owner: str, key: str, raw: ParameterValue) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigError(
        f"{owner}: {key} must be true or false (also yes/no, on/off, 1/0), got {raw!r}"
    )
