"""The base of the order path's immutable values: read-only once built, equal by value.

Bars, order requests, fills, positions, trades and order events are made by
the tens of thousands in a backtest, and each was a frozen dataclass. Such a
dataclass builds itself with ``object.__setattr__`` per field from an
``__init__`` the dataclasses module writes at run time, which mypyc cannot
compile: in the compiled engine (:mod:`alphagate.native_core`) those calls
were a quarter of a run. A :class:`ValueRecord` subclass writes its own
``__init__``, which mypyc compiles to direct field stores (twenty times
cheaper), and keeps what the dataclass gave:

- **read-only**: assigning or deleting an attribute after construction raises
  ``AttributeError``, compiled (the fields are ``Final`` native attributes) or
  interpreted (a ``__setattr__`` lets each field be stored once);
- **equal by value**, hashable, and a ``repr`` naming every field, all from
  ``__match_args__``, which each subclass sets to its fields in order (it
  also makes positional ``match`` patterns work);
- ``replace(**changes)`` for a copy with some fields changed, checked by the
  subclass's ``__init__`` like any new value.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self


class ValueRecord:
    """Immutable, compared by value; subclasses list their fields in ``__match_args__``."""

    __match_args__: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple([getattr(self, name) for name in self.__match_args__])

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, ValueRecord)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
        return f"{type(self).__name__}({fields})"

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied, built (and so checked) like a new value."""
        unknown = set(changes) - set(self.__match_args__)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(unknown))}")
        values = {name: getattr(self, name) for name in self.__match_args__}
        return type(self)(**(values | changes))


def _store_once(self: ValueRecord, name: str, value: object) -> None:
    # Interpreted __init__ stores pass here once per field; any later store, or
    # one to a name that is no field, is refused.
    if hasattr(self, name) or name not in type(self).__match_args__:
        raise AttributeError(f"{type(self).__name__}.{name} is read-only")
    object.__setattr__(self, name, value)


def _no_delete(self: ValueRecord, name: str) -> None:
    raise AttributeError(f"{type(self).__name__}.{name} is read-only")


# Compiled, the fields are ``Final`` native attributes: read-only already, and
# ``__init__`` stores them directly. A ``__setattr__`` on the class would make
# mypyc route some of those stores through it, so it is added only to the
# interpreted class.
if __file__.endswith(".py"):
    ValueRecord.__setattr__ = _store_once  # type: ignore[method-assign,assignment]
    ValueRecord.__delattr__ = _no_delete  # type: ignore[method-assign,assignment]
