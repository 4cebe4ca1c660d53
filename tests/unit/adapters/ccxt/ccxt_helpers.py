"""Shared helpers of the CCXT adapter tests: settings, environment, a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alphagate.adapters.broker.pacing import Pacing
from alphagate.config.settings import Settings
from servers.binance_server import BinanceServer, BinanceState, state_for

SYMBOL = "BTC/USDT"


def settings_for(url: str, **ccxt: Any) -> Settings:
    """Default settings with the ccxt venue pointed at ``url`` (live endpoints, so sapi exists)."""
    venue = {"exchange": "binance", "sandbox": False, "urls": {"all": url}} | ccxt
    return Settings.model_validate({"venues": {"ccxt": venue}})


def environ_for(state: BinanceState) -> dict[str, str]:
    """The environment a user sets: the keys, nothing else."""
    return {"ALPHAGATE_BINANCE_API_KEY": state.api_key, "ALPHAGATE_BINANCE_SECRET": state.secret}


@contextmanager
def running(state: BinanceState) -> Iterator[BinanceServer]:
    """The server alone (for the OHLCV source and the CLI)."""
    with BinanceServer(state) as server:
        yield server


class FakeClock:
    """Monotonic seconds that move only when slept, shared by the server and the pacing."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def paced_by(clock: FakeClock, per_minute: int | None = None) -> Pacing:
    """A pacing that sleeps on ``clock``."""
    return Pacing(per_minute=per_minute, clock=clock, sleep=clock.sleep)


__all__ = ["SYMBOL", "FakeClock", "environ_for", "paced_by", "running", "settings_for", "state_for"]
