"""Features: point-in-time functions of bars, built per symbol, checked for look-ahead.

``build_features(bars, profile)`` turns a canonical bars frame into a float64
feature frame on the same ``(symbol, ts)`` index. Every per-symbol feature is
a registered ``FeatureSpec`` computed on one symbol's bars at a time (TA-Lib
indicators, returns, volatility, volume, calendar), as NumPy arrays where the
spec has an array kernel (``BarArrays`` in, columns out); the only features that
look across symbols are the explicit per-timestamp cross-sectional ranks.
``assert_point_in_time`` proves a build does not read the future by
rebuilding on truncated bars; ``FeatureCache`` stores builds keyed by data,
configuration and code.
"""

from alphagate.features.arrays import BarArrays
from alphagate.features.cache import FeatureCache, code_version, config_hash, data_hash
from alphagate.features.pit import PointInTimeError, assert_point_in_time
from alphagate.features.profiles import (
    PROFILES,
    FeatureProfile,
    build_features,
    default_registry,
    latest_features,
    profile_specs,
    profile_warmup,
    resolve_profile,
)
from alphagate.features.registry import (
    ArrayKernel,
    FeatureFunction,
    FeatureRegistry,
    FeatureSpec,
)
from alphagate.features.technical import cross_sectional_ranks

__all__ = [
    "PROFILES",
    "ArrayKernel",
    "BarArrays",
    "FeatureCache",
    "FeatureFunction",
    "FeatureProfile",
    "FeatureRegistry",
    "FeatureSpec",
    "PointInTimeError",
    "assert_point_in_time",
    "build_features",
    "code_version",
    "config_hash",
    "cross_sectional_ranks",
    "data_hash",
    "default_registry",
    "latest_features",
    "profile_specs",
    "profile_warmup",
    "resolve_profile",
]
