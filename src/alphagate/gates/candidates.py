"""The promotion state machine of a candidate: one explicit table of legal moves.

A candidate climbs ``registered → backtest_passed → stress_passed → paper →
awaiting_approval → live``; a gate that says no sends it to
``rejected_at_<gate>`` with the reason, and any candidate may be
``retired``. Rejected and retired candidates are final: a better model is a
new candidate, so every decision stays in the record as it was taken.

Every move is a :class:`Transition` with its evidence (metrics, report
paths) and its actor (the orchestrator, or the operator who approved). The
``seq`` of a transition is its position in the candidate's history; the
store keeps ``(candidate_id, seq)`` unique, so two orchestrators that decide
the same move record it once and the second fails loudly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from alphagate.domain.instants import check_ns
from alphagate.errors import AlphagateError


class GateState(StrEnum):
    """Where a candidate stands on its way to live trading."""

    REGISTERED = "registered"
    BACKTEST_PASSED = "backtest_passed"
    STRESS_PASSED = "stress_passed"
    PAPER = "paper"
    AWAITING_APPROVAL = "awaiting_approval"
    LIVE = "live"
    REJECTED_AT_BACKTEST = "rejected_at_backtest"
    REJECTED_AT_STRESS = "rejected_at_stress"
    REJECTED_AT_PAPER = "rejected_at_paper"
    REJECTED_AT_APPROVAL = "rejected_at_approval"
    RETIRED = "retired"


class Gate(StrEnum):
    """The check a candidate faces next; each has its own rejected state."""

    BACKTEST = "backtest"
    STRESS = "stress"
    PAPER = "paper"
    APPROVAL = "approval"


S = GateState

NEXT_GATE: Final[Mapping[GateState, Gate]] = {
    S.REGISTERED: Gate.BACKTEST,
    S.BACKTEST_PASSED: Gate.STRESS,
    S.STRESS_PASSED: Gate.PAPER,
    S.PAPER: Gate.PAPER,
    S.AWAITING_APPROVAL: Gate.APPROVAL,
}
"""The gate in front of each state still climbing; absent for final states and ``live``."""

REJECTED: Final[Mapping[Gate, GateState]] = {
    Gate.BACKTEST: S.REJECTED_AT_BACKTEST,
    Gate.STRESS: S.REJECTED_AT_STRESS,
    Gate.PAPER: S.REJECTED_AT_PAPER,
    Gate.APPROVAL: S.REJECTED_AT_APPROVAL,
}

TRANSITIONS: Final[Mapping[GateState | None, frozenset[GateState]]] = {
    None: frozenset({S.REGISTERED}),
    S.REGISTERED: frozenset({S.BACKTEST_PASSED, S.REJECTED_AT_BACKTEST, S.RETIRED}),
    S.BACKTEST_PASSED: frozenset({S.STRESS_PASSED, S.REJECTED_AT_STRESS, S.RETIRED}),
    S.STRESS_PASSED: frozenset({S.PAPER, S.REJECTED_AT_PAPER, S.RETIRED}),
    S.PAPER: frozenset({S.AWAITING_APPROVAL, S.REJECTED_AT_PAPER, S.RETIRED}),
    S.AWAITING_APPROVAL: frozenset({S.LIVE, S.REJECTED_AT_APPROVAL, S.RETIRED}),
    S.LIVE: frozenset({S.RETIRED}),
    S.REJECTED_AT_BACKTEST: frozenset(),
    S.REJECTED_AT_STRESS: frozenset(),
    S.REJECTED_AT_PAPER: frozenset(),
    S.REJECTED_AT_APPROVAL: frozenset(),
    S.RETIRED: frozenset(),
}
"""Every legal move: ``None`` is "not yet a candidate". Anything else raises."""

FINAL: Final[frozenset[GateState]] = frozenset(s for s, nxt in TRANSITIONS.items() if s and not nxt)


class IllegalTransitionError(AlphagateError):
    """A move the transition table does not allow (a skipped gate, a revived rejection)."""


def check_transition(source: GateState | None, target: GateState) -> None:
    """Raise :class:`IllegalTransitionError` unless ``source → target`` is in the table."""
    if target not in TRANSITIONS[source]:
        allowed = ", ".join(sorted(TRANSITIONS[source])) or "nothing (it is final)"
        raise IllegalTransitionError(
            f"a candidate cannot move from {source or 'nothing'} to {target}; "
            f"from {source or 'nothing'} it may move to {allowed}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    """One recorded move of one candidate, with why and on what evidence.

    ``evidence`` must be JSON (metrics, report paths); ``reason`` says in a
    sentence why, and is required for a rejection so a reader never has to
    dig through the evidence to learn what failed.
    """

    candidate_id: str
    seq: int
    run_id: str
    source: GateState | None
    target: GateState
    ts: int
    actor: str
    reason: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not (self.candidate_id and self.run_id and self.actor):
            raise ValueError("a transition needs a candidate_id, a run_id and an actor")
        if self.seq < 0:
            raise ValueError(f"seq must be non-negative, got {self.seq}")
        check_ns(self.ts, f"transition of {self.candidate_id!r}: ts")
        check_transition(self.source, self.target)
        if self.target.value.startswith("rejected_at_") and not self.reason:
            raise ValueError(f"a rejection of {self.candidate_id!r} needs a reason")


def current_state(history: Sequence[Transition]) -> GateState | None:
    """The state a candidate's history (oldest first) leaves it in; ``None`` without one."""
    return history[-1].target if history else None


def following(history: Sequence[Transition], target: GateState, **details: Any) -> Transition:
    """The transition that moves a candidate with ``history`` to ``target``, checked.

    ``details`` are :class:`Transition`'s ``ts``, ``actor``, ``reason`` and
    ``evidence``; the id, run, source and sequence number come from the history.
    """
    if not history:
        raise IllegalTransitionError("a candidate must be registered before it can move")
    last = history[-1]
    return Transition(
        candidate_id=last.candidate_id,
        seq=last.seq + 1,
        run_id=last.run_id,
        source=last.target,
        target=target,
        **details,
    )
