"""The canonical record encoding: exact round trips, one spelling per value, named refusals."""

from __future__ import annotations

import datetime as dt
import enum
import math
import struct
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.adapters.journal import JournalEncodingError, decode_record, encode_record

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)
_records = st.dictionaries(st.text(), _values, max_size=8)


def _same(left: object, right: object) -> bool:
    """Equality that also tells floats apart by their bits (-0.0 from 0.0) and bool from int."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        assert isinstance(right, float)
        return struct.pack("<d", left) == struct.pack("<d", right)
    if isinstance(left, dict):
        assert isinstance(right, dict)
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        assert isinstance(right, list)
        return len(left) == len(right) and all(map(_same, left, right))
    return left == right


@settings(max_examples=150, deadline=None)
@given(_records)
def test_any_json_record_reads_back_identical_down_to_the_float_bits(record: dict[str, object]):
    assert _same(decode_record(encode_record(record)), record)


@settings(max_examples=100, deadline=None)
@given(_records)
def test_key_order_does_not_change_the_bytes(record: dict[str, object]):
    reversed_record = dict(reversed(list(record.items())))
    assert encode_record(reversed_record) == encode_record(record)


def test_the_encoding_is_sorted_compact_utf8_with_shortest_float_repr():
    text = encode_record({"z": 0.1, "a": [1, True, None], "é": "ü", "m": {"b": -0.0, "a": 1e300}})
    assert text == '{"a":[1,true,null],"m":{"a":1e+300,"b":-0.0},"z":0.1,"é":"ü"}'


def test_floats_read_back_to_the_same_bits():
    hard = [0.1 + 0.2, 5e-324, 1.7976931348623157e308, -0.0, 2.0**53 + 2, 1 / 3]
    decoded = decode_record(encode_record({"x": hard}))["x"]
    assert isinstance(decoded, list)
    assert [struct.pack("<d", v) for v in decoded] == [struct.pack("<d", v) for v in hard]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_a_non_finite_float_is_refused_naming_its_field(bad: float):
    with pytest.raises(JournalEncodingError, match=r"'fill\.legs\[1\]\.price'.*finite"):
        encode_record({"fill": {"legs": [{"price": 1.0}, {"price": bad}]}})


def test_a_datetime_is_refused_naming_its_field_and_the_fix():
    with pytest.raises(JournalEncodingError, match=r"'order\.ts' holds a datetime.*nanoseconds"):
        encode_record({"order": {"ts": dt.datetime(2024, 1, 2, tzinfo=dt.UTC)}})


@pytest.mark.parametrize(
    ("record", "where"),
    [
        ({"s": {1, 2}}, "'s' holds a set"),
        ({"b": b"raw"}, "'b' holds a bytes"),
        ({"a": np.array([1.0])}, "'a' holds a numpy.ndarray"),
        ({"d": {1: "one"}}, "'d' has the key 1 \\(int\\)"),
        ({"t": "\ud800"}, "'t' holds a string that is not valid Unicode"),
    ],
)
def test_values_json_cannot_hold_are_refused_by_name(record: dict[str, object], where: str):
    with pytest.raises(JournalEncodingError, match=where):
        encode_record(record)


def test_subclasses_of_json_types_encode_as_their_base():
    class Side(enum.IntEnum):
        BUY = 1

    record = {"side": Side.BUY, "qty": np.float64(2.5), "legs": OrderedDict(a=1), "t": (1, 2)}
    assert encode_record(record) == '{"legs":{"a":1},"qty":2.5,"side":1,"t":[1,2]}'


@pytest.mark.parametrize("text", ['{"a":NaN}', '{"a":Infinity}', "[1]", "{not json"])
def test_stored_text_that_encode_never_writes_is_refused(text: str):
    with pytest.raises(JournalEncodingError):
        decode_record(text)
