"""A Parquet cache of feature frames, keyed by everything that determines them.

Features are a pure function of three things: the bars, the feature
configuration (profile, the features it resolves to, the calendar) and the
code that computes them. The cache key hashes all three, so a hit can only
return what a fresh build would; there is no invalidation to forget:

``data``
    sha256 of ``pd.util.hash_pandas_object(bars, index=True)`` plus the column
    names and dtypes. It depends on the values, not on how a file was
    encoded, so the same bars read from CSV or Parquet hit the same entry,
    and changing one price misses.
``config``
    sha256 of the profile's fields, the calendar, and for each feature its
    name, warmup, qualified name and source text (so editing a user's own
    feature function misses too, where its source can be read).
``code``
    ``alphagate.__version__`` and sha256 of every ``.py`` file of the
    ``features`` package, so changing an indicator's implementation misses
    even without a version bump.

Entries are ``root/<data>_<config>_<code>.parquet``, written to a temporary
file in the same directory and renamed into place with ``os.replace``, so a
reader never sees half a file and concurrent builders of one key simply
both write the same bytes.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

import alphagate
from alphagate.features.profiles import (
    FeatureProfile,
    build_features,
    profile_specs,
    resolve_profile,
)
from alphagate.features.registry import FeatureRegistry, FeatureSpec

_KEY_PART = 16  # hex characters per key part: 64 bits each, readable file names


def data_hash(bars: pd.DataFrame) -> str:
    """sha256 of the bars' index, values, column names and dtypes.

    Numbers are hashed as their bytes and each index level as its distinct
    values plus one small integer per row, so a million bars hash in the time
    it takes to read them (pandas' per-element row hashing took seconds).
    """
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(bars[c].dtype)] for c in bars.columns]).encode())
    digest.update(json.dumps([str(n) for n in bars.index.names]).encode())
    index = bars.index
    parts: list[tuple[pd.Index, np.ndarray]] = []
    if isinstance(index, pd.MultiIndex):
        index = index.remove_unused_levels()
        parts.extend(zip(index.levels, index.codes, strict=True))
    else:
        codes, uniques = pd.factorize(index, sort=True)
        parts.append((pd.Index(uniques), codes))
    for values, level_codes in parts:
        digest.update(_column_bytes(pd.Series(values)))
        digest.update(np.ascontiguousarray(level_codes, dtype=np.int64).tobytes())
    for column in bars.columns:
        digest.update(_column_bytes(bars[column]))
    return digest.hexdigest()


def _column_bytes(column: pd.Series) -> bytes:
    """A column's values as bytes: numbers and instants as stored, anything else as text."""
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column):
        return np.ascontiguousarray(pd.DatetimeIndex(column).as_unit("ns").asi8).tobytes()
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return np.ascontiguousarray(column.to_numpy()).tobytes()
    return json.dumps([str(v) for v in column.tolist()]).encode()


def config_hash(
    profile: str | FeatureProfile,
    registry: FeatureRegistry | None = None,
    calendar: str | None = "XNYS",
) -> str:
    """sha256 of the profile, the calendar and the identity of every feature it runs."""
    resolved = resolve_profile(profile)
    payload = {
        "profile": {
            "name": resolved.name,
            "features": list(resolved.features),
            "calendar_features": resolved.calendar_features,
            "cross_sectional": resolved.cross_sectional,
            "xs_return_lag": resolved.xs_return_lag,
            "xs_volatility_window": resolved.xs_volatility_window,
        },
        "calendar": calendar,
        "specs": [_spec_identity(spec) for spec in profile_specs(resolved, registry, calendar)],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _spec_identity(spec: FeatureSpec) -> dict[str, object]:
    # A kernel spec's ``function`` is a generic wrapper; the kernel is what computes.
    function: Callable[..., object] = spec.function if spec.kernel is None else spec.kernel
    qualname = f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', '?')}"
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):  # built in, or defined where no source file exists
        source = ""
    return {
        "name": spec.name,
        "warmup": spec.warmup,
        "function": qualname,
        "source": hashlib.sha256(source.encode()).hexdigest(),
    }


@lru_cache(maxsize=1)
def code_version() -> str:
    """``alphagate.__version__`` plus a hash of the ``features`` package's source files."""
    return f"{alphagate.__version__}+{alphagate.source_digest(Path(__file__).resolve().parent)}"


class FeatureCache:
    """Feature frames stored as Parquet under ``root``, one file per cache key.

    Parameters
    ----------
    root
        Directory for the entries; created on the first write.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def key(
        self,
        bars: pd.DataFrame,
        profile: str | FeatureProfile,
        *,
        registry: FeatureRegistry | None = None,
        calendar: str | None = "XNYS",
    ) -> str:
        """The entry name for these bars and this configuration under the current code."""
        code = hashlib.sha256(code_version().encode()).hexdigest()
        parts = (data_hash(bars), config_hash(profile, registry, calendar), code)
        return "_".join(part[:_KEY_PART] for part in parts)

    def path(self, key: str) -> Path:
        """Where the entry ``key`` is stored."""
        return self.root / f"{key}.parquet"

    def get_or_build(
        self,
        bars: pd.DataFrame,
        profile: str | FeatureProfile = "medium",
        build: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
        *,
        registry: FeatureRegistry | None = None,
        calendar: str | None = "XNYS",
    ) -> pd.DataFrame:
        """Return the cached features for ``bars``, building and storing them on a miss.

        Parameters
        ----------
        bars
            A canonical bars frame.
        profile, registry, calendar
            What to build; they make up the configuration part of the key.
        build
            Computes the features from ``bars`` on a miss; by default
            ``build_features(bars, profile, registry, calendar)``. A custom
            ``build`` must compute exactly what those arguments describe: the key
            is derived from them, not from ``build``.

        Returns
        -------
        pandas.DataFrame
            The feature frame, equal (values, index, columns, dtypes) to what
            ``build`` returned when the entry was written.
        """
        path = self.path(self.key(bars, profile, registry=registry, calendar=calendar))
        cached = self._read(path, bars.index)
        if cached is not None:
            return cached
        if build is None:
            features = build_features(bars, profile, registry, calendar)
        else:
            features = build(bars)
        self._write(path, features)
        return features

    @staticmethod
    def _read(path: Path, index: pd.Index) -> pd.DataFrame | None:
        """The stored frame, or ``None`` when absent, unreadable or not on ``index``."""
        if not path.exists():
            return None
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError):  # a damaged entry is rebuilt, not trusted
            return None
        if not frame.index.equals(index):
            return None
        # Parquet brings the symbol level back as strings; restore the bars' own index.
        return frame.set_axis(index, axis=0)

    def _write(self, path: Path, features: pd.DataFrame) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=self.root)
        os.close(handle)
        try:
            features.to_parquet(temporary, index=True)
            with Path(temporary).open("rb") as written:
                os.fsync(written.fileno())
            Path(temporary).replace(path)  # os.replace: atomic within one directory
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
