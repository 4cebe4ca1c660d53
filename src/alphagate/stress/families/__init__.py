"""The scenario families, one module each, and the table that names them.

Each family module offers ``draw(rng) -> params`` (a scenario's parameters
drawn from the family's ranges) and ``build(spec, history, train_end, rng)``
(the scenario). Fitting families (bootstrap, garch, regime) read only the
bars up to the training end; overlay families (crash, gap, flash_crash,
liquidity, correlation) read the whole history and edit it after the
training end; cost_shock and jitter leave the bars alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alphagate.stress.families import (
    bootstrap,
    correlation,
    cost_shock,
    crash,
    flash_crash,
    gap,
    garch,
    jitter,
    liquidity,
    regime,
)
from alphagate.stress.families.base import ParamValue, Scenario, ScenarioSpec


@dataclass(frozen=True)
class Family:
    """A family's name and its two functions."""

    name: str
    draw: Callable[[np.random.Generator], dict[str, ParamValue]]
    build: Callable[[ScenarioSpec, pd.DataFrame, pd.Timestamp, np.random.Generator], Scenario]
    reads: str
    """What of the history the family reads, for ``describe`` and the docs."""


_FITS = "training bars only (ts <= train_end), then the history's timestamps"
_OVERLAYS = "the whole history; edits bars after train_end"
_NOTHING = "the history's bars, unchanged"

REGISTRY: dict[str, Family] = {
    family.name: family
    for family in (
        Family("bootstrap", bootstrap.draw, bootstrap.build, _FITS),
        Family("garch", garch.draw, garch.build, _FITS),
        Family("regime", regime.draw, regime.build, _FITS),
        Family("crash", crash.draw, crash.build, _OVERLAYS),
        Family("gap", gap.draw, gap.build, _OVERLAYS),
        Family("flash_crash", flash_crash.draw, flash_crash.build, _OVERLAYS),
        Family("liquidity", liquidity.draw, liquidity.build, _OVERLAYS),
        Family("correlation", correlation.draw, correlation.build, _OVERLAYS),
        Family("cost_shock", cost_shock.draw, cost_shock.build, _NOTHING),
        Family("jitter", jitter.draw, jitter.build, _NOTHING),
    )
}
