"""parallel.map on a local Ray instance: loopback only, the local backend's results, failures kept.

One Ray instance serves the module (it takes seconds and ~700 MB to start).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from alphagate import parallel
from alphagate.app.sweep import SweepRequest, run_sweep
from alphagate.backtest.sweep import parse_grid
from alphagate.config import Settings
from alphagate.testing.network import is_loopback

if importlib.util.find_spec("ray") is None:  # not imported here: Ray reads its settings on import
    pytest.skip("ray is not installed", allow_module_level=True)


def seeded_walk(scale: float, seed: int) -> float:
    """A float sum that differs in its last bits with any change of order, seed or scale."""
    return scale * float(np.random.default_rng(seed).standard_normal(1000).cumsum().sum())


def fails_on_three(scale: float, seed: int) -> float:
    if seed == 3:
        raise ValueError("seed 3 is refused")
    return seeded_walk(scale, seed)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    parallel.start_ray(workers=2)
    yield
    parallel.stop_ray()


def test_every_ray_listener_is_on_loopback(local_ray: None) -> None:
    ours = {p.pid for p in psutil.Process().children(recursive=True)}
    listening = [
        c for c in psutil.net_connections(kind="inet") if c.status == "LISTEN" and c.pid in ours
    ]
    assert listening, "no Ray listener found among this process's children"
    assert [c.laddr for c in listening if not is_loopback((c.laddr.ip, c.laddr.port))] == []


def test_ray_gives_the_local_backends_results_in_input_order(local_ray: None) -> None:
    seeds = [9, 3, 7, 1, 5, 2]
    arrived: list[int] = []
    local = parallel.map(seeded_walk, seeds, shared=1.5, workers=2)
    remote = parallel.map(
        seeded_walk, seeds, shared=1.5, backend="ray", on_result=lambda i, _: arrived.append(i)
    )
    assert np.array(local).tobytes() == np.array(remote).tobytes()
    assert sorted(arrived) == list(range(len(seeds)))


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_a_failed_task_is_kept_in_its_place_when_asked(local_ray: None, backend: str) -> None:
    results = parallel.map(
        fails_on_three,
        [1, 3, 5],
        shared=1.0,
        workers=2,
        backend=backend,
        failures="keep",  # type: ignore[arg-type]
    )
    assert results[0] == seeded_walk(1.0, 1) and results[2] == seeded_walk(1.0, 5)
    failure = results[1]
    assert isinstance(failure, parallel.TaskFailure)
    assert failure.index == 1 and failure.error == "ValueError: seed 3 is refused"
    assert "fails_on_three" in failure.traceback
    with pytest.raises(Exception, match="seed 3 is refused"):
        parallel.map(fails_on_three, [1, 3], shared=1.0, workers=2, backend=backend)  # type: ignore[arg-type]


def test_a_sweep_on_ray_writes_the_local_table(
    local_ray: None, gspc_bars: pd.DataFrame, tmp_path: Path
) -> None:
    bars = gspc_bars.iloc[-800:]
    axes = parse_grid("fast=10:30:10,slow=40|80")
    on_ray = Settings().model_copy(
        update={"parallel": Settings().parallel.model_copy(update={"backend": "ray"})}
    )
    here = run_sweep(
        Settings(), bars, SweepRequest("sma_cross", axes, {}, workers=1), tmp_path / "a"
    )
    there = run_sweep(on_ray, bars, SweepRequest("sma_cross", axes, {}), tmp_path / "b")
    assert (tmp_path / "a" / "sweep.csv").read_bytes() == (
        tmp_path / "b" / "sweep.csv"
    ).read_bytes()
    assert here.best == there.best
