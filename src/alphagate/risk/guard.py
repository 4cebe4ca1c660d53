"""The risk controls of one account, answering the kernel's two questions.

:class:`RiskGuard` implements :class:`~alphagate.domain.guard.OrderGuard` by
composing the ring-3 units of :mod:`alphagate.risk`; it adds only the rules
that tie them together:

* **After every bar** (:meth:`RiskGuard.after_bar`): the kill switch's trigger
  file is polled; the drawdown monitor, the daily loss limit, the exposure
  tracker and the correlation breaker are fed the marked account. A drawdown
  HALT or a daily-loss breach trips the kill switch (as does a burst of
  rejected orders, in :meth:`~RiskGuard.review`). On the first bar the switch
  is seen tripped the kernel is told to cancel every working order (or to
  flatten, when configured), once; a breaker level whose action is
  ``flatten`` flattens once when it is entered.
* **Before every order** (:meth:`RiskGuard.review`): an order that only
  shrinks a position passes everything but the pre-trade price collar, since
  closing is the cure when limits are breached. Otherwise a tripped kill
  switch, a drawdown REDUCE and a breaker level with ``reduce_only`` (or
  scale 0) refuse it, a breaker scale below 1 shrinks it, and the pre-trade
  limits judge what is left. A bracket's stop-loss or take-profit passes
  with its entry: the venue caps it at what the entry filled, so it can only
  reduce risk, and refusing it would leave the entry unprotected; it is
  refused only when its entry was.

Every refusal, state change, trip and reset reaches ``sink`` as a
:class:`~alphagate.risk.events.RiskEvent` before the answer is returned. A
data-feed trigger has no meaning in a backtest and is left to the live engine.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from alphagate.config import BreakerConfig, RiskConfig
from alphagate.domain.guard import AccountView, GuardAction
from alphagate.domain.instants import NS_PER_DAY
from alphagate.domain.orders import OrderRequest
from alphagate.errors import ConfigError
from alphagate.risk.breaker import (
    DEFAULT_ACTIONS,
    BreakerAction,
    BreakerLevel,
    CorrelationBreaker,
    mean_pairwise_correlation,
)
from alphagate.risk.events import RiskEvent, Severity
from alphagate.risk.kill_switch import KillSwitch
from alphagate.risk.limits import PreTradeCheck, RiskLimits
from alphagate.risk.monitors import DailyLossLimit, DrawdownMonitor, DrawdownState, ExposureTracker

COMPONENT = "risk_guard"
EventSink = Callable[[RiskEvent], None]
_EPOCH = dt.date(1970, 1, 1)


def _utc(ts: int) -> pd.Timestamp:
    """An order's ``ts_init`` as the tz-aware time a risk event is read by."""
    return pd.Timestamp(ts, tz="UTC")


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerSettings:
    """Correlation breaker thresholds, relative to the baseline measured on training data.

    A fixed ``baseline + 0.2`` cannot work for two indices that already move
    together at 0.9, so thresholds are shares of the room left to 1:
    ``elevated_at = baseline + elevated_share * (1 - baseline)``, likewise
    ``crisis_at``; the hysteresis ``margin`` is ``margin_share`` of the gap
    between the baseline and ``elevated_at``.
    """

    window: int = 60
    elevated_share: float = 0.5
    crisis_share: float = 0.8
    margin_share: float = 0.5
    actions: Mapping[BreakerLevel, BreakerAction] = field(default_factory=lambda: DEFAULT_ACTIONS)

    def __post_init__(self) -> None:
        if not 0 < self.elevated_share < self.crisis_share <= 1:
            raise ValueError("breaker needs 0 < elevated_share < crisis_share <= 1")
        if not 0 <= self.margin_share < 1:
            raise ValueError(f"breaker margin_share must be in [0, 1), got {self.margin_share}")

    @classmethod
    def from_config(cls, config: BreakerConfig) -> BreakerSettings:
        """The breaker the ``risk.breaker`` section describes (its ``enabled`` is the caller's)."""
        actions = {
            BreakerLevel.NORMAL: BreakerAction(),
            BreakerLevel.ELEVATED: BreakerAction(scale=config.elevated_scale),
            BreakerLevel.CRISIS: BreakerAction(
                scale=config.crisis_scale,
                reduce_only=config.crisis_reduce_only,
                flatten=config.crisis_flatten,
            ),
        }
        return cls(
            window=config.window,
            elevated_share=config.elevated_share,
            crisis_share=config.crisis_share,
            margin_share=config.margin_share,
            actions=MappingProxyType(actions),
        )

    def build(self, baseline: float | None) -> CorrelationBreaker | None:
        """The breaker for ``baseline``, or None without one (fewer than two symbols)."""
        if baseline is None or not math.isfinite(baseline) or baseline >= 1.0:
            return None
        room = 1.0 - baseline
        elevated = baseline + self.elevated_share * room
        return CorrelationBreaker(
            baseline=baseline,
            window=self.window,
            elevated_at=elevated,
            crisis_at=baseline + self.crisis_share * room,
            actions=self.actions,
            margin=self.margin_share * (elevated - baseline),
        )


