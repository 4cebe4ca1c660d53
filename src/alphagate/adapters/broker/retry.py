"""Reads retry with backoff and jitter; writes are sent once.

A GET changes nothing, so asking again after a timeout, a 5xx, a clock
refusal or a rate limit is safe; it is retried a bounded number of times
with full-jitter exponential backoff (tenacity's ``wait_random_exponential``)
and never sooner than the venue's ``Retry-After`` (BF-03, BF-04, BF-05).
A POST or DELETE is sent exactly once by :func:`send_once`: what happens
after an ambiguous failure is the venue's to settle by client id
(:class:`~alphagate.adapters.broker.venue.BrokerVenue`), never a resend here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from alphagate.adapters.broker.errors import RETRYABLE_READ_ERRORS, BrokerError, RateLimitedError
from alphagate.adapters.broker.pacing import Pacing

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a read is asked again."""

    attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 30.0


DEFAULT_RETRY = RetryPolicy()


def read_with_retry(
    call: Callable[[], T],
    pacing: Pacing,
    policy: RetryPolicy = DEFAULT_RETRY,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Run a read, paced, retrying the retryable failures; the last failure is raised."""
    jitter = wait_random_exponential(multiplier=policy.base_s, max=policy.cap_s)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        asked = error.retry_after if isinstance(error, BrokerError) and error.retry_after else 0.0
        return max(jitter(state), asked)

    def paced() -> T:
        return send_once(call, pacing)

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        retry=retry_if_exception_type(RETRYABLE_READ_ERRORS),
        reraise=True,
        sleep=sleep if sleep is not None else pacing.sleep,
    )
    return retrying(paced)


def send_once(call: Callable[[], T], pacing: Pacing) -> T:
    """Run one request, paced; a rate limit also holds every later request for its wait."""
    pacing.acquire()
    try:
        return call()
    except RateLimitedError as error:
        pacing.hold(error.retry_after if error.retry_after is not None else 1.0)
        raise
