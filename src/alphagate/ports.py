"""The Protocols the core needs from the outside world.

Rings 1-6 depend on these shapes, never on a concrete adapter: a bar source
can be a CSV file today and a broker's feed tomorrow without the quality
checks noticing, and the engine's kernel cannot tell a simulated venue from
a broker. Only :mod:`alphagate.app` picks the concrete parts.

Timestamps crossing a port are int64 nanoseconds since the epoch, UTC,
except where a pandas frame carries them (bar sources, feeds' history).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from alphagate.domain.bar import Bar
from alphagate.domain.order_state import OrderState, OrderUpdate
from alphagate.domain.orders import OrderRequest
from alphagate.domain.quality_report import QualityReport
from alphagate.domain.strategy import SymbolHistory
from alphagate.domain.timeframe import Timeframe


class BarSource(Protocol):
    """Anything that yields bars in chunks: files, bundled data, generators, feeds.

    Each chunk is a flat frame with columns ``symbol``, ``row`` (where the bar
    sits in the source, for error messages), ``ts`` (UTC bar close) and the
    float64 OHLCV columns. Rows a source cannot parse (text in a number, a bad
    timestamp) are recorded in the report it is given and left out, so one
    pass finds every such row; a source that cannot be read at all (missing
    file or column, empty file) raises
    :class:`alphagate.domain.quality_report.DataValidationError`.
    """

    @property
    def name(self) -> str:
        """What to call the source in messages: a file path or ``bundled:^GSPC``."""
        ...

    @property
    def timeframe(self) -> Timeframe:
        """The bar size the source delivers."""
        ...

    @property
    def calendar(self) -> str | None:
        """The exchange calendar the bars follow, or ``None`` for round-the-clock markets."""
        ...

    def chunks(self, report: QualityReport) -> Iterator[pd.DataFrame]:
        """Yield the source's bars in bounded-size chunks, recording unparseable rows."""
        ...


@dataclass(frozen=True, slots=True)
class VenueCapabilities:
    """What a venue does itself, so the engine knows what it must do instead.

    ``brackets``: the venue holds a bracket's stop and target and cancels the
    survivor when one fills (server-side OCO). ``fractional``: quantities
    need not be whole. ``shorting``: a sell may open a short position.
    """

    brackets: bool
    fractional: bool
    shorting: bool


@dataclass(frozen=True, slots=True)
class VenueAccount:
    """The venue's own word on the account: what reconciliation trusts."""

    cash: float
    positions: Mapping[str, float]


class Venue(Protocol):
    """Where orders go: a simulated exchange, a paper account or a broker.

    Every call answers with the order updates it caused that are already
    known (a simulated venue's acknowledgement and fills; a broker's
    synchronous reply). Later reports reach the driver through the venue's
    own stream and enter the kernel as
    :meth:`~alphagate.engine.kernel.Kernel.on_order_update` events.
    """

    @property
    def capabilities(self) -> VenueCapabilities:
        """What the venue does itself."""
        ...

    def submit(self, request: OrderRequest, now: int) -> list[OrderUpdate]:
        """Take an order sent at ``now`` ns; a second order with the same client id is refused."""
        ...

    def cancel(self, client_order_id: str) -> list[OrderUpdate]:
        """Cancel a working order; one that has already ended reports nothing."""
        ...

    def open_orders(self) -> list[OrderState]:
        """Every order the venue still works."""
        ...

    def reports(
        self, client_order_id: str, request: OrderRequest | None = None
    ) -> list[OrderUpdate] | None:
        """Every report the venue made for one order, in order, or ``None`` if it never got it.

        Recovery asks this for every order whose outcome the journal does not
        hold: ``None`` means the order was never received and may be sent with
        the same client id; otherwise the reports are adopted. ``request``, when
        the caller has it, lets a venue find an order it knows by another name:
        a broker-held bracket's leg, which the broker files under its entry.
        """
        ...

    def account(self) -> VenueAccount:
        """Cash and signed positions as the venue holds them."""
        ...


