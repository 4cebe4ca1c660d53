"""A paper session for a rule strategy over a bars file, to crash, restart and compare.

The crash tests (RELIABILITY 3.1) need an engine they can ``kill -9`` from
outside: a process, not a function. This module composes one from the real
parts, with nothing of the model pipeline in the way:

* the kernel with a built-in strategy by name (or the kit's
  :class:`EveryNthBracket`, which trades brackets often), behind the risk
  guard so that the operator's kill switch is obeyed as in ``alphagate paper``;
* the paper venue (:class:`~alphagate.execution.venue.SimulatedVenue` with
  :class:`~alphagate.execution.fill_models.NextOpenFill`) on its own SQLite
  ledger, ``SESSION/venue.db``;
* the live driver on the engine's SQLite journal, ``SESSION/journal.db``;
* :func:`~alphagate.live.runner.run_live` over a
  :class:`~alphagate.live.feeds.ReplayFeed` of the bars.

Running it again on the same session directory resumes it (start-up is
recovery), which is what a crash harness needs::

    python -m alphagate.testing.paper_session --bars bars.parquet --session DIR \\
        --strategy sma_cross --params fast=3,slow=8 [--kill-file F] [--speed N]

It prints a JSON summary (positions, cash, orders, what start-up mended) on
stdout and exits 0; a start the engine refuses (a journal it cannot explain,
books that differ from the venue's) prints the reason on stderr and exits 2.

The guard's limits are wide open: the strategy's orders pass unchanged and
the guard only carries the kill switch, so a session's orders are the
backtest's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from alphagate.app.backtest import parse_params
from alphagate.app.paper_engine import PaperParts, paper_engine
from alphagate.config import Settings
from alphagate.domain.bars import bars_from_flat, symbols_of
from alphagate.domain.orders import OrderType, TimeInForce
from alphagate.domain.strategy import OrderIntent, Strategy, StrategyContext
from alphagate.errors import AlphagateError
from alphagate.execution.commission import NoCommission
from alphagate.execution.fill_models import NextOpenFill
from alphagate.live.driver import LiveDriver
from alphagate.live.feeds import ReplayFeed
from alphagate.live.runner import RunSummary, run_live
from alphagate.risk.events import RiskEvent
from alphagate.risk.guard import RiskSettings
from alphagate.risk.limits import RiskLimits
from alphagate.strategies.builtin import make_strategy
from alphagate.strategies.parameters import ParameterValue, constructor_arguments

KILL_STATE: Final = "kill_switch.json"
CASH: Final = 10_000.0
REFUSED: Final = 2
"""Exit status when the engine refuses to start or trade (recovery or reconciliation)."""

OPEN_LIMITS: Final = RiskLimits(
    max_position_weight=1e6,
    max_gross_exposure=1e6,
    max_net_exposure=1e6,
    max_order_notional=1e18,
    max_orders_per_day=10**9,
    price_collar_pct=1e6,
)
"""Limits no order of these sessions reaches: the guard is here for the kill switch only."""


@dataclass
class EveryNthBracket:
    """Every ``every``-th bar of a flat symbol: buy 10, a GTC stop 3 % under, a target 3 % over.

    It trades often and keeps orders working across bars (the stop and the
    target), so a crash finds orders in every state.
    """

    every: int = 7
    name: str = "every_nth_bracket"
    warmup: int = 2

    def on_bar(self, context: StrategyContext) -> list[OrderIntent] | None:
        """Open a bracket on each flat symbol whose bar count is a multiple of ``every``."""
        intents: list[OrderIntent] = []
        for symbol in context.updated:
            n = context.bars_seen(symbol)
            if n % self.every or context.position(symbol) != 0.0:
                continue
            close = float(context.history[symbol].close[-1])
            group = f"b{n}"
            intents += [
                OrderIntent(symbol, 10),
                OrderIntent(
                    symbol, -10, leg="stop", parent_leg="entry", oco_group=group,
                    order_type=OrderType.STOP, stop_price=round(close * 0.97, 6),
                    time_in_force=TimeInForce.GTC,
                ),
                OrderIntent(
                    symbol, -10, leg="take_profit", parent_leg="entry", oco_group=group,
                    order_type=OrderType.LIMIT, limit_price=round(close * 1.03, 6),
                    time_in_force=TimeInForce.GTC,
                ),
            ]  # fmt: skip
        return intents or None


def strategy_of(name: str, params: Mapping[str, ParameterValue] | None = None) -> Strategy:
    """A built-in strategy by name, or the kit's ``every_nth_bracket``."""
    if name == EveryNthBracket.name:
        return EveryNthBracket(**constructor_arguments(name, EveryNthBracket, params or {}))  # type: ignore[arg-type]
    return make_strategy(name, params)


