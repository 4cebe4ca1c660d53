"""Feature drift: the population stability index (PSI) of live values against training.

PSI compares two distributions over the same bins::

    PSI = sum_i (a_i - e_i) * ln(a_i / e_i)

with ``e_i`` the share of training values in bin ``i`` and ``a_i`` the share
of recent ones. It is a symmetrised Kullback-Leibler divergence; the usual
reading is below 0.1 no shift, 0.1 to 0.25 some, above 0.25 a shifted
population. An empty bin would make the log infinite, so shares are floored
at a small epsilon first (``health.model.psi_epsilon``).

The bins are the training values' deciles (or ``bins``-quantiles, each an
observed value), so each
holds about the same share of training data and the index weighs the whole
range; repeated values (a discrete feature) merge quantiles, and the
expected shares are then counted from the training data rather than assumed
equal. The edges and shares form a :class:`FeatureProfile`, small enough to
store beside the model as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]


def psi(expected: npt.ArrayLike, actual: npt.ArrayLike, epsilon: float = 1e-4) -> float:
    """The population stability index of ``actual`` shares against ``expected`` ones.

    Both are shares of the same bins (each summing to 1); shares below
    ``epsilon`` count as ``epsilon``.
    """
    e = np.clip(np.asarray(expected, dtype=np.float64), epsilon, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), epsilon, None)
    if e.shape != a.shape:
        raise ValueError(f"PSI needs shares of the same bins, got {e.shape} and {a.shape}")
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True, slots=True)
class FeatureProfile:
    """One feature's training distribution: interior bin edges and each bin's share.

    Bin ``i`` holds values ``v`` with ``edges[i-1] <= v < edges[i]``; the
    first and last bins are open, so live values beyond the training range
    still land in a bin (and raise the PSI, as they should).
    """

    edges: FloatArray
    shares: FloatArray

    def __post_init__(self) -> None:
        if len(self.shares) != len(self.edges) + 1:
            raise ValueError("a feature profile needs one more share than interior edges")
        if np.any(np.diff(self.edges) <= 0):
            raise ValueError("a feature profile's edges must increase strictly")

    @classmethod
    def from_training(cls, values: npt.ArrayLike, bins: int = 10) -> FeatureProfile:
        """Quantile bins of the finite training ``values`` and their shares.

        Raises
        ------
        ValueError
            With fewer finite values than bins: quantiles of so little data
            would make any later comparison noise.
        """
        data = np.asarray(values, dtype=np.float64)
        data = data[np.isfinite(data)]
        if bins < 2 or len(data) < bins:
            raise ValueError(
                f"profiling a feature needs bins >= 2 and >= bins finite values, "
                f"got {bins} bins and {len(data)} values"
            )
        # "higher": every edge is an observed training value, so a discrete feature's
        # bins fall on its values instead of between them.
        quantiles = np.linspace(0.0, 1.0, bins + 1)[1:-1]
        edges = np.unique(np.quantile(data, quantiles, method="higher"))
        profile = cls(edges, np.zeros(len(edges) + 1))
        return cls(edges, profile.bin_shares(data))

    def bin_shares(self, values: npt.ArrayLike) -> FloatArray:
        """Share of the finite ``values`` in each bin (all zeros when there are none)."""
        data = np.asarray(values, dtype=np.float64)
        data = data[np.isfinite(data)]
        counts = np.bincount(
            np.searchsorted(self.edges, data, side="right"), minlength=len(self.edges) + 1
        ).astype(np.float64)
        return counts / len(data) if len(data) else counts

    def to_dict(self) -> dict[str, list[float]]:
        """A JSON-ready form, to store beside the model."""
        return {"edges": self.edges.tolist(), "shares": self.shares.tolist()}

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> FeatureProfile:
        """Read :meth:`to_dict`'s form back."""
        return cls(
            np.asarray(raw["edges"], dtype=np.float64),
            np.asarray(raw["shares"], dtype=np.float64),
        )


def profile_features(training: pd.DataFrame, bins: int = 10) -> dict[str, FeatureProfile]:
    """A :class:`FeatureProfile` of every numeric column of the training features.

    A column with too few finite values is left out rather than failing the
    whole profile: the staleness report then simply has no PSI for it.
    """
    out: dict[str, FeatureProfile] = {}
    for name in training.columns:
        column = training[name]
        if not pd.api.types.is_numeric_dtype(column):
            continue
        values = column.to_numpy(dtype=np.float64)
        if np.isfinite(values).sum() >= bins:
            out[str(name)] = FeatureProfile.from_training(values, bins)
    return out


class ProfileSet:
    """Several features' profiles stacked, so one window's PSI of all of them is a few array passes.

    A monitor compares the same features with the same profiles every few
    bars; looping over features in Python would cost more than the
    arithmetic. The edges are padded with ``+inf`` to the longest profile, so
    a padded bin never receives a finite value and adds ``0`` to the index
    (both its shares are floored at the same epsilon). The numbers equal
    :class:`FeatureProfile`'s one feature at a time to rounding (the tests
    hold them to 1e-12).
    """

    def __init__(self, profiles: Mapping[str, FeatureProfile]) -> None:
        self.names = tuple(profiles)
        width = max((len(p.edges) for p in profiles.values()), default=0)
        self._edges = np.full((len(self.names), width), np.inf)
        self._expected = np.zeros((len(self.names), width + 1))
        for row, profile in enumerate(profiles.values()):
            self._edges[row, : len(profile.edges)] = profile.edges
            self._expected[row, : len(profile.shares)] = profile.shares
        self._offsets = np.arange(len(self.names), dtype=np.int64) * (width + 1)

    def psi(self, values: npt.ArrayLike, *, min_rows: int, epsilon: float) -> dict[str, float]:
        """PSI of each feature over ``values`` (rows x features, in :attr:`names` order).

        Non-finite values are left out; a feature with fewer than
        ``min_rows`` finite values is not judged (absent from the result).
        """
        data = np.asarray(values, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != len(self.names):
            raise ValueError(f"expected rows x {len(self.names)} features, got {data.shape}")
        finite = np.isfinite(data)
        # The bin of v is the number of edges <= v: searchsorted(edges, v, side="right").
        bins = np.zeros(data.shape, dtype=np.int64)
        for column in self._edges.T:
            bins += data >= column
        width = self._expected.shape[1]
        flat = (bins + self._offsets[None, :])[finite]
        counts = np.bincount(flat, minlength=len(self.names) * width).reshape(-1, width)
        n = finite.sum(axis=0)
        judged = n >= min_rows
        actual = np.clip(counts[judged] / n[judged, None], epsilon, None)
        expected = np.clip(self._expected[judged], epsilon, None)
        scores = np.sum((actual - expected) * np.log(actual / expected), axis=1)
        names = [name for name, keep in zip(self.names, judged, strict=True) if keep]
        return dict(zip(names, scores.tolist(), strict=True))
