"""The tree's decision and risk sections build the settings the decision path and guard take."""

from __future__ import annotations

import pytest

from alphagate.config import BreakerConfig, DecisionConfig, RiskConfig, load_config
from alphagate.decision.settings import DecisionSettings
from alphagate.errors import ConfigError
from alphagate.risk.breaker import DEFAULT_ACTIONS, BreakerLevel
from alphagate.risk.guard import BreakerSettings, RiskSettings
from alphagate.risk.limits import RiskLimits

FALLBACK = RiskLimits(
    max_position_weight=0.3,
    max_gross_exposure=1.0,
    max_net_exposure=1.0,
    max_order_notional=10_000.0,
    max_orders_per_day=100,
    price_collar_pct=0.2,
)


def settings_with(*overrides: str) -> tuple[DecisionConfig, RiskConfig]:
    loaded = load_config([], environ={}, default_file=None, overrides=list(overrides))
    return loaded.decision, loaded.risk


def test_the_default_decision_section_builds_the_decision_paths_own_defaults() -> None:
    assert DecisionSettings.from_config(DecisionConfig()) == DecisionSettings()


def test_every_decision_step_and_parameter_reaches_the_settings() -> None:
    decision, _ = settings_with(
        "decision.protect.fibonacci=true",
        "decision.kelly.enabled=false",
        "decision.size.max_weight=0.1",
        "decision.spread_bps=4",
    )

    built = DecisionSettings.from_config(decision, whole_units=True)

    assert built.protect.fibonacci is True
    assert built.kelly.enabled is False
    assert built.size.max_weight == 0.1
    assert built.spread_bps == 4
    assert built.whole_units is True


def test_decision_fields_that_disagree_fail_as_a_config_error_naming_the_step() -> None:
    decision, _ = settings_with("decision.standardise.min_periods=80")  # above window 60

    with pytest.raises(ConfigError, match=r"decision\.standardise"):
        DecisionSettings.from_config(decision)


def test_the_default_breaker_section_builds_the_default_breaker() -> None:
    assert BreakerSettings.from_config(BreakerConfig()) == BreakerSettings()
    assert dict(BreakerSettings.from_config(BreakerConfig()).actions) == dict(DEFAULT_ACTIONS)


def test_null_risk_limits_take_the_fallback_and_set_ones_win() -> None:
    _, risk = settings_with("risk.max_order_notional=2500", "risk.max_orders_per_day=7")

    built = RiskSettings.from_config(risk, fallback=FALLBACK)

    assert built.limits.max_order_notional == 2500
    assert built.limits.max_orders_per_day == 7
    assert built.limits.max_position_weight == FALLBACK.max_position_weight
    assert built == RiskSettings(
        limits=RiskLimits(
            max_position_weight=0.3,
            max_gross_exposure=1.0,
            max_net_exposure=1.0,
            max_order_notional=2500,
            max_orders_per_day=7,
            price_collar_pct=0.2,
        )
    )


def test_the_default_risk_section_builds_the_guards_own_defaults() -> None:
    assert RiskSettings.from_config(RiskConfig(), fallback=FALLBACK) == RiskSettings(
        limits=FALLBACK
    )


def test_a_switched_off_breaker_leaves_the_guard_without_one() -> None:
    _, risk = settings_with("risk.breaker.enabled=false")

    assert RiskSettings.from_config(risk, fallback=FALLBACK).breaker is None


def test_breaker_actions_come_from_the_section() -> None:
    _, risk = settings_with("risk.breaker.elevated_scale=0.25", "risk.breaker.crisis_flatten=true")

    breaker = RiskSettings.from_config(risk, fallback=FALLBACK).breaker

    assert breaker is not None
    assert breaker.actions[BreakerLevel.ELEVATED].scale == 0.25
    assert breaker.actions[BreakerLevel.CRISIS].flatten is True


def test_a_reduce_level_above_the_halt_level_is_a_config_error() -> None:
    _, risk = settings_with("risk.drawdown_reduce_at=0.3", "risk.drawdown_halt_at=0.2")

    with pytest.raises(ConfigError, match="drawdown_reduce_at"):
        RiskSettings.from_config(risk, fallback=FALLBACK)
