"""What the kernel asks its risk controls, and what they may answer.

The kernel knows nothing about limits, drawdowns or kill switches; it only
consults an :class:`OrderGuard` at two moments, the same in a backtest, a
paper run and a live run:

* after every bar close, with the account marked at that close, so monitors
  (drawdown, daily loss, correlation breaker, kill switch) see every mark and
  can answer with a :class:`GuardAction`;
* before every order goes to the venue, so pre-trade checks can pass it,
  shrink it, or refuse it with a reason.

Keeping the protocol this narrow is what lets the risk package stay below
the engine in the rings (it never sees the kernel) and lets the kernel stay fast
when no guard is configured (no per-bar mark is computed for nobody).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import pandas as pd

from alphagate.domain.orders import OrderRequest


class GuardAction(StrEnum):
    """What the kernel must do after a bar close, beyond carrying on."""

    NONE = "none"
    """Carry on."""
    CANCEL_ALL = "cancel_all"
    """Cancel every working order now (a kill switch tripped); ``review`` refuses new ones."""
    FLATTEN = "flatten"
    """Cancel every working order and close every position with market orders."""


@dataclass(frozen=True, slots=True)
class AccountView:
    """The account as the guard may see it at one moment; nothing in it can be changed.

    ``prices`` are the latest closes of every symbol seen so far (the marks of
    ``equity``); ``positions`` holds signed quantities of non-flat symbols.
    """

    ts: pd.Timestamp
    equity: float
    cash: float
    positions: Mapping[str, float]
    prices: Mapping[str, float]


class OrderGuard(Protocol):
    """Risk controls the kernel consults; see the module docstring."""

    def after_bar(self, account: AccountView) -> GuardAction:
        """Update the monitors with the account marked at this bar close."""
        ...

    def review(
        self, request: OrderRequest, account: AccountView, price: float
    ) -> OrderRequest | str:
        """Return the order to send (possibly smaller), or the reason it is refused.

        ``price`` is the kernel's estimate of the fill price (the latest close,
        or the open the order is sized at). A refusal must already be recorded
        by the guard as a risk event; the kernel only skips the order.
        """
        ...
