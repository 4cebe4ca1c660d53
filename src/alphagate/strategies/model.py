"""A strategy that trades calibrated model probabilities through the whole decision path.

:class:`ModelStrategy` asks a :class:`~alphagate.ports.Predictor`, at each bar
close, for P(up) of the symbols whose bar just closed, per prediction column
``<model>_h<horizon>``, given the history seen so far. The predictor may
compute them online (features, model, calibrator: a live run) or look them
up from a batch made beforehand (a backtest's fast path); the strategy cannot
tell. For every symbol whose bar just closed, it runs:

1. **standardise, confidence inputs** — the prediction series of
   :mod:`alphagate.decision.signals`, advanced by one bar per symbol
   (:class:`~alphagate.decision.signals.SignalTape`), and the bar series
   (volatility, ATR, volume) declared as indicators: computed once per
   symbol, checked for look-ahead by the engine, served up to the current bar;
2. **confidence, blend, arbitrate, gate, size, Kelly** — per symbol
   (:func:`alphagate.decision.path.propose`);
3. **gross, band** — over the book: the proposals share what gross exposure
   the symbols not deciding now leave, then a change smaller than the band
   keeps the current weight;
4. **protect** — orders with ATR stop-loss and take-profit
   (:mod:`alphagate.decision.position_orders`).

**Model health.** Given a :class:`ModelHealth` (the engine's
:class:`~alphagate.engine.staleness_monitor.StalenessMonitor`), the strategy
shows it every bar's predictions before deciding and multiplies each
column's confidence by the multiplier it returns, so an aged or drifted
model trades smaller. The strategy only calls it; the composition root
builds it, the same way for a backtest, a paper replay and a stress run.

Every (ts, symbol) decision leaves one trace record, :meth:`ModelStrategy.decisions`,
with each step's inputs and outputs, the action taken and ``blocked_by``,
the step that stopped a trade.

**Realised outcomes for Kelly.** The strategy sees positions, not fills, so it
scores a round trip from what it can see: one it closes itself is scored at
the close where it decided to (against the close it entered at); one closed
by its protection is scored by the bar that closed it, as the venue fills it
(touching the stop counts as a loss, even when the bar also reached the take
profit), so the posterior learns from the same outcomes the account books.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import pandas as pd

from alphagate.decision.path import (
    Block,
    ModelInputs,
    Proposal,
    SymbolInputs,
    TraceValue,
    propose,
)
from alphagate.decision.position_orders import position_orders, protection_levels, target_quantity
from alphagate.decision.protect import Stops
from alphagate.decision.settings import DecisionSettings
from alphagate.decision.signals import (
    TURNING_POINT_COLUMNS,
    SignalTape,
    bar_signals,
    model_columns,
)
from alphagate.decision.size import BayesianKelly, no_trade_band, normalise_gross
from alphagate.domain.strategy import FloatArray, OrderIntent, StrategyContext, SymbolHistory
from alphagate.ports import Predictor


class ModelHealth(Protocol):
    """Judges the traded models bar by bar; its multipliers scale their confidence."""

    def observe(
        self,
        ts: int,
        symbols: Sequence[str],
        history: Mapping[str, SymbolHistory],
        predicted: Mapping[str, Mapping[str, float]],
    ) -> Mapping[str, float]:
        """See the bar closing at ``ts`` and its predictions; a multiplier in [0, 1] per column."""
        ...


_LEADING_COLUMNS = (
    "ts", "symbol", "action", "blocked_by", "horizon", "direction", "w_current", "w_proposed",
    "w_gross", "w_target", "qty_held", "qty_target", "stop_loss", "take_profit",
)  # fmt: skip


@dataclass(slots=True)
class _Episode:
    """One position held in one direction: where it started and what protects it."""

    side: Literal[1, -1]
    entry: float
    stops: Stops | None
    opened: bool = False


def _sign(value: float) -> Literal[1, -1, 0]:
    return 1 if value > 0 else -1 if value < 0 else 0


class ModelStrategy:
    """Calibrated probabilities in, protected orders out; see the module docstring.

    Parameters
    ----------
    predictor
        Calibrated P(up) per symbol and column at each bar close (NaN where
        none is made); its columns name each ``<model>_h<horizon>``, and
        optional ``p_peak``/``p_valley`` columns feed the barrier gate.
    settings
        The decision path's parameters and switches.
    name
        Part of every client order id; keep it stable across runs.
    health
        Judges the models at every bar (``None``: every multiplier is 1).

    Raises
    ------
    ValueError
        For a predictor column that names no horizon.
    """

    def __init__(
        self,
        predictor: Predictor,
        settings: DecisionSettings | None = None,
        *,
        name: str = "model",
        health: ModelHealth | None = None,
    ) -> None:
        self.settings = settings if settings is not None else DecisionSettings()
        self._name = name
        self.health = health
        self._predictor = predictor
        self._columns = tuple(str(c) for c in predictor.columns)
        self._models = model_columns(list(self._columns))
        self._gate_columns = tuple(c for c in TURNING_POINT_COLUMNS if c in self._columns)
        self._tapes: dict[str, SignalTape] = {}
        kelly = self.settings.kelly
        self._kelly = BayesianKelly(
            prior_alpha=kelly.prior_alpha,
            prior_beta=kelly.prior_beta,
            model_weight=kelly.model_weight,
        )
        self._episodes: dict[str, _Episode] = {}
        self._trace: list[dict[str, TraceValue]] = []

    @property
    def name(self) -> str:
        """Stable name, part of every client order id."""
        return self._name

    @property
    def warmup(self) -> int:
        """Called from the first bar; steps without enough history block themselves."""
        return 1

    @property
    def kelly(self) -> BayesianKelly:
        """The posterior over the strategy's win rate, after the outcomes recorded so far."""
        return self._kelly

    def indicators(self, symbol: str, history: SymbolHistory) -> Mapping[str, FloatArray]:
        """The bar series of one symbol over its whole history: ``sigma``, ``atr``, ``adv``."""
        return bar_signals(history, self.settings)

    def on_bar(self, context: StrategyContext) -> list[OrderIntent] | None:
        """Decide for every symbol whose bar closed now; see the module docstring."""
        proposals: dict[str, Proposal] = {}
        ts = context.ts.value
        predicted = self._predictor.predict(ts, context.updated, context.history)
        multipliers: Mapping[str, float] = {}
        if self.health is not None:
            multipliers = self.health.observe(ts, context.updated, context.history, predicted)
        for symbol in context.updated:
            history = context.history[symbol]
            signals = self._record(symbol, history, predicted.get(symbol, {}))
            self._settle(symbol, context.position(symbol), history)
            inputs = self._inputs(context, symbol, history, signals, multipliers)
            proposals[symbol] = propose(inputs, self.settings, self._kelly)
        if not proposals:
            return None
        equity = context.equity
        current = {
            s: q * float(context.history[s].close[-1]) / equity if equity > 0 else 0.0
            for s, q in context.positions.items()
        }
        targets = {s: p.weight for s, p in proposals.items()}
        if self.settings.gross.enabled:
            fixed = math.fsum(abs(w) for s, w in current.items() if s not in proposals)
            targets = normalise_gross(targets, max(0.0, self.settings.gross.max_gross - fixed))
        intents: list[OrderIntent] = []
        for symbol, proposal in proposals.items():
            intents.extend(
                self._book(context, symbol, proposal, current.get(symbol, 0.0), targets[symbol])
            )
        return intents

    def decisions(self) -> pd.DataFrame:
        """One row per (ts, symbol) decision so far, every step's numbers in its columns."""
        frame = pd.DataFrame.from_records(self._trace)
        if frame.empty:
            return pd.DataFrame(columns=list(_LEADING_COLUMNS))
        leading = [c for c in _LEADING_COLUMNS if c in frame.columns]
        rest = sorted(c for c in frame.columns if c not in leading)
        return frame[leading + rest].reset_index(drop=True)

    def _record(
        self, symbol: str, history: SymbolHistory, predictions: Mapping[str, float]
    ) -> dict[str, float]:
        """Advance the symbol's prediction series to the current bar; its values there.

        A bar the strategy was not asked about (none, in the engine) enters
        without a prediction, so the series stay aligned with the bars.
        """
        tape = self._tapes.get(symbol)
        if tape is None:
            tape = self._tapes[symbol] = SignalTape(self._columns, self.settings)
        while len(tape) < len(history) - 1:
            tape.record(float(history.close[len(tape)]), {})
        return tape.record(float(history.close[-1]), predictions)

    def _inputs(
        self,
        context: StrategyContext,
        symbol: str,
        history: SymbolHistory,
        signals: Mapping[str, float],
        multipliers: Mapping[str, float],
    ) -> SymbolInputs:
        window = self.settings.blend.window
        tape = self._tapes[symbol]
        models = tuple(
            ModelInputs(
                column=c.name,
                horizon=c.horizon,
                p=signals[f"p:{c.name}"],
                score=signals[f"score:{c.name}"],
                ic=signals[f"ic:{c.name}"],
                stability=signals[f"stability:{c.name}"],
                age=signals[f"age:{c.name}"],
                recent_scores=tape.recent_scores(c.name, window),
                staleness=multipliers.get(c.name, 1.0),
            )
            for c in self._models
        )
        turning = {c: signals[c] for c in self._gate_columns}
        return SymbolInputs(
            symbol=symbol,
            ts=context.ts,
            close=float(history.close[-1]),
            sigma=context.value(symbol, "sigma"),
            atr=context.value(symbol, "atr"),
            adv=context.value(symbol, "adv"),
            equity=context.equity,
            quote_age_seconds=(context.ts.value - int(history.ts[-1])) / 1e9,
            models=models,
            p_peak=turning.get("p_peak"),
            p_valley=turning.get("p_valley"),
        )

    def _book(
        self,
        context: StrategyContext,
        symbol: str,
        proposal: Proposal,
        w_now: float,
        w_gross: float,
    ) -> list[OrderIntent]:
        """Band, quantity, protection and orders for one symbol; appends its trace record."""
        history = context.history[symbol]
        close = float(history.close[-1])
        held = context.position(symbol)
        blocked = proposal.blocked_by
        w_final = w_gross
        if self.settings.band.enabled:
            w_final = no_trade_band(w_now, w_gross, self.settings.band.band)
        if w_final == w_now and held != 0:
            target = held
            if blocked is None and w_gross != w_now:
                blocked = Block.BAND
        else:
            target = target_quantity(
                w_final, context.equity, close, whole=self.settings.whole_units
            )
        stops = self._protection(symbol, held, target, proposal=proposal, history=history)
        orders = position_orders(symbol, held, target, stops)
        record: dict[str, TraceValue] = {
            "ts": context.ts,
            "symbol": symbol,
            **proposal.trace,
            "action": _action(held, target),
            "blocked_by": None if blocked is None else blocked.value,
            "w_current": w_now,
            "w_proposed": proposal.weight,
            "w_gross": w_gross,
            "w_target": w_final,
            "qty_held": held,
            "qty_target": target,
            "stop_loss": None if stops is None else stops.stop_loss,
            "take_profit": None if stops is None else stops.take_profit,
            "orders": len(orders),
            "kelly_wins": self._kelly.wins,
            "kelly_losses": self._kelly.losses,
        }
        self._trace.append(record)
        return orders

    def _protection(
        self,
        symbol: str,
        held: float,
        target: float,
        *,
        proposal: Proposal,
        history: SymbolHistory,
    ) -> Stops | None:
        """Levels for the position in ``target``'s direction; opens or ends episodes."""
        side = _sign(target)
        close = float(history.close[-1])
        episode = self._episodes.get(symbol)
        if episode is not None and episode.side != side:
            if episode.opened:  # the strategy closes it itself: scored at this close
                self._kelly = self._kelly.record_outcome(episode.side * (close - episode.entry) > 0)
            del self._episodes[symbol]
            episode = None
        if side == 0:
            return None
        if episode is None:
            stops = None
            if self.settings.protect.enabled:
                atr = float(proposal.trace.get("atr") or math.nan)
                stops = protection_levels(
                    close, atr, side, high=history.high, low=history.low, step=self.settings.protect
                )
            episode = self._episodes[symbol] = _Episode(side, close, stops, opened=held * side > 0)
        return episode.stops

    def _settle(self, symbol: str, held: float, history: SymbolHistory) -> None:
        """Notice an entry that filled, or a position its protection (or the guard) closed."""
        episode = self._episodes.get(symbol)
        if episode is None:
            return
        if held * episode.side > 0:
            episode.opened = True
            return
        del self._episodes[symbol]
        if not episode.opened:
            return  # the entry never filled (refused or expired): nothing to score
        high, low = float(history.high[-1]), float(history.low[-1])
        exit_price = float(history.close[-1])
        stops = episode.stops
        if stops is not None:
            hit_stop = low <= stops.stop_loss if episode.side > 0 else high >= stops.stop_loss
            hit_take = high >= stops.take_profit if episode.side > 0 else low <= stops.take_profit
            if hit_stop:
                exit_price = stops.stop_loss
            elif hit_take:
                exit_price = stops.take_profit
        self._kelly = self._kelly.record_outcome(episode.side * (exit_price - episode.entry) > 0)


def _action(held: float, target: float) -> str:
    """A word for what the orders do to the position."""
    if target == held:
        return "hold" if held != 0 else "none"
    if held == 0:
        return "enter"
    if target == 0:
        return "exit"
    if held * target < 0:
        return "flip"
    return "add" if abs(target) > abs(held) else "reduce"
