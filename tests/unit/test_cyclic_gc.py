"""The cyclic collector is paused around a batch command and restored as it was found."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from alphagate.cyclic_gc import cyclic_gc_paused


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_block_runs_without_the_collector_and_it_comes_back_after() -> None:
    gc.enable()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_comes_back_when_the_block_raises() -> None:
    gc.enable()
    with pytest.raises(RuntimeError, match="boom"), cyclic_gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_the_caller_disabled_stays_disabled() -> None:
    gc.disable()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_as_a_decorator_each_call_pauses_and_restores() -> None:
    seen: list[bool] = []

    @cyclic_gc_paused()
    def work() -> None:
        seen.append(gc.isenabled())

    gc.enable()
    work()
    work()
    assert seen == [False, False]
    assert gc.isenabled()