class BarVenue(Venue, Protocol):
    """A venue that fills against bars it is shown: the simulated exchange."""

    def on_bar(self, bar: Bar) -> list[OrderUpdate]:
        """Try the working orders of ``bar.symbol`` against ``bar``."""
        ...


class Feed(Protocol):
    """Bars as they close, for a paper or live run; history for the warm-up."""

    def history(self, symbols: Sequence[str], bars: int) -> pd.DataFrame:
        """The last ``bars`` closed bars of each symbol, as a canonical bars frame."""
        ...

    def stream(self) -> AsyncIterator[tuple[int, Sequence[Bar]]]:
        """Batches of bars closing at one timestamp (ns), in time order."""
        ...


class Clock(Protocol):
    """The time a driver runs on: simulated in a backtest, the wall clock live."""

    def now(self) -> int:
        """Nanoseconds since the epoch, UTC."""
        ...


class Journal(Protocol):
    """An append-only record, durable before it is acted on; replayed at start-up.

    Records are JSON objects (str, int, float, bool, None, lists and dicts of
    those), stored in a canonical encoding (sorted keys, no whitespace,
    floats as their shortest exact repr), so two runs fed the same events
    write byte-identical journals (RELIABILITY I5). Sequence numbers start at
    1 and have no holes. A snapshot is a summary of the state after some
    sequence number; start-up reads the latest one and replays what follows.
    """

    def append(self, kind: str, record: Mapping[str, object]) -> int:
        """Store one record durably (fsynced) before returning its sequence number."""
        ...

    def append_many(self, records: Sequence[tuple[str, Mapping[str, object]]]) -> int:
        """Store ``(kind, record)`` pairs in one durable write; return the last one's seq.

        A crash leaves a prefix of the batch stored (SQLite: all of it or
        none), never a hole; recovery treats what is missing as never
        written. One fsync for a batch is what lets a cycle journal hundreds
        of commands before sending any. An empty batch stores nothing and
        returns the last seq.
        """
        ...

    def replay(self, after: int = 0) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
        """Every record with a sequence number above ``after``, in order: (seq, kind, record)."""
        ...

    def snapshot(self, seq: int, state: Mapping[str, object]) -> None:
        """Store durably the state as it was right after record ``seq``."""
        ...

    def latest_snapshot(self) -> tuple[int, Mapping[str, Any]] | None:
        """The most recent snapshot as (seq, state), or ``None`` before the first."""
        ...

    def close(self) -> None:
        """Release the store; appending after closing raises."""
        ...


class Notifier(Protocol):
    """Where people hear about what happened: a log, a webhook, a chat, a desktop."""

    def send(self, subject: str, body: str, severity: str) -> None:
        """Deliver one notice; a failure to deliver must never stop trading."""
        ...


class Predictor(Protocol):
    """Calibrated P(up) for the bars that just closed, from the history seen so far.

    ``columns`` name each prediction ``<model>_h<horizon>`` (plus
    ``p_peak``/``p_valley`` where a turning-point model feeds the barrier
    gate). A backtest may answer from predictions made in one batch; a live
    run computes features and predictions online. Both must give the same
    numbers for the same bars, which the tests hold them to.
    """

    @property
    def columns(self) -> tuple[str, ...]:
        """The prediction columns, in a fixed order."""
        ...

    def predict(
        self, ts: int, symbols: Sequence[str], history: Mapping[str, SymbolHistory]
    ) -> Mapping[str, Mapping[str, float]]:
        """Per symbol of ``symbols`` (those closing at ``ts``), per column, P(up) or NaN."""
        ...


class ModelStore(Protocol):
    """Finds a trained run's models and calibrators and serves them as a predictor."""

    def predictor(self, run_id: str) -> Predictor:
        """The predictor of run ``run_id``; raises naming the run when it is missing."""
        ...
