"""Text parameters reach a constructor as the types its signature asks for, or are refused."""

from __future__ import annotations

from typing import Optional

import pytest

from alphagate.errors import ConfigError
from alphagate.strategies.parameters import constructor_arguments, did_you_mean


class Annotated:
    def __init__(
        self,
        *,
        period: int = 5,
        weight: float = 1.0,
        short: bool = False,
        label: str = "x",
        cap: int | None = None,
        floor: Optional[float] = None,  # noqa: UP045 (the older spelling users still write)
    ) -> None:
        pass


class Unannotated:
    def __init__(self, period=5, weight=0.5, loud=True, anything=None):  # type: ignore[no-untyped-def]
        pass


class Open:
    def __init__(self, period: int = 5, **rest: object) -> None:
        pass


class Required:
    def __init__(self, period: int, weight: float = 1.0) -> None:
        pass


class Unresolvable:
    # A string annotation naming something imported only for type checkers:
    # the signature cannot be evaluated, so the simple names are read as text.
    def __init__(
        self,
        period: int = 5,
        when: TimeOfDay | None = None,  # type: ignore[name-defined]  # noqa: F821
    ) -> None:
        pass


def test_text_becomes_the_annotated_type() -> None:
    given = {"period": "7", "weight": "0.25", "short": "yes", "label": "abc", "cap": "3"}
    assert constructor_arguments("a", Annotated, {**given, "floor": "0.5"}) == {
        "period": 7,
        "weight": 0.25,
        "short": True,
        "label": "abc",
        "cap": 3,
        "floor": 0.5,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("On", True), ("1", True), ("no", False), ("FALSE", False), ("0", False)],
)
def test_booleans_are_read_from_the_usual_words(text: str, expected: bool) -> None:
    assert constructor_arguments("a", Annotated, {"short": text}) == {"short": expected}


def test_without_an_annotation_the_default_gives_the_type_and_none_keeps_the_text() -> None:
    given = {"period": "9", "weight": "0.1", "loud": "off", "anything": "raw text"}
    assert constructor_arguments("u", Unannotated, given) == {
        "period": 9,
        "weight": 0.1,
        "loud": False,
        "anything": "raw text",
    }


def test_annotations_that_cannot_be_evaluated_are_read_by_their_simple_names() -> None:
    assert constructor_arguments("u", Unresolvable, {"period": "4", "when": "9:30"}) == {
        "period": 4,
        "when": "9:30",
    }


def test_a_constructor_taking_keyword_arguments_gets_unknown_names_as_text() -> None:
    assert constructor_arguments("o", Open, {"period": "2", "extra": "1"}) == {
        "period": 2,
        "extra": "1",
    }


@pytest.mark.parametrize(
    ("cls", "params", "message"),
    [
        (Annotated, {"perod": "3"}, r"a: unknown parameter 'perod'; did you mean 'period'\?"),
        (Annotated, {"zzz": "3"}, r"accepted: period, weight, short, label, cap, floor\)"),
        (Annotated, {"period": "3.5"}, "a: period must be int, got '3.5'"),
        (Annotated, {"period": 3.5}, "a: period must be an integer, got 3.5"),
        (Annotated, {"weight": "heavy"}, "a: weight must be float, got 'heavy'"),
        (Annotated, {"short": "maybe"}, "short must be true or false"),
        (Required, {"weight": "1"}, r"no value for period; give --params period=\.\.\."),
    ],
)
def test_a_parameter_the_constructor_cannot_take_is_refused_with_the_fix(
    cls: type, params: dict[str, str | float], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        constructor_arguments("a", cls, params)


def test_did_you_mean_names_the_closest_choice_or_nothing() -> None:
    assert did_you_mean("fsat", ["fast", "slow"]) == "; did you mean 'fast'?"
    assert did_you_mean("qqqq", ["fast", "slow"]) == ""
