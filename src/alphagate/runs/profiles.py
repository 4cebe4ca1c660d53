"""A horizon's feature profiles: the training distribution the staleness monitor compares with.

Training writes, beside each horizon's model, every feature's quantile bins
and shares over the rows the final model was fitted on
(:func:`alphagate.engine.drift.profile_features`), as ``feature_profiles.json``.
A run trained before this file existed has none; :func:`read_feature_profiles`
says so with ``None`` rather than failing, so such a run still trades, only
without the PSI check.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from alphagate.engine.drift import FeatureProfile
from alphagate.errors import AlphagateError
from alphagate.runs.json_files import read_json, write_json
from alphagate.runs.layout import FEATURE_PROFILES

PROFILES_VERSION = 1


def write_feature_profiles(
    folder: Path, profiles: Mapping[str, FeatureProfile], *, bins: int
) -> Path:
    """Save a horizon's profiles into its folder (atomically); return the file."""
    payload = {
        "version": PROFILES_VERSION,
        "bins": bins,
        "features": {name: profile.to_dict() for name, profile in sorted(profiles.items())},
    }
    return write_json(folder / FEATURE_PROFILES, payload)


def read_feature_profiles(folder: Path) -> dict[str, FeatureProfile] | None:
    """A horizon's profiles, or ``None`` when the run was trained without them.

    Raises
    ------
    AlphagateError
        When the file is there but damaged, naming it: a profile that cannot
        be read would silently switch the PSI check off.
    """
    path = folder / FEATURE_PROFILES
    if not path.exists():
        return None
    raw = read_json(path)
    features = raw.get("features")
    if raw.get("version") != PROFILES_VERSION or not isinstance(features, dict):
        raise AlphagateError(
            f"{path}: expected version {PROFILES_VERSION} with a 'features' object; "
            "retrain the run to write it again"
        )
    try:
        return {str(name): FeatureProfile.from_dict(entry) for name, entry in features.items()}
    except (KeyError, TypeError, ValueError) as error:
        raise AlphagateError(f"{path}: a feature profile cannot be read ({error})") from None
