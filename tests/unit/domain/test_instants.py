"""Times on the order path are int64 ns: what the one check accepts, converts and refuses."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from alphagate.domain.instants import NS_PER_DAY, check_ns


def test_a_python_int_is_returned_as_it_is_and_a_numpy_integer_becomes_one() -> None:
    value = 1_709_303_400_000_000_000
    assert check_ns(value, "ts") is value
    converted = check_ns(np.int64(value), "ts")
    assert type(converted) is int and converted == value
    assert check_ns(np.uint32(7), "ts") == 7


def test_the_int64_range_is_accepted_to_its_ends_but_not_the_nat_marker() -> None:
    assert check_ns(2**63 - 1, "ts") == 2**63 - 1
    assert check_ns(-(2**63) + 1, "ts") == -(2**63) + 1
    for outside in (2**63, -(2**63)):
        with pytest.raises(ValueError, match="ts is outside the int64 ns range"):
            check_ns(outside, "ts")


@pytest.mark.parametrize(
    "value",
    [True, np.bool_(False), 1.7e18, "1709303400000000000", None, dt.datetime(2024, 3, 1)],
)
def test_anything_but_an_integer_is_refused_naming_what_was_checked(value: object) -> None:
    with pytest.raises(ValueError, match=r"^fill 'x': ts_event must be int64 ns since the epoch"):
        check_ns(value, "fill 'x': ts_event")


def test_a_timestamp_is_refused_with_the_way_to_convert_it() -> None:
    with pytest.raises(ValueError, match=r"a Timestamp's \.value is that"):
        check_ns(pd.Timestamp("2024-03-01", tz="UTC"), "ts")


def test_a_day_of_nanoseconds_counts_utc_calendar_days() -> None:
    noon = pd.Timestamp("2024-03-01 12:00", tz="UTC").value
    assert noon // NS_PER_DAY == (dt.date(2024, 3, 1) - dt.date(1970, 1, 1)).days