@dataclass(frozen=True)
class SessionOutcome:
    """A finished session: the run's summary, the driver (its books) and the risk events."""

    summary: RunSummary
    driver: LiveDriver
    risk_events: list[RiskEvent]


def run_session(
    bars: pd.DataFrame,
    session: Path,
    strategy: Strategy,
    *,
    kill_file: Path | None = None,
    speed: float | None = None,
    handle_signals: bool = True,
) -> SessionOutcome:
    """Start (or resume) the session in ``session`` and replay ``bars`` through it to the end.

    The engine is ``alphagate paper``'s (:func:`~alphagate.app.paper_engine.paper_engine`);
    the operator's kill switch is ``session/kill_switch.json`` with ``kill_file``
    as its trigger.

    Raises
    ------
    AlphagateError
        When the journal does not describe this engine, or its books differ
        from the venue's (nothing is sent then).
    """
    events: list[RiskEvent] = []
    defaults = Settings()
    risk = defaults.risk.model_copy(
        update={"kill_switch_state": session / KILL_STATE, "kill_switch_file": kill_file}
    )
    settings = defaults.model_copy(update={"risk": risk})
    parts = PaperParts(
        cash=CASH,
        fill_model=NextOpenFill(),
        commission=NoCommission(),
        risk=RiskSettings(limits=OPEN_LIMITS, breaker=None),
    )
    with paper_engine(
        settings, strategy, symbols_of(bars), parts, session=session, events=events.append
    ) as (driver, go_live):
        summary = asyncio.run(
            run_live(
                driver, ReplayFeed(bars, speed=speed),
                after_recovery=go_live, handle_signals=handle_signals,
            )
        )  # fmt: skip
    return SessionOutcome(summary, driver, events)


def summary_of(outcome: SessionOutcome) -> dict[str, Any]:
    """The session's books as plain JSON: the engine's and the venue's, and what start-up did."""
    driver = outcome.driver
    kernel = driver.kernel
    account = driver.venue.account()
    recovered = outcome.summary.recovered
    return {
        "orders": {
            cid: {
                "status": state.status.value,
                "filled_qty": state.filled_qty,
                "avg_fill_price": state.avg_fill_price,
            }
            for cid, state in sorted(kernel.orders.items())
        },
        "positions": {s: q for s, q in sorted(kernel.portfolio.quantities.items()) if q},
        "cash": kernel.portfolio.cash,
        "venue": {
            "cash": account.cash,
            "positions": {s: float(q) for s, q in sorted(account.positions.items()) if q},
        },
        "cycles": outcome.summary.cycles,
        "stopped_by": outcome.summary.stopped_by,
        "recovered": {
            "records": recovered.records,
            "cycles": recovered.cycles,
            "resent": recovered.resent,
            "adopted": recovered.adopted,
            "finished_cycle": recovered.finished_cycle,
        },
        "refused": sum(1 for e in outcome.risk_events if "refused" in e.reason),
    }


def read_bars(path: Path) -> pd.DataFrame:
    """Bars from a flat Parquet file (``symbol, ts, open, high, low, close, volume``)."""
    try:
        flat = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise AlphagateError(f"cannot read the bars file {path}: {exc}") from None
    return bars_from_flat(flat)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a session to the end and print its JSON summary; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m alphagate.testing.paper_session", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--bars", type=Path, required=True, help="flat bars Parquet file")
    parser.add_argument("--session", type=Path, required=True, help="journal and ledger folder")
    parser.add_argument("--strategy", default="sma_cross")
    parser.add_argument("--params", default="", help="name=value pairs, e.g. fast=3,slow=8")
    parser.add_argument("--kill-file", type=Path, default=None, help="the kill switch's trigger")
    parser.add_argument("--speed", type=float, default=None, help="times real time (default max)")
    args = parser.parse_args(argv)
    try:
        outcome = run_session(
            read_bars(args.bars),
            args.session,
            strategy_of(args.strategy, parse_params(args.params)),
            kill_file=args.kill_file,
            speed=args.speed,
        )
    except AlphagateError as exc:
        print(f"paper session refused: {exc}", file=sys.stderr)
        return REFUSED
    print(json.dumps(summary_of(outcome), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
