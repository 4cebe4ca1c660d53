"""CR-10: client-id uniqueness over a million orders, restarts and two processes at once.

Each "run" derives the ids of its share of a million distinct decisions;
three runs (restarts) in two concurrent processes must give every decision
the same id each time (a replayed decision names its order) and two
different decisions never the same id, and every id fits the strictest
venue limit. A wiped state database changes nothing: an id depends on the
decision alone, never on a counter kept anywhere.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import pytest

from alphagate.domain.ids import CLIENT_ORDER_ID_LENGTH, CLIENT_ORDER_ID_PATTERN, client_order_id

pytestmark = pytest.mark.slow

DECISIONS = 1_000_000
STRATEGIES = ("sma_cross", "model", "trend_and_dip", "rsi_mean_reversion")
SYMBOLS = ("AAPL", "BTC/USDT", "ETH-USD", "^GSPC", "MSFT")
LEGS = ("entry", "stop", "take_profit")
START = 1_700_000_000_000_000_000


def decision(i: int) -> tuple[str, str, int, str]:
    """The ``i``-th distinct decision: strategy, symbol, instant (a minute grid), leg."""
    return (
        STRATEGIES[i % 4],
        SYMBOLS[(i // 4) % 5],
        START + (i // 60) * 60_000_000_000,
        LEGS[(i // 20) % 3],
    )


def ids_of(part: int, parts: int) -> list[str]:
    return [client_order_id(*decision(i)) for i in range(part, DECISIONS, parts)]


def test_a_million_decisions_three_restarts_two_processes_no_collision() -> None:
    assert len({decision(i) for i in range(DECISIONS)}) == DECISIONS
    runs = []
    with ProcessPoolExecutor(max_workers=2) as pool:
        for _ in range(3):  # three starts, each splitting the work over two processes
            halves = list(pool.map(ids_of, (0, 1), (2, 2)))
            runs.append([coid for pair in zip(*halves, strict=False) for coid in pair])
    first = runs[0]
    assert len(first) == DECISIONS
    assert all(run == first for run in runs[1:])  # replayed decisions, same ids
    assert len(set(first)) == DECISIONS  # distinct decisions, distinct ids
    assert all(len(c) == CLIENT_ORDER_ID_LENGTH for c in first)
    assert all(CLIENT_ORDER_ID_PATTERN.match(c) for c in first[:: DECISIONS // 1000])