def baseline_correlation(closes: pd.DataFrame) -> float | None:
    """Mean pairwise correlation of daily log returns of ``closes`` (one column per symbol).

    Pass the training period only: the breaker compares live correlation with
    what was normal when the model learnt. None with fewer than two usable symbols.
    """
    returns = np.diff(np.log(closes.to_numpy(dtype=np.float64)), axis=0)
    returns = returns[np.isfinite(returns).all(axis=1)]
    if returns.shape[1] < 2 or len(returns) < 3:
        return None
    return mean_pairwise_correlation(returns)


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskSettings:
    """Every threshold of :class:`RiskGuard`; fractions are of equity.

    Parameters
    ----------
    limits
        Pre-trade limits (:class:`~alphagate.risk.limits.RiskLimits`).
    drawdown_reduce_at, drawdown_halt_at
        Drawdown from peak that allows only reductions, and that trips the kill switch.
    daily_loss_pct
        Loss within one session (UTC date) that trips the kill switch.
    max_rejects_per_day
        Pre-trade rejections in one session that trip the kill switch: a
        strategy stuck sending bad orders.
    flatten_on_kill
        Close every position when the switch trips, not only cancel orders.
    breaker
        Correlation breaker settings; None switches it off.
    """

    limits: RiskLimits
    drawdown_reduce_at: float = 0.15
    drawdown_halt_at: float = 0.25
    daily_loss_pct: float = 0.05
    max_rejects_per_day: int = 20
    flatten_on_kill: bool = False
    breaker: BreakerSettings | None = field(default_factory=BreakerSettings)

    def __post_init__(self) -> None:
        if self.max_rejects_per_day < 1:
            raise ValueError(f"max_rejects_per_day must be >= 1, got {self.max_rejects_per_day}")

    @classmethod
    def from_config(cls, config: RiskConfig, *, fallback: RiskLimits) -> RiskSettings:
        """The settings the ``risk`` section describes; its null limits take ``fallback``'s.

        The fallback is the caller's because it depends on the strategy's own
        sizing (a model's ``decision.size.max_weight``), which this ring does not see.

        Raises
        ------
        ConfigError
            When fields that must agree do not (e.g. the breaker's shares).
        """
        try:
            limits = RiskLimits(
                max_position_weight=_or(config.max_position_weight, fallback.max_position_weight),
                max_gross_exposure=_or(config.max_gross_exposure, fallback.max_gross_exposure),
                max_net_exposure=_or(config.max_net_exposure, fallback.max_net_exposure),
                max_order_notional=_or(config.max_order_notional, fallback.max_order_notional),
                max_orders_per_day=config.max_orders_per_day,
                price_collar_pct=config.price_collar_pct,
                min_cash=config.min_cash,
            )
            if not config.drawdown_reduce_at < config.drawdown_halt_at:
                raise ValueError("risk.drawdown_reduce_at must be below risk.drawdown_halt_at")
            breaker = config.breaker
            return cls(
                limits=limits,
                drawdown_reduce_at=config.drawdown_reduce_at,
                drawdown_halt_at=config.drawdown_halt_at,
                daily_loss_pct=config.daily_loss_pct,
                max_rejects_per_day=config.max_rejects_per_day,
                flatten_on_kill=config.flatten_on_kill,
                breaker=BreakerSettings.from_config(breaker) if breaker.enabled else None,
            )
        except ValueError as error:
            raise ConfigError(f"invalid risk settings: {error}") from None


