"""The default library: how many specs, their names, families, ranges and determinism."""

from __future__ import annotations

import json

import pytest

from alphagate.stress.scenarios import FAMILIES, ScenarioError, default_library


def test_the_default_library_has_200_unique_names_across_every_family() -> None:
    specs = default_library(200)
    assert len(specs) == 200
    assert len({s.name for s in specs}) == 200
    assert {s.family for s in specs} == set(FAMILIES) == {
        "bootstrap", "garch", "regime", "crash", "gap", "flash_crash",
        "liquidity", "correlation", "cost_shock", "jitter",
    }  # fmt: skip
    assert all(s.name.startswith(f"{s.family}-") for s in specs)


def test_the_library_is_the_same_for_a_seed_and_differs_for_another() -> None:
    assert default_library(200, seed=5) == default_library(200, seed=5)
    assert default_library(50, seed=5) != default_library(50, seed=6)


def test_growing_the_library_keeps_the_scenarios_it_had() -> None:
    small = {s.name: s for s in default_library(40, seed=1)}
    large = {s.name: s for s in default_library(200, seed=1)}
    assert all(large[name] == spec for name, spec in small.items())


def test_specs_are_json_values_and_seeds_differ() -> None:
    specs = default_library(200)
    json.dumps([{"seed": s.seed, "params": dict(s.params)} for s in specs])
    assert len({s.seed for s in specs}) == 200


def test_parameters_fall_in_the_issue_ranges() -> None:
    specs = default_library(400, seed=3)
    by_family = {f: [s.params for s in specs if s.family == f] for f in FAMILIES}
    assert all(0.10 <= p["depth"] <= 0.35 for p in by_family["crash"])
    assert all(1 <= p["days"] <= 20 for p in by_family["crash"])
    assert all(2.0 <= p["vol_multiplier"] <= 4.0 for p in by_family["crash"])
    assert {p["shape"] for p in by_family["crash"]} == {"1987", "2008", "2020"}
    assert all(3.0 <= p["spread_multiplier"] <= 10.0 for p in by_family["liquidity"])
    assert all(p["volume_divisor"] == 5.0 for p in by_family["liquidity"])
    assert all(0.8 <= p["target"] <= 0.95 for p in by_family["correlation"])
    for p in by_family["cost_shock"]:
        assert 2.0 <= p["commission"] <= 5.0 and 2.0 <= p["slippage"] <= 5.0
    assert all(0.10 <= p["min_change"] <= p["max_change"] <= 0.20 for p in by_family["jitter"])
    assert len({p["block_length"] for p in by_family["bootstrap"]}) > 1


def test_a_subset_of_families_gets_all_the_scenarios() -> None:
    specs = default_library(7, families=["crash", "gap"])
    assert [s.family for s in specs] == ["crash", "gap"] * 3 + ["crash"]


def test_an_unknown_family_is_refused_with_the_nearest_name() -> None:
    with pytest.raises(ScenarioError, match="did you mean 'flash_crash'"):
        default_library(10, families=["flash-crash"])
