"""Choose triple-barrier widths on training data, and keep the choice.

The barrier width decides the class mix: narrow barriers make almost every
label a touch, wide ones make almost every label vertical. A mix far from
balanced lets a classifier score well by predicting the majority class, so the
width is picked to bring the shares of up, down and vertical labels close to a
target. Only symmetric barriers (``pt == sl``) are searched: an asymmetric pair
would bake a directional view into the labels.

The choice is a fitted parameter like any other. It must see **training data
only**, or the test period's volatility regime leaks into every label; it is
saved as JSON beside the model so the same barriers label the test and live
data.

A grid search can only say which candidate is best, not that the best width
lies inside the grid: a choice on the grid's smallest or largest candidate
may be that edge only because the real optimum lies beyond it. The result
records this (``grid_edge``) and a warning is logged, so a caller can widen
the candidates rather than silently label with a clipped width. The default
grid runs from 0.25 to 8 volatilities, finer at the narrow end where the
class mix changes fastest per step: with the default 20-bar horizon on daily
index data the balanced width is about 4, above the old grid's top of 3.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, cast, get_args

import numpy as np
import pandas as pd

from alphagate.labels.triple_barrier import daily_volatility, triple_barrier_labels

_log = logging.getLogger(__name__)

DEFAULT_CANDIDATES: tuple[float, ...] = (
    *(k / 8 for k in range(2, 17)),  # 0.25 to 2 by 0.125
    *(k / 4 for k in range(9, 21)),  # 2.25 to 5 by 0.25
    *(k / 2 for k in range(11, 17)),  # 5.5 to 8 by 0.5
)
"""Widths tried by default, in volatility units (exact binary fractions, plain in JSON)."""

CLASSES: tuple[str, str, str] = ("up", "down", "vertical")

GridEdge = Literal["lowest", "highest", "only"]
"""Where a chosen width sits on its grid: its smallest, its largest, or its single candidate."""


@dataclass(frozen=True)
class BarrierChoice:
    """Symmetric barrier widths chosen on training data, with what they produced there.

    Attributes
    ----------
    pt, sl
        Profit-take and stop-loss widths in units of volatility (equal).
    horizon, vol_span, min_vol
        The labelling settings the widths were chosen under; labels are only
        comparable when they are reused.
    class_shares
        Share of ``up``, ``down`` and ``vertical`` labels on the training data
        (labelled rows only), summing to 1.
    grid_edge
        ``"lowest"`` or ``"highest"`` when the width is the smallest or largest
        candidate searched (``"only"`` for a single candidate), so the best
        width may lie outside the grid; ``None`` for an interior choice, or
        widths given by hand.
    """

    pt: float
    sl: float
    horizon: int
    vol_span: int
    min_vol: float
    class_shares: dict[str, float] = field(hash=False)
    grid_edge: GridEdge | None = None

    def save(self, path: Path | str) -> None:
        """Write the choice as JSON (UTF-8, keys sorted, so equal choices give equal files)."""
        Path(path).write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", "utf-8")

    @classmethod
    def load(cls, path: Path | str) -> BarrierChoice:
        """Read a choice written by ``save``; a missing or unknown key raises ``ValueError``.

        ``grid_edge`` may be absent: files saved before it existed still load
        (as ``None``, since nothing was recorded about their grid).
        """
        raw = json.loads(Path(path).read_text("utf-8"))
        required = {"pt", "sl", "horizon", "vol_span", "min_vol", "class_shares"}
        if not isinstance(raw, dict) or not required <= set(raw) <= required | {"grid_edge"}:
            raise ValueError(f"{path}: expected keys {sorted(required)} and optionally grid_edge")
        shares = raw["class_shares"]
        if not isinstance(shares, dict) or set(shares) != set(CLASSES):
            raise ValueError(f"{path}: class_shares must have keys {list(CLASSES)}")
        edge = raw.get("grid_edge")
        if edge is not None and edge not in get_args(GridEdge):
            raise ValueError(f"{path}: grid_edge must be one of {get_args(GridEdge)} or null")
        return cls(
            pt=float(raw["pt"]),
            sl=float(raw["sl"]),
            horizon=int(raw["horizon"]),
            vol_span=int(raw["vol_span"]),
            min_vol=float(raw["min_vol"]),
            class_shares={k: float(shares[k]) for k in CLASSES},
            grid_edge=cast("GridEdge | None", edge),
        )


def class_shares(labels: pd.Series) -> dict[str, float]:
    """Shares of ``up`` (1), ``down`` (-1) and ``vertical`` (0) among the labelled rows."""
    known = labels.dropna().to_numpy(dtype=np.int64)
    if known.size == 0:
        raise ValueError("no row has a known label; the training data is too short")
    return {
        "up": float(np.mean(known == 1)),
        "down": float(np.mean(known == -1)),
        "vertical": float(np.mean(known == 0)),
    }


def choose_barriers(
    bars_train: pd.DataFrame,
    *,
    horizon: int,
    target_balance: float = 1 / 3,
    candidates: Sequence[float] = DEFAULT_CANDIDATES,
    vol_span: int = 50,
    min_vol: float = 1e-8,
) -> BarrierChoice:
    """Pick the symmetric width whose class shares are closest to the target.

    Parameters
    ----------
    bars_train
        Canonical bars frame of the *training* period only. Nothing else is
        read, so data after it cannot influence the choice.
    horizon
        Vertical barrier in bars.
    target_balance
        Target share of vertical labels, in ``[0, 1]``; up and down each
        target half of the rest. The default ``1/3`` asks for three equal
        classes.
    candidates
        Widths (``pt = sl``) to try, in volatility units.
    vol_span, min_vol
        Passed to ``triple_barrier_labels``.

    Returns
    -------
    BarrierChoice
        The candidate minimising the L1 distance between its ``(up, down,
        vertical)`` shares and the target; on a tie the earlier candidate wins,
        so the result does not depend on floating-point noise in the order.
        ``grid_edge`` says whether it is the smallest or largest candidate; if
        so, a warning is logged on this module's logger.
    """
    if not 0.0 <= target_balance <= 1.0:
        raise ValueError(f"target_balance must be in [0, 1], got {target_balance}")
    widths = [float(c) for c in candidates]
    if not widths:
        raise ValueError("candidates must name at least one width")
    if any(not (w > 0 and np.isfinite(w)) for w in widths):
        raise ValueError(f"candidates must be finite and > 0, got {widths}")
    target = np.array([(1 - target_balance) / 2, (1 - target_balance) / 2, target_balance])

    vol = daily_volatility(bars_train["close"], span=vol_span)  # once, shared by all widths
    best: tuple[float, float, dict[str, float]] | None = None
    for width in widths:
        labels = triple_barrier_labels(
            bars_train,
            pt=width,
            sl=width,
            horizon=horizon,
            vol_span=vol_span,
            min_vol=min_vol,
            vol=vol,
        )["label"]
        shares = class_shares(labels)
        distance = float(np.abs(np.array([shares[c] for c in CLASSES]) - target).sum())
        if best is None or distance < best[1]:
            best = (width, distance, shares)
    assert best is not None  # widths is not empty
    width, _, shares = best
    edge = grid_edge(width, widths)
    if edge is not None:
        _log.warning(edge_warning(width, edge, widths))
    return BarrierChoice(
        pt=width,
        sl=width,
        horizon=horizon,
        vol_span=vol_span,
        min_vol=min_vol,
        class_shares=shares,
        grid_edge=edge,
    )


def grid_edge(width: float, candidates: Sequence[float]) -> GridEdge | None:
    """Where ``width`` sits among ``candidates`` by value (their order does not matter)."""
    low, high = min(candidates), max(candidates)
    if low == high:
        return "only"
    if width == low:
        return "lowest"
    if width == high:
        return "highest"
    return None


def edge_warning(width: float, edge: GridEdge, candidates: Sequence[float]) -> str:
    """The sentence that tells a user a chosen width may be clipped by its grid."""
    low, high = min(candidates), max(candidates)
    if edge == "only":
        return f"barrier width {width:g} was the only candidate; nothing was searched"
    beyond = "below" if edge == "lowest" else "above"
    return (
        f"barrier width {width:g} is the {edge} candidate of the grid {low:g}..{high:g}; "
        f"the best width may lie {beyond} it, so search wider candidates"
    )
