"""The candidate state machine: every pair of states, legal or not, against the issue's ladder."""

from __future__ import annotations

import itertools

import pytest

from alphagate.gates.candidates import (
    FINAL,
    GateState,
    IllegalTransitionError,
    Transition,
    check_transition,
    current_state,
    following,
)

S = GateState
# The ladder, written out independently of the table under test.
LEGAL = {
    (None, S.REGISTERED),
    (S.REGISTERED, S.BACKTEST_PASSED),
    (S.BACKTEST_PASSED, S.STRESS_PASSED),
    (S.STRESS_PASSED, S.PAPER),
    (S.PAPER, S.AWAITING_APPROVAL),
    (S.AWAITING_APPROVAL, S.LIVE),
    (S.REGISTERED, S.REJECTED_AT_BACKTEST),
    (S.BACKTEST_PASSED, S.REJECTED_AT_STRESS),
    (S.STRESS_PASSED, S.REJECTED_AT_PAPER),
    (S.PAPER, S.REJECTED_AT_PAPER),
    (S.AWAITING_APPROVAL, S.REJECTED_AT_APPROVAL),
    *((s, S.RETIRED) for s in (S.REGISTERED, S.BACKTEST_PASSED, S.STRESS_PASSED, S.PAPER)),
    (S.AWAITING_APPROVAL, S.RETIRED),
    (S.LIVE, S.RETIRED),
}
SOURCES: list[GateState | None] = [None, *GateState]


@pytest.mark.parametrize(("source", "target"), list(itertools.product(SOURCES, GateState)))
def test_each_pair_is_legal_exactly_when_the_ladder_says_so(
    source: GateState | None, target: GateState
) -> None:
    if (source, target) in LEGAL:
        check_transition(source, target)
    else:
        with pytest.raises(IllegalTransitionError, match="cannot move"):
            check_transition(source, target)


def test_rejected_and_retired_are_final() -> None:
    assert {s for s in GateState if s.value.startswith("rejected_at_")} | {S.RETIRED} == FINAL


def _registered() -> Transition:
    return Transition(
        candidate_id="c1", seq=0, run_id="r1", source=None, target=S.REGISTERED, ts=1, actor="t"
    )


def test_following_numbers_the_move_and_starts_from_the_current_state() -> None:
    first = _registered()
    second = following([first], S.BACKTEST_PASSED, ts=2, actor="t")
    assert (second.seq, second.source, second.run_id) == (1, S.REGISTERED, "r1")
    assert current_state([first, second]) is S.BACKTEST_PASSED
    with pytest.raises(IllegalTransitionError):
        following([first, second], S.LIVE, ts=3, actor="t")


def test_a_rejection_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        following([_registered()], S.REJECTED_AT_BACKTEST, ts=2, actor="t")
