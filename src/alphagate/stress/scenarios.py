"""Seeded stress scenarios: the library of specs and the one function that builds them.

A :class:`ScenarioSpec` is what a scenario *is* (name, family, seed,
parameters); :func:`build` turns it and a candidate's history into a
:class:`Scenario`, a pure function of the three: randomness comes only from
``numpy.random.default_rng(spec.seed)``, so the runner's worker processes
build bit-identical scenarios in any order. :func:`default_library` draws a
library of specs spread across :data:`FAMILIES`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from alphagate.stress.families import REGISTRY, jitter
from alphagate.stress.families.base import (
    FitWindowError,
    Scenario,
    ScenarioError,
    ScenarioSpec,
    checked_history,
)
from alphagate.stress.families.jitter import jitter_multipliers

__all__ = [
    "FAMILIES",
    "FitWindowError",
    "Scenario",
    "ScenarioError",
    "ScenarioSpec",
    "build",
    "default_library",
    "jitter_multipliers",
]

FAMILIES: tuple[str, ...] = tuple(REGISTRY)
"""Every family, in the order the library deals scenarios out."""


def checked_families(families: Sequence[str] | None) -> tuple[str, ...]:
    """``families`` (all when ``None``), refusing an unknown name with the nearest known one."""
    if families is None:
        return FAMILIES
    chosen: list[str] = []
    for name in families:
        if name not in REGISTRY:
            close = difflib.get_close_matches(name, FAMILIES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ScenarioError(
                f"unknown scenario family {name!r}{hint} Families: {', '.join(FAMILIES)}"
            )
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise ScenarioError(f"no scenario family chosen; pick from {', '.join(FAMILIES)}")
    return tuple(chosen)


def default_library(
    n: int = 200, *, seed: int = 0, families: Sequence[str] | None = None
) -> list[ScenarioSpec]:
    """``n`` scenario specs dealt across ``families`` in turn, deterministic for ``seed``.

    Scenario ``i`` of a family draws its parameters and its own seed from a
    seed sequence keyed by (library seed, family, i), so adding a family or
    changing ``n`` leaves every other scenario as it was.
    """
    if n < 0:
        raise ScenarioError(f"a library needs a non-negative number of scenarios, got {n}")
    chosen = checked_families(families)
    specs: list[ScenarioSpec] = []
    counts = dict.fromkeys(chosen, 0)
    for k in range(n):
        name = chosen[k % len(chosen)]
        i = counts[name]
        counts[name] += 1
        sequence = np.random.SeedSequence([seed, FAMILIES.index(name), i])
        params_seed, scenario_seed = sequence.spawn(2)
        params = REGISTRY[name].draw(np.random.default_rng(params_seed))
        specs.append(
            ScenarioSpec(
                name=f"{name}-{i:04d}",
                family=name,
                seed=int(scenario_seed.generate_state(1, dtype=np.uint32)[0]),
                params=params,
            )
        )
    return specs


def build(
    spec: ScenarioSpec,
    history: pd.DataFrame,
    *,
    train_end: pd.Timestamp,
    parameters: Iterable[str] = (),
) -> Scenario:
    """Build ``spec``'s scenario from the candidate's ``history`` (a canonical bars frame).

    ``train_end`` is the candidate's last training bar: fitting families see
    nothing after it. ``parameters`` names a rule strategy's parameters, for
    which a jitter scenario draws multipliers (other families ignore it).

    Raises
    ------
    ScenarioError
        The family is unknown, a parameter is missing, or the history is too
        short for the scenario (the message says what to change).
    """
    family = REGISTRY.get(spec.family)
    if family is None:
        checked_families([spec.family])
    end = checked_history(history, train_end)
    rng = np.random.default_rng(spec.seed)
    if spec.family == "jitter":
        return jitter.build(spec, history, end, rng, parameters)
    assert family is not None  # checked_families raised otherwise
    return family.build(spec, history, end, rng)
