"""What the kernel asks its driver to do: the only way a decision leaves the engine.

The kernel (:mod:`alphagate.engine.kernel`) never calls a venue, a journal
or a clock. Each event it is given answers with a list of these commands,
and a driver carries them out: the backtest hands them to the simulated
venue at once; the live driver journals each one before it sends it. That
separation is what lets the same kernel run over history and over a live
feed, and what lets a test drive it with a venue written in ten lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from alphagate.domain.orders import OrderRequest


@dataclass(frozen=True, slots=True)
class Submit:
    """Send this order. The kernel has already marked it ``SUBMITTED`` in its books."""

    request: OrderRequest


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancel this working order; ``reason`` says who asked (a guard, a strategy)."""

    client_order_id: str
    reason: str


Command: TypeAlias = Submit | Cancel
"""Everything a kernel event may answer with, in the order it must be carried out."""
