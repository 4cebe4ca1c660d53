"""Named features and the registry that resolves profile entries to them.

A feature is a function of **one symbol's** bars (a DataFrame indexed by
``ts`` with the columns ``open high low close volume``) that returns a
DataFrame of one or more feature columns on the same index. Giving features
one symbol at a time makes bleed between symbols impossible by construction:
a function never sees another symbol's rows, so it cannot mix them.
Cross-sectional features, which must see every symbol at a timestamp, are a
separate, explicit stage in ``features.profiles``.

Each feature declares its ``warmup``, like zipline's ``window_length``: how
many bars of history precede its first defined value. Declaring it (rather
than discovering it from NaNs) lets callers size the history they load and
lets tests check that a feature is NaN exactly where it says it may be.

A feature may also give an array *kernel*: the same computation on one
symbol's bars as NumPy arrays (``features.arrays.BarArrays``), returning its
columns as arrays. ``build_features`` prefers the kernel, because creating a
pandas frame per symbol and per feature cost far more than the indicators
themselves; the DataFrame function stays the public contract (and is derived
from the kernel, so the two cannot disagree). Every built-in feature has one;
a user's feature may bring either.

Profiles name features as strings so that they are plain, hashable data (the
feature cache keys on them); the registry turns names into functions and
fails loudly, with a suggestion, on a typo.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd

from alphagate.features.arrays import BarArrays, Columns

FeatureFunction = Callable[[pd.DataFrame], pd.DataFrame]
"""One symbol's bars (indexed by ``ts``) in, feature columns on the same index out."""

ArrayKernel = Callable[[BarArrays], Columns]
"""One symbol's bars as arrays in, feature columns (arrays as long as the bars) out."""

_Function = TypeVar("_Function", bound=FeatureFunction)


@dataclass(frozen=True)
class FeatureSpec:
    """A named feature function with the history it needs.

    Attributes
    ----------
    name
        The name profiles use to ask for the feature. A feature may return
        several columns (MACD returns line, signal and histogram); the name is
        the group's, the columns carry their own names.
    function
        Computes the feature columns from one symbol's bars.
    warmup
        Bars of history before the first defined value: on clean, long enough
        input the first ``warmup`` rows of every column may be NaN and no later
        row is. For TA-Lib indicators this is TA-Lib's lookback.
    description
        One line shown by listings.
    kernel
        The same computation on arrays, which ``build_features`` runs instead
        of ``function`` when present (see ``FeatureSpec.from_kernel``).
    row_local
        The kernel's value at a row reads only that row (its ``ts`` and bar),
        so ``build_features`` may run it on every symbol's rows in one call.
    """

    name: str
    function: FeatureFunction
    warmup: int
    description: str = ""
    kernel: ArrayKernel | None = None
    row_local: bool = False

    @classmethod
    def from_kernel(
        cls,
        name: str,
        kernel: ArrayKernel,
        *,
        warmup: int,
        description: str = "",
        row_local: bool = False,
    ) -> FeatureSpec:
        """A spec computed by an array kernel, with the DataFrame function derived from it.

        Deriving ``function`` from ``kernel`` (rather than writing both) means
        a feature called on a frame and the same feature inside
        ``build_features`` run the same arithmetic and give the same bits.
        """
        return cls(name, _frame_function(kernel), warmup, description, kernel, row_local)

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise ValueError("a feature name must not be empty")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(
                f"feature {self.name!r}: warmup must be a non-negative integer, got {self.warmup!r}"
            )
        if not callable(self.function):
            raise TypeError(f"feature {self.name!r}: function must be callable")
        if self.kernel is not None and not callable(self.kernel):
            raise TypeError(f"feature {self.name!r}: kernel must be callable")
        if self.row_local and self.kernel is None:
            raise ValueError(f"feature {self.name!r}: only a kernel can be row-local")


def _frame_function(kernel: ArrayKernel) -> FeatureFunction:
    """Wrap ``kernel`` as a ``FeatureFunction``: arrays of the frame in, float64 frame out."""

    def function(bars: pd.DataFrame) -> pd.DataFrame:
        columns = kernel(BarArrays.from_frame(bars))
        return pd.DataFrame(
            {name: np.asarray(values, dtype=np.float64) for name, values in columns.items()},
            index=bars.index,
        )

    return function


class FeatureRegistry:
    """A mapping from feature names to ``FeatureSpec``, with loud lookups.

    Names are unique: registering a name twice raises ``ValueError`` rather
    than silently replacing a feature a profile already relies on. Looking up
    an unknown name raises ``KeyError`` with the closest registered names, as
    a typo in a profile is the usual cause.
    """

    def __init__(self, specs: Iterable[FeatureSpec] = ()) -> None:
        self._specs: dict[str, FeatureSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: FeatureSpec) -> FeatureSpec:
        """Add ``spec``; raise ``ValueError`` when its name is already taken."""
        if spec.name in self._specs:
            raise ValueError(
                f"feature {spec.name!r} is already registered; choose another name "
                "or build a new registry"
            )
        self._specs[spec.name] = spec
        return spec

    def feature(
        self, name: str | None = None, *, warmup: int, description: str = ""
    ) -> Callable[[_Function], _Function]:
        """Register the decorated function as a feature and return it unchanged.

        Parameters
        ----------
        name
            The feature's name; the function's ``__name__`` when omitted.
        warmup
            Bars of history before its first defined value (see ``FeatureSpec``).
        description
            One line shown by listings; the docstring's first line when omitted.

        Examples
        --------
        >>> registry = FeatureRegistry()
        >>> @registry.feature(warmup=1)
        ... def close_change(bars: pd.DataFrame) -> pd.DataFrame:
        ...     return (bars[["close"]].pct_change()).rename(columns={"close": "close_change"})
        >>> "close_change" in registry
        True
        """

        def decorate(function: _Function) -> _Function:
            doc = (function.__doc__ or "").strip().splitlines()
            self.register(
                FeatureSpec(
                    name=name or str(getattr(function, "__name__", "")),
                    function=function,
                    warmup=warmup,
                    description=description or (doc[0] if doc else ""),
                )
            )
            return function

        return decorate

    def __getitem__(self, name: str) -> FeatureSpec:
        try:
            return self._specs[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._specs), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise KeyError(
                f"unknown feature {name!r}{hint} ({len(self._specs)} features registered)"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._specs))

    def __len__(self) -> int:
        return len(self._specs)

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._specs)

    def resolve(self, names: tuple[str, ...] | list[str]) -> list[FeatureSpec]:
        """Return the specs for ``names`` in order; the first unknown name raises ``KeyError``."""
        return [self[name] for name in names]

    def copy(self) -> FeatureRegistry:
        """Return an independent registry with the same specs, to extend without side effects."""
        return FeatureRegistry(tuple(self._specs.values()))
