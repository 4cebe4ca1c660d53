"""A live session against a broker's local server, for a rule strategy, to crash and restart.

The broker crash tests (RELIABILITY BF-13, CR-04, CR-07, CR-08) need an
engine they can ``kill -9`` while the broker keeps its own truth in another
process. This composes ``alphagate live``'s engine (the same
:func:`~alphagate.app.paper_engine.paper_engine` with the broker as its
venue, the Alpaca bar feed, external orders imported) around a rule strategy,
so that no trained run is needed::

    python -m alphagate.testing.broker_session --url http://127.0.0.1:P --session DIR \\
        --symbols AAPL --strategy every_nth_bracket --params every=3 --max-cycles 6

Keys come from the environment as for ``alphagate live``. It prints a JSON
summary (the engine's orders and positions, the broker's, what start-up
mended) and exits 0; a refused start (books that differ from the broker's)
prints the reason on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import pandas as pd

from alphagate.adapters.alpaca.live import open_live
from alphagate.app.backtest import parse_params
from alphagate.app.live import ExternalPolicy, import_external
from alphagate.app.paper_engine import PaperParts, paper_engine
from alphagate.atomic import write_text_atomically
from alphagate.config import Settings
from alphagate.domain.order_state import OrderState
from alphagate.errors import AlphagateError
from alphagate.execution.commission import NoCommission
from alphagate.execution.fill_models import NextOpenFill
from alphagate.live.driver import LiveDriver
from alphagate.live.recovery import recover, resume
from alphagate.live.runner import RunSummary, run_live, write_snapshot
from alphagate.risk.events import RiskEvent
from alphagate.risk.guard import RiskSettings
from alphagate.testing.paper_session import KILL_STATE, OPEN_LIMITS, REFUSED, strategy_of

FIRST_BARS: Final = pd.Timestamp("2024-01-01", tz="UTC")


def settings_for(url: str, session: Path) -> Settings:
    """Defaults, with Alpaca at ``url`` and the kill switch in the session folder."""
    defaults = Settings()
    venues = defaults.venues.model_copy(
        update={
            "alpaca": defaults.venues.alpaca.model_copy(
                update={
                    "base_url": url,
                    "data_url": url,
                    "trade_stream_url": url.replace("http://", "ws://", 1) + "/stream",
                }
            )
        }
    )
    risk = defaults.risk.model_copy(update={"kill_switch_state": session / KILL_STATE})
    return defaults.model_copy(update={"venues": venues, "risk": risk})


def run_session(
    url: str,
    session: Path,
    symbols: Sequence[str],
    strategy_name: str,
    params: str,
    *,
    max_cycles: int | None,
    external: ExternalPolicy = "ignore",
    poll_s: float = 0.05,
) -> dict[str, Any]:
    """Start (or resume) the session and run ``max_cycles`` bars; the JSON summary."""
    session.mkdir(parents=True, exist_ok=True)
    settings = settings_for(url, session)
    opened = open_live(settings, os.environ, poll_s)
    events: list[RiskEvent] = []
    try:
        pinned = _pinned(session, opened.venue.account().cash, opened.feed(
            symbols, after=0, on_silence=lambda _: None
        ).closed(None, start=FIRST_BARS))  # fmt: skip
        feed = opened.feed(symbols, after=pinned["after"], on_silence=lambda _: None)
        parts = PaperParts(
            cash=pinned["cash"], fill_model=NextOpenFill(), commission=NoCommission(),
            risk=RiskSettings(limits=OPEN_LIMITS, breaker=None),
        )  # fmt: skip
        strategy = strategy_of(strategy_name, parse_params(params))
        with paper_engine(
            settings, strategy, symbols, parts, session=session, events=events.append,
            venue=opened.venue, checks={"market_data": feed.check},
        ) as (driver, go_live):  # fmt: skip

            def after_recovery(d: LiveDriver) -> None:
                go_live(d)
                import_external(d, opened.venue, external, events.append)

            opened.start()
            if max_cycles == 0:  # start-up only: recover, reconcile, resume, stop
                found = recover(driver)
                after_recovery(driver)
                resume(driver, found)
                write_snapshot(driver)
                summary = RunSummary(found, 0, "cycle limit")
            else:
                summary = asyncio.run(
                    run_live(
                        driver, feed, max_cycles=max_cycles, after_recovery=after_recovery,
                        handle_signals=False,
                    )
                )  # fmt: skip
            account = opened.venue.account()
            kernel = driver.kernel
            return {
                "orders": {cid: _order(s) for cid, s in sorted(kernel.orders.items())},
                "positions": {s: q for s, q in sorted(kernel.portfolio.quantities.items()) if q},
                "broker_positions": {s: q for s, q in sorted(account.positions.items()) if q},
                "cycles": summary.cycles,
                "recovered": {
                    "cycles": summary.recovered.cycles,
                    "resent": summary.recovered.resent,
                    "adopted": summary.recovered.adopted,
                },
                "external": [
                    e.data.get("client_order_id") for e in events if e.data.get("external")
                ],
            }
    finally:
        opened.close()


def _order(state: OrderState) -> dict[str, Any]:
    request = state.request
    return {
        "status": state.status.value,
        "filled_qty": state.filled_qty,
        "symbol": request.symbol,
        "side": request.side.value,
        "parent_id": request.parent_id,
    }


def _pinned(session: Path, cash: float, bars: pd.DataFrame) -> dict[str, Any]:
    """The first start's cash and the close to trade after (the broker's newest bar then)."""
    path = session / "session.json"
    if path.exists():
        pinned: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return pinned
    after = int(pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8.max())
    pinned = {"cash": cash, "after": after}
    write_text_atomically(path, json.dumps(pinned))
    return pinned


def main(argv: Sequence[str] | None = None) -> int:
    """Run the session and print its JSON summary; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m alphagate.testing.broker_session")
    parser.add_argument("--url", required=True, help="the broker's base URL (a local server)")
    parser.add_argument("--session", type=Path, required=True)
    parser.add_argument("--symbols", default="AAPL")
    parser.add_argument("--strategy", default="every_nth_bracket")
    parser.add_argument("--params", default="")
    parser.add_argument("--max-cycles", type=int, default=None, help="0: start-up only")
    parser.add_argument("--external-orders", choices=("ignore", "cancel"), default="ignore")
    args = parser.parse_args(argv)
    try:
        summary = run_session(
            args.url, args.session, args.symbols.split(","), args.strategy, args.params,
            max_cycles=args.max_cycles,
            external="cancel" if args.external_orders == "cancel" else "ignore",
        )  # fmt: skip
    except AlphagateError as exc:
        print(f"broker session refused: {exc}", file=sys.stderr)
        return REFUSED
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
