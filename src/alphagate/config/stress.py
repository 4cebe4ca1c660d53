"""The stress sections: the scenarios a candidate faces, the gate it must pass, where work runs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from alphagate.config.base import Section


class StressConfig(Section):
    """The scenario library a candidate is run through, and the stress gate's thresholds.

    The gate defaults are the product brief's: a strategy that loses money in
    most unseen markets, or that can lose most of its cash in one, is not
    promoted however well it backtested.
    """

    scenarios: int = Field(200, ge=1, description="Scenarios in the default library.")
    pipeline_scenarios: int = Field(
        40,
        ge=1,
        description="Scenarios the pipeline's stress stage runs; fewer than `scenarios` so "
        "`make pipeline` stays quick. Run `alphagate stress run` for the full library.",
    )
    seed: int = Field(0, description="Seed of the scenario library; the same seed, the same runs.")
    families: tuple[str, ...] = Field(
        (), description="Scenario families to draw from; empty means every family."
    )
    workers: int | None = Field(
        None, ge=1, description="Worker processes; null means one per CPU core."
    )
    catastrophic_loss: float = Field(
        0.5,
        gt=0,
        le=1,
        description="A scenario losing more than this share of the starting cash is catastrophic.",
    )
    min_profitable: float = Field(
        0.4, ge=0, le=1, description="Gate: least share of scenarios that must end profitable."
    )
    min_median_sharpe: float = Field(
        0.0, description="Gate: least median Sharpe ratio across scenarios."
    )
    max_catastrophic: int = Field(
        0, ge=0, description="Gate: most catastrophic scenarios allowed (0: none)."
    )
    monte_carlo_runs: int = Field(
        1000, ge=1, description="Reshuffles of the candidate's own trades for the drawdown spread."
    )
    rule_fit_share: float = Field(
        0.7,
        gt=0,
        lt=1,
        description="For a rule strategy (no training period): the share of the history the "
        "generators fit on; crisis overlays land on the rest.",
    )


class ParallelConfig(Section):
    """Where fan-out work (stress scenarios) runs."""

    backend: Literal["local", "ray"] = Field(
        "local",
        description="local: processes on this machine; ray: a Ray cluster (needs `pip install "
        "ray`, and `ray start` or RAY_ADDRESS for a cluster).",
    )
    ray_address: str | None = Field(
        None,
        description="With backend ray: the cluster to join (ray://head:10001 or head:6379); "
        "null starts a local Ray on loopback with one CPU per worker.",
    )
