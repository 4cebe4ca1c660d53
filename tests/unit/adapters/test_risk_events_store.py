"""Risk events in the project database (SQLite here): round trip, JSON-safe data, per-run reads."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from alphagate.adapters.sql import (
    create_db_engine,
    create_schema,
    load_risk_events,
    record_risk_events,
)
from alphagate.risk.events import RiskEvent, Severity

TS = pd.Timestamp("2024-03-01 21:00", tz="UTC")


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'state.db'}")
    create_schema(engine)
    return engine


def event(i: int, component: str = "pre_trade", **data: object) -> RiskEvent:
    return RiskEvent(
        ts=TS + pd.Timedelta(days=i),
        component=component,
        severity=Severity.WARNING,
        reason=f"reason {i}",
        data=data,
    )


def test_stored_events_read_back_equal_with_their_run(engine: Engine) -> None:
    events = [event(0, symbol="AAA", quantity=3.5), event(1, "kill_switch", actor="operator")]
    assert record_risk_events(engine, events, run="run-1") == 2
    stored = load_risk_events(engine)
    assert [s.event for s in stored] == events
    assert [dict(s.event.data) for s in stored] == [dict(e.data) for e in events]
    assert {s.run for s in stored} == {"run-1"}
    assert stored[0].event.ts == TS and stored[0].event.ts.tzinfo is not None


def test_data_is_made_json_safe_tuples_numpy_and_non_finite_numbers(engine: Engine) -> None:
    odd = event(0, violations=("a", "b"), count=np.int64(3), loss=np.float64(0.25), gap=math.nan)
    record_risk_events(engine, [odd])
    data = dict(load_risk_events(engine)[0].event.data)
    assert data == {"violations": ["a", "b"], "count": 3, "loss": 0.25, "gap": None}


def test_events_are_read_per_run_and_component_oldest_first(engine: Engine) -> None:
    record_risk_events(engine, [event(2), event(0)], run="a")
    record_risk_events(engine, [event(1, "drawdown")], run="b")
    assert [s.event.reason for s in load_risk_events(engine, run="a")] == ["reason 0", "reason 2"]
    assert [s.run for s in load_risk_events(engine, component="drawdown")] == ["b"]
    assert record_risk_events(engine, []) == 0


def test_an_overlong_run_name_is_refused_before_anything_is_written(engine: Engine) -> None:
    with pytest.raises(ValueError, match="at most 128"):
        record_risk_events(engine, [event(0)], run="x" * 129)
    assert load_risk_events(engine) == []


def test_replacing_a_runs_events_keeps_only_the_latest_and_other_runs_untouched(
    engine: Engine,
) -> None:
    record_risk_events(engine, [event(0), event(1)], run="a")
    record_risk_events(engine, [event(5)], run="b")
    record_risk_events(engine, [event(2)], run="a", replace=True)
    assert [s.event.reason for s in load_risk_events(engine, run="a")] == ["reason 2"]
    assert len(load_risk_events(engine, run="b")) == 1
