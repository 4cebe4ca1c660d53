"""What a paper or live engine holds, as a snapshot: for ``paper status`` and for recovery's check.

A snapshot is the books, not the engine: positions, cash, the working
orders and how many orders were ever sent, as of a journal sequence number.
``paper status`` reads the latest one without starting anything; recovery
compares it with the books it rebuilt by replay, so a journal that lost
records is caught before the engine trades on it.
"""

from __future__ import annotations

from typing import Any

from alphagate.live.driver import LiveDriver
from alphagate.live.records import request_record


def snapshot_state(driver: LiveDriver) -> dict[str, Any]:
    """The driver's books as a JSON object."""
    kernel = driver.kernel
    portfolio = kernel.portfolio
    working = [kernel.orders[cid] for cid in sorted(kernel.working)]
    return {
        "last_ts": driver.last_ts,
        "cycles": driver.cycles,
        "cash": portfolio.cash,
        "positions": dict(sorted(portfolio.quantities.items())),
        "orders_sent": len(kernel.orders),
        "engine_halted": None if driver.operator is None else driver.operator.engine.is_tripped(),
        "degradation": None if driver.gate is None else driver.gate.registry.level.label,
        "open_orders": [
            {
                "request": request_record(state.request),
                "status": state.status.value,
                "filled_qty": state.filled_qty,
            }
            for state in working
        ],
    }
