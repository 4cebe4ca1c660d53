"""The compiled window statistics against NumPy itself, bit for bit.

The signal tape's scores and stabilities must not move when their arithmetic
moves from NumPy calls into a compiled kernel, so NumPy is the oracle here
and equality is exact, not approximate.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from alphagate.decision.window_stats import finite_mean_std, pairwise_sum

MAGNITUDES = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, st.integers(0, 700), elements=MAGNITUDES))
def test_the_pairwise_sum_is_numpys_sum_to_the_bit(values: np.ndarray) -> None:
    # 0..700 values: the plain loop, blocks of eight, and halves split two and three deep.
    assert 0.0 + pairwise_sum(values, 0, values.size) == np.add.reduce(values)


def test_the_pairwise_sum_rounds_as_numpy_does_where_a_plain_loop_does_not() -> None:
    values = np.random.default_rng(1).uniform(0.3, 0.7, 60)  # a standardiser's window
    left_to_right = 0.0
    for value in values:
        left_to_right += value
    assert left_to_right != np.add.reduce(values)  # so the order of the sum is seen
    assert 0.0 + pairwise_sum(values, 0, values.size) == np.add.reduce(values)


@settings(max_examples=300, deadline=None)
@given(
    arrays(
        np.float64,
        st.integers(0, 300),
        elements=st.one_of(
            st.floats(0.0, 1.0), st.sampled_from([0.25, 0.5, math.nan, math.inf, -math.inf])
        ),
    )
)
def test_the_finite_mean_and_sample_std_are_numpys_to_the_bit(window: np.ndarray) -> None:
    count, mean, std = finite_mean_std(window)
    finite = window[np.isfinite(window)]
    assert count == finite.size
    if finite.size >= 1:
        assert mean == np.mean(finite)
    if finite.size >= 2:
        assert std == np.std(finite, ddof=1)
    else:
        assert math.isnan(std)
