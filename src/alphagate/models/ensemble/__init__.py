"""Ensembles of models of any family: fit together, combined by regime, recent skill and agreement.

:class:`EnsembleModel` meets the ``Model`` protocol (``family: ensemble``);
the combination rule is documented in :mod:`alphagate.models.ensemble.combine`.
"""

from alphagate.models.ensemble.combine import REGIMES, CombineSettings
from alphagate.models.ensemble.model import (
    FAMILY,
    EnsembleModel,
    EnsembleStream,
    EnsembleTrace,
    Member,
    member_families,
    parse_members,
)

__all__ = [
    "FAMILY",
    "REGIMES",
    "CombineSettings",
    "EnsembleModel",
    "EnsembleStream",
    "EnsembleTrace",
    "Member",
    "member_families",
    "parse_members",
]