def _or(value: float | None, fallback: float) -> float:
    return fallback if value is None else value


def _reduces(request: OrderRequest, held: float) -> bool:
    """Opposite side to the position and no larger: it shrinks ``|position|``, never flips it."""
    return held * request.side.sign < 0 and request.quantity <= abs(held) * (1 + 1e-9)


class RiskGuard:
    """An :class:`~alphagate.domain.guard.OrderGuard` over the risk units; see the module docstring.

    Parameters
    ----------
    check
        Pre-trade limits.
    kill_switch
        The persisted halt; its state file should be private to the run.
    sink
        Receives every risk event, in order (e.g. ``list.append``).
    """

    def __init__(
        self,
        check: PreTradeCheck,
        kill_switch: KillSwitch,
        sink: EventSink,
        *,
        drawdown: DrawdownMonitor | None = None,
        daily_loss: DailyLossLimit | None = None,
        exposure: ExposureTracker | None = None,
        breaker: CorrelationBreaker | None = None,
        max_rejects_per_day: int = 20,
        flatten_on_kill: bool = False,
    ) -> None:
        self._check, self._kill, self._sink = check, kill_switch, sink
        self._drawdown, self._daily_loss = drawdown, daily_loss
        self._exposure, self._breaker = exposure, breaker
        self._max_rejects, self._flatten_on_kill = max_rejects_per_day, flatten_on_kill
        self._halt_acted = False
        self._previous_prices: Mapping[str, float] = MappingProxyType({})
        self._action = BreakerAction()
        self._session: dt.date | None = None
        self._orders_today = 0
        self._rejects_today = 0
        self._refused: set[str] = set()

    @classmethod
    def from_settings(
        cls,
        settings: RiskSettings,
        kill_switch: KillSwitch,
        sink: EventSink,
        *,
        baseline: float | None = None,
    ) -> RiskGuard:
        """Build every monitor from ``settings``; ``baseline`` is the training correlation."""
        breaker = settings.breaker.build(baseline) if settings.breaker is not None else None
        return cls(
            PreTradeCheck(settings.limits),
            kill_switch,
            sink,
            drawdown=DrawdownMonitor(settings.drawdown_reduce_at, settings.drawdown_halt_at),
            daily_loss=DailyLossLimit(settings.daily_loss_pct),
            exposure=ExposureTracker(),
            breaker=breaker,
            max_rejects_per_day=settings.max_rejects_per_day,
            flatten_on_kill=settings.flatten_on_kill,
        )

    @property
    def exposure(self) -> ExposureTracker | None:
        """The exposure history, for reports."""
        return self._exposure

    @property
    def kill_switch(self) -> KillSwitch:
        """The switch this guard trips and obeys."""
        return self._kill

    def after_bar(self, account: AccountView) -> GuardAction:
        """Feed the monitors; trip the switch on their triggers; say what the kernel must do."""
        ts = account.ts
        self._emit(self._kill.poll(ts))
        if math.isfinite(account.equity):
            self._monitor_equity(ts, account.equity)
            if self._exposure is not None and account.equity > 0:
                self._exposure.update(ts, account.positions, account.prices, account.equity)
        flatten_now = self._feed_breaker(account)
        if self._kill.is_tripped():
            if not self._halt_acted:
                self._halt_acted = True
                return GuardAction.FLATTEN if self._flatten_on_kill else GuardAction.CANCEL_ALL
        else:
            self._halt_acted = False
        return GuardAction.FLATTEN if flatten_now else GuardAction.NONE

    def review(
        self, request: OrderRequest, account: AccountView, price: float
    ) -> OrderRequest | str:
        """Return ``request`` (maybe shrunk) or why it is refused; see the module docstring."""
        self._start_session(request.ts_init)
        if request.parent_id is not None:
            if request.parent_id in self._refused:
                return self._refuse(request, "its entry order was refused")
            return request
        held = account.positions.get(request.symbol, 0.0)
        reduces = _reduces(request, held)
        if not reduces:
            blocked = self._halted_reason()
            if blocked is not None:
                return self._refuse(request, blocked)
            if self._action.scale < 1.0:
                request = replace(request, quantity=request.quantity * self._action.scale)
        decision = self._check.check(
            request,
            price=price,
            last_price=account.prices.get(request.symbol, price),
            equity=account.equity,
            cash=account.cash,
            positions=account.positions,
            prices=account.prices,
            orders_today=self._orders_today,
        )
        if not decision.accepted:
            assert decision.event is not None  # a rejection always carries its event
            self._refused.add(request.client_order_id)
            self._emit(decision.event)
            self._rejects_today += 1
            if self._rejects_today >= self._max_rejects and not self._kill.is_tripped():
                why = f"{self._rejects_today} orders rejected on {self._session}"
                self._emit(self._kill.trip(why, COMPONENT, _utc(request.ts_init)))
            return decision.event.reason
        self._orders_today += 1
        return request

    def _monitor_equity(self, ts: pd.Timestamp, equity: float) -> None:
        if self._drawdown is not None:
            self._emit(self._drawdown.update(ts, equity))
            if self._drawdown.state is DrawdownState.HALT and not self._kill.is_tripped():
                why = f"drawdown {self._drawdown.drawdown:.2%} reached the halt level"
                self._emit(self._kill.trip(why, COMPONENT, ts))
        if self._daily_loss is not None:
            self._emit(self._daily_loss.update(ts, equity))
            if self._daily_loss.breached and not self._kill.is_tripped():
                why = f"daily loss limit {self._daily_loss.max_loss_pct:.2%} breached"
                self._emit(self._kill.trip(why, COMPONENT, ts))

    def _feed_breaker(self, account: AccountView) -> bool:
        """Feed one row of log returns; True when a flattening level was just entered."""
        previous, self._previous_prices = self._previous_prices, account.prices
        if self._breaker is None or not previous:
            return False
        row = {
            s: math.log(p / previous[s])
            for s, p in account.prices.items()
            if s in previous and p > 0 and previous[s] > 0
        }
        state = self._breaker.update(row, ts=account.ts)
        self._emit(state.event)
        self._action = state.action
        return state.changed and state.action.flatten

    def _halted_reason(self) -> str | None:
        if self._kill.is_tripped():
            return f"kill switch tripped ({self._kill.reason or 'trigger file present'})"
        if self._drawdown is not None and self._drawdown.state is not DrawdownState.NORMAL:
            return f"drawdown {self._drawdown.drawdown:.2%}: only reducing orders are allowed"
        if self._action.reduce_only or self._action.scale == 0.0:
            level = self._breaker.level.name if self._breaker is not None else "?"
            return f"correlation breaker {level}: only reducing orders are allowed"
        return None

    def _start_session(self, ts: int) -> None:
        day = _EPOCH + dt.timedelta(days=ts // NS_PER_DAY)  # the UTC date of ``ts`` ns
        if day != self._session:
            self._session, self._orders_today, self._rejects_today = day, 0, 0

    def _refuse(self, request: OrderRequest, reason: str) -> str:
        self._refused.add(request.client_order_id)
        self._emit(
            RiskEvent(
                ts=_utc(request.ts_init),
                component=COMPONENT,
                severity=Severity.WARNING,
                reason=(
                    f"{request.side.value} {request.quantity:g} {request.symbol} refused: {reason}"
                ),
                data={
                    "client_order_id": request.client_order_id,
                    "symbol": request.symbol,
                    "side": request.side.value,
                    "quantity": request.quantity,
                },
            )
        )
        return reason

    def _emit(self, event: RiskEvent | None) -> None:
        if event is not None:
            self._sink(event)
