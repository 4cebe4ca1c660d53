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
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from alphagate.labels.triple_barrier import daily_volatility, triple_barrier_labels

DEFAULT_CANDIDATES: tuple[float, ...] = tuple(float(m) for m in np.arange(0.5, 3.0001, 0.25))
CLASSES: tuple[str, str, str] = ("up", "down", "vertical")


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
    """

    pt: float
    sl: float
    horizon: int
    vol_span: int
    min_vol: float
    class_shares: dict[str, float] = field(hash=False)

    def save(self, path: Path | str) -> None:
        """Write the choice as JSON (UTF-8, keys sorted, so equal choices give equal files)."""
        Path(path).write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", "utf-8")

    @classmethod
    def load(cls, path: Path | str) -> BarrierChoice:
        """Read a choice written by ``save``; a missing or unknown key raises ``ValueError``."""
        raw = json.loads(Path(path).read_text("utf-8"))
        expected = {"pt", "sl", "horizon", "vol_span", "min_vol", "class_shares"}
        if not isinstance(raw, dict) or set(raw) != expected:
            raise ValueError(f"{path}: expected keys {sorted(expected)}")
        shares = raw["class_shares"]
        if not isinstance(shares, dict) or set(shares) != set(CLASSES):
            raise ValueError(f"{path}: class_shares must have keys {list(CLASSES)}")
        return cls(
            pt=float(raw["pt"]),
            sl=float(raw["sl"]),
            horizon=int(raw["horizon"]),
            vol_span=int(raw["vol_span"]),
            min_vol=float(raw["min_vol"]),
            class_shares={k: float(shares[k]) for k in CLASSES},
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
    return BarrierChoice(
        pt=width,
        sl=width,
        horizon=horizon,
        vol_span=vol_span,
        min_vol=min_vol,
        class_shares=shares,
    )
