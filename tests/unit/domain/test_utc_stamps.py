"""Boxing epoch nanoseconds gives exactly what ``pd.Timestamp(ns, tz="UTC")`` gives."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphagate.domain.utc_stamps import (
    NANOSECONDS,
    UTC,
    box_utc_ns,
    box_with_constructor,
    exact_or_constructor,
    utc_timestamp,
)

nanoseconds = st.integers(pd.Timestamp.min.value, pd.Timestamp.max.value)


def _same(a: pd.Timestamp, b: pd.Timestamp) -> bool:
    return (
        type(a) is type(b) is pd.Timestamp
        and a.value == b.value
        and a.unit == b.unit == "ns"
        and a.tzinfo is b.tzinfo
        and repr(a) == repr(b)
    )


@given(nanoseconds)
def test_the_box_in_use_is_the_public_constructor_exactly(ns: int) -> None:
    public = pd.Timestamp(ns, tz="UTC")
    assert _same(utc_timestamp(ns), public)
    assert _same(box_utc_ns(ns, NANOSECONDS, UTC), public)
    assert _same(box_with_constructor(ns, NANOSECONDS, UTC), public)


def test_the_faster_internal_box_is_used_where_pandas_has_it() -> None:
    internal = getattr(pd.Timestamp, "_from_value_and_reso", None)
    if internal is None:
        pytest.skip("this pandas has no internal box; the constructor serves")
    assert box_utc_ns == internal


def _naive(value: int, resolution: int, tz: dt.tzinfo) -> pd.Timestamp:
    return pd.Timestamp(value)


def _microseconds(value: int, resolution: int, tz: dt.tzinfo) -> pd.Timestamp:
    return pd.Timestamp(value, tz=tz).as_unit("us")


def _changed_signature(value: int) -> pd.Timestamp:
    return pd.Timestamp(value, tz="UTC")


@pytest.mark.parametrize("candidate", [None, _naive, _microseconds, _changed_signature, "text"])
def test_a_missing_or_inexact_internal_box_falls_back_to_the_constructor(
    candidate: object,
) -> None:
    assert exact_or_constructor(candidate) is box_with_constructor


def test_only_nanosecond_values_are_boxed_by_the_fallback() -> None:
    with pytest.raises(ValueError, match="only nanosecond"):
        box_with_constructor(1, 9, UTC)
