"""Every broker call ends in one of three outcomes, and the engine acts on the outcome only.

``OK``
    The venue answered; what it said (accepted, filled, refused) is known.
``FAILED``
    The venue did not act on the request, and says so: a 4xx refusal, a rate
    limit answered before the request was processed, a clock-skew refusal, a
    connection that never opened. Sending the same request again, with the
    same client id, cannot make a second order.
``UNKNOWN``
    The request may have been acted on: a timeout after it was sent, a 5xx,
    a connection dropped mid-answer. Such an order is *never* resent blindly;
    it is settled by asking the venue for its client id (RELIABILITY BF-01,
    BF-02, BF-05), the way CCXT's ``RequestTimeout`` and NautilusTrader's
    in-flight checks treat it.

Adapters translate their library's exceptions into the classes below; code
above the adapter sees no ``requests``, ``aiohttp`` or ``ccxt`` exception.
Messages never hold credentials, signatures or request headers (SE-03): an
adapter builds them from the status, the venue's error code and its text.
"""

from __future__ import annotations

from enum import StrEnum

from alphagate.errors import AlphagateError


class Outcome(StrEnum):
    """What is known about a request's effect at the venue; see the module docstring."""

    OK = "ok"
    FAILED = "failed"
    UNKNOWN = "unknown"


class BrokerError(AlphagateError):
    """A broker call did not succeed; ``outcome`` says whether it may have had an effect."""

    outcome: Outcome = Outcome.FAILED

    def __init__(self, message: str, *, venue: str, retry_after: float | None = None) -> None:
        super().__init__(f"{venue}: {message}")
        self.venue = venue
        self.retry_after = retry_after


class VenueRejectedError(BrokerError):
    """The venue refused the request for a reason of its own (funds, precision, market closed).

    Final for this request: the order is ``REJECTED`` with the venue's reason.
    """


class RateLimitedError(BrokerError):
    """429 (or the venue's equivalent): nothing was processed; wait ``retry_after`` seconds."""


class ClockSkewError(BrokerError):
    """The venue refused a signed request's timestamp (Binance -1021, recvWindow).

    A clock problem, never evidence that an order does not exist (BF-14):
    the request was not processed, and tracking keeps every order it had.
    """


class UnreachableError(BrokerError):
    """No connection could be opened, so nothing was sent."""


class AuthFailedError(BrokerError):
    """401/403: the keys are wrong, expired or lack a permission.

    Trading halts with an alert, and nothing retries (BF-15).
    """


class OutcomeUnknownError(BrokerError):
    """Sent, but no answer: a timeout, a 5xx or a dropped connection. Settled by client id."""

    outcome = Outcome.UNKNOWN


class OrderNotFoundError(BrokerError):
    """The venue has no order with this id (an answer, unlike a timeout)."""


class DuplicateClientIdError(BrokerError):
    """The venue already holds an order with this client id: it got an earlier send.

    Not a failure to report: the order exists, and is adopted by asking for it.
    """


RETRYABLE_READ_ERRORS: tuple[type[BrokerError], ...] = (
    RateLimitedError,
    ClockSkewError,
    UnreachableError,
    OutcomeUnknownError,
)
"""What a read (a GET: it changes nothing) may simply be asked again after."""
