"""A stand-in for the scenario generator's ``build``, so the runner is tested on its own.

Each fake scenario scales the history's prices by a path its params describe
(a steady drift, or a crash to a given depth), and can carry an execution
shock, a spread series and parameter multipliers, as real families do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class FakeSpec:
    name: str
    family: str
    seed: int
    params: Mapping[str, float | int | str] = field(default_factory=dict)


@dataclass(frozen=True)
class FakeScenario:
    spec: FakeSpec
    bars: pd.DataFrame
    spread_bps: pd.Series | None
    execution: Mapping[str, float]
    strategy_params: Mapping[str, float] | None


def fake_build(
    spec: FakeSpec,
    history: pd.DataFrame,
    *,
    train_end: pd.Timestamp,
    parameters: tuple[str, ...] = (),
) -> FakeScenario:
    """Scale each bar's prices by ``exp(drift * t + noise)``, or crash them by ``depth``."""
    stamps = history.index.get_level_values("ts")
    order = pd.Index(sorted(stamps.unique()))
    step = order.get_indexer(stamps).astype(np.float64)
    rng = np.random.default_rng(spec.seed)
    noise = rng.normal(0.0, 0.002, len(order))[order.get_indexer(stamps)]
    drift = float(spec.params.get("drift", 0.0))
    path = np.exp(drift * step + noise)
    depth = float(spec.params.get("depth", 0.0))
    if depth:
        half = len(order) // 2
        path = path * np.where(step >= half, 1.0 - depth, 1.0)
    bars = history.copy()
    for column in ("open", "high", "low", "close"):
        bars[column] = bars[column].to_numpy() * path
    spread = spec.params.get("spread")
    return FakeScenario(
        spec=spec,
        bars=bars,
        spread_bps=None if spread is None else pd.Series(float(spread), index=order),
        execution={"commission": float(spec.params.get("cost", 1.0))},
        strategy_params={"fast": float(spec.params["jitter"])} if "jitter" in spec.params else None,
    )
