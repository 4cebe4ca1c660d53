"""The shadow backtest's verdict: how far paper or live trading strayed from the backtest.

After a paper or live session, the same bars are backtested through the same
kernel (the composition root runs it); this module only compares the two
records. The orders and fills are compared one for one, and the equity
curves bar by bar; the **tracking error** of a day is the largest absolute
gap between the two equity curves on that day, as a share of the starting
cash. A replay through the paper venue must give zero everywhere; live
trading will not (real fills), and a day above the threshold is an alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alphagate.domain.instants import NS_PER_DAY
from alphagate.domain.order_state import OrderState
from alphagate.domain.orders import Fill


@dataclass(frozen=True)
class ShadowReport:
    """Paper (or live) against its shadow backtest over the same bars."""

    orders_compared: int
    order_differences: list[str]
    fills_compared: int
    fill_differences: list[str]
    tracking_error: pd.Series
    """Per UTC day (index: the day's midnight, ns), the largest equity gap / starting cash."""

    @property
    def worst(self) -> float:
        """The largest daily tracking error (0 when no bar was compared)."""
        return float(self.tracking_error.max()) if len(self.tracking_error) else 0.0

    def exact(self) -> bool:
        """Whether orders, fills and equity all agree exactly."""
        return not self.order_differences and not self.fill_differences and self.worst == 0.0


def compare(
    *,
    orders: Sequence[OrderState],
    fills: Sequence[Fill],
    equity: pd.Series,
    shadow_orders: pd.DataFrame,
    shadow_fills: Sequence[Fill],
    shadow_equity: pd.Series,
    cash: float,
) -> ShadowReport:
    """Compare a session's books with its shadow backtest's; see the module docstring.

    ``equity`` and ``shadow_equity`` are indexed by bar close (ns ints or UTC
    times); only closes both hold are compared.
    """
    ours = [(s.client_order_id, s.status.value, s.filled_qty) for s in orders]
    theirs = list(
        zip(
            shadow_orders["client_order_id"].astype(str),
            shadow_orders["status"].astype(str),
            shadow_orders["filled_qty"].astype(float),
            strict=True,
        )
    )
    order_differences = _differences("order", ours, theirs)
    fill_differences = _differences(
        "fill",
        [(f.trade_id, f.client_order_id, f.quantity, f.price, f.fee) for f in fills],
        [(f.trade_id, f.client_order_id, f.quantity, f.price, f.fee) for f in shadow_fills],
    )
    paper = _by_ns(equity)
    shadow = _by_ns(shadow_equity)
    common = paper.index.intersection(shadow.index)
    gap = (paper.loc[common] - shadow.loc[common]).abs() / cash
    days = (np.asarray(common, dtype=np.int64) // NS_PER_DAY) * NS_PER_DAY
    tracking = gap.groupby(days).max() if len(common) else pd.Series(dtype=np.float64)
    return ShadowReport(len(ours), order_differences, len(fills), fill_differences, tracking)


def _by_ns(series: pd.Series) -> pd.Series:
    index = series.index
    if isinstance(index, pd.DatetimeIndex):
        return pd.Series(series.to_numpy(np.float64), index=index.as_unit("ns").asi8)
    return pd.Series(series.to_numpy(np.float64), index=np.asarray(index, dtype=np.int64))


def _differences(
    what: str, ours: Sequence[tuple[object, ...]], theirs: Sequence[tuple[object, ...]]
) -> list[str]:
    """The first few places the two lists differ, each as one line."""
    found: list[str] = []
    if len(ours) != len(theirs):
        found.append(f"{len(ours)} {what}s against {len(theirs)} in the shadow backtest")
    for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            found.append(f"{what} {i}: {a} against the shadow's {b}")
            if len(found) >= 5:
                break
    return found
