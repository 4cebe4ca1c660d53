"""parallel.map: input order, in-process with one worker, the same results with two."""

from __future__ import annotations

import numpy as np
import pytest

from alphagate import parallel
from alphagate.errors import ConfigError


def seeded_walk(scale: float, seed: int) -> float:
    """A float sum that differs in its last bits with any change of order, seed or scale."""
    return scale * float(np.random.default_rng(seed).standard_normal(1000).cumsum().sum())


def test_one_worker_runs_in_order_in_this_process() -> None:
    seen: list[int] = []

    results = parallel.map(
        seeded_walk, range(5), shared=0.5, workers=1, on_result=lambda i, _: seen.append(i)
    )

    assert results == [seeded_walk(0.5, s) for s in range(5)]
    assert seen == [0, 1, 2, 3, 4]


def test_two_workers_give_bit_identical_results_in_input_order() -> None:
    seeds = [9, 3, 7, 1, 5, 2]
    arrived: list[int] = []

    one = parallel.map(seeded_walk, seeds, shared=1.5, workers=1)
    two = parallel.map(
        seeded_walk, seeds, shared=1.5, workers=2, on_result=lambda i, _: arrived.append(i)
    )

    assert np.array(one).tobytes() == np.array(two).tobytes()
    assert one[0] == seeded_walk(1.5, 9)
    assert sorted(arrived) == list(range(len(seeds)))


def test_an_empty_input_maps_to_an_empty_list() -> None:
    assert parallel.map(seeded_walk, [], shared=1.0, workers=2) == []


def test_zero_workers_is_a_user_error() -> None:
    with pytest.raises(ConfigError, match="workers must be at least 1"):
        parallel.map(seeded_walk, [1], shared=1.0, workers=0)


def test_ray_without_ray_installed_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # an import of ray now fails

    with pytest.raises(ConfigError, match="pip install ray"):
        parallel.map(seeded_walk, [1], shared=1.0, backend="ray")
