"""Commission models on hand-computed numbers: each fee is one line of arithmetic."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from alphagate.domain.orders import Liquidity
from alphagate.execution.commission import (
    BasisPoints,
    CommissionModel,
    MakerTaker,
    NoCommission,
    PerShare,
)


def test_per_share_charges_the_rate_times_the_quantity_above_the_minimum() -> None:
    model = PerShare(rate=0.005, minimum=1.0)
    # 1 000 shares * 0.005 = 5.00, above the 1.00 minimum.
    assert model.fee(1_000, 50.0, Liquidity.TAKER) == pytest.approx(5.0)


def test_per_share_charges_the_minimum_on_a_small_fill() -> None:
    model = PerShare(rate=0.005, minimum=1.0)
    # 100 shares * 0.005 = 0.50, below the minimum: 1.00.
    assert model.fee(100, 50.0, Liquidity.TAKER) == 1.0


def test_basis_points_charge_a_fraction_of_notional_whatever_the_liquidity() -> None:
    model = BasisPoints(bps=10)
    # 100 * 50 = 5 000 notional; 10 bps of it = 5.00.
    assert model.fee(100, 50.0, Liquidity.TAKER) == pytest.approx(5.0)
    assert model.fee(100, 50.0, Liquidity.MAKER) == pytest.approx(5.0)


def test_maker_taker_pays_a_rebate_to_makers_and_charges_takers() -> None:
    model = MakerTaker(maker_bps=-2, taker_bps=5)
    # 5 000 notional: maker -2 bps = -1.00 (a rebate), taker 5 bps = 2.50.
    assert model.fee(100, 50.0, Liquidity.MAKER) == pytest.approx(-1.0)
    assert model.fee(100, 50.0, Liquidity.TAKER) == pytest.approx(2.5)


def test_no_commission_is_free() -> None:
    assert NoCommission().fee(1_000, 50.0, Liquidity.TAKER) == 0.0


def test_every_model_satisfies_the_protocol() -> None:
    models: list[CommissionModel] = [
        NoCommission(),
        PerShare(0.01),
        BasisPoints(1),
        MakerTaker(0, 1),
    ]
    assert all(math.isfinite(m.fee(10, 10.0, Liquidity.TAKER)) for m in models)


@pytest.mark.parametrize(
    "build",
    [
        lambda: PerShare(rate=-0.01),
        lambda: PerShare(rate=0.01, minimum=-1.0),
        lambda: PerShare(rate=math.nan),
        lambda: BasisPoints(bps=-1),
        lambda: BasisPoints(bps=math.inf),
        lambda: MakerTaker(maker_bps=1, taker_bps=-1),
        lambda: MakerTaker(maker_bps=math.nan, taker_bps=1),
    ],
)
def test_a_negative_or_non_finite_rate_is_refused(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="must be finite"):
        build()
