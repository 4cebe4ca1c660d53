"""Candidate moves in the trading database: kept across a reopen, never recorded twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphagate.adapters.trading_db import TradingStore, TransitionConflictError
from alphagate.gates.candidates import GateState, Transition, following


def _registered(cid: str = "c1") -> Transition:
    return Transition(
        candidate_id=cid, seq=0, run_id="r1", source=None, target=GateState.REGISTERED,
        ts=10, actor="test", evidence={"data_hash": "abc", "nan": float("nan")},
    )  # fmt: skip


def test_moves_survive_a_reopen_in_order(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    first = _registered()
    second = following([first], GateState.REJECTED_AT_BACKTEST, ts=20, actor="gates", reason="r")
    with TradingStore.open(url) as store:
        store.add_transition(first)
        store.add_transition(_registered("c2"))
        store.add_transition(second)
    with TradingStore.open(url) as store:
        moves = store.transitions("c1")
        assert [(m.seq, m.source, m.target, m.reason) for m in moves] == [
            (0, None, GateState.REGISTERED, ""),
            (1, GateState.REGISTERED, GateState.REJECTED_AT_BACKTEST, "r"),
        ]
        assert moves[0].evidence == {"data_hash": "abc", "nan": None}
        assert {m.candidate_id for m in store.transitions()} == {"c1", "c2"}


def test_the_same_move_twice_or_from_a_stale_state_is_refused(tmp_path: Path) -> None:
    with TradingStore.open(f"sqlite:///{tmp_path / 't.db'}") as store:
        first = _registered()
        store.add_transition(first)
        with pytest.raises(TransitionConflictError):
            store.add_transition(first)
        move = following([first], GateState.BACKTEST_PASSED, ts=20, actor="gates")
        store.add_transition(move)
        with pytest.raises(TransitionConflictError, match="moved it first"):
            store.add_transition(move)
        assert len(store.transitions("c1")) == 2
