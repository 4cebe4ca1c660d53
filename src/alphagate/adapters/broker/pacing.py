"""One pacing gate per venue connection: a request budget per minute, and the venue's own waits.

Brokers count requests: Alpaca allows 200 a minute, Binance weighs each
call, and both answer an excess with 429 and a ``Retry-After``. Binance
escalates repeated 429s into 418 bans lasting minutes to days, so honouring
the wait is not politeness. Every request, read or write, passes
:meth:`Pacing.acquire` first: it sleeps until the budget has room and any
wait the venue asked for has passed, so no request is made inside a
``Retry-After`` window (BF-03). Thread-safe: a stream's catch-up and the
engine's cycle may share one connection.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Pacing:
    """Sleeps callers until the request budget and the venue's last ``Retry-After`` allow.

    Parameters
    ----------
    per_minute
        At most this many requests in any 60 s window; ``None`` for no budget.
    clock, sleep
        Monotonic seconds and a sleep, replaceable in tests.
    """

    per_minute: int | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _held_until: float = 0.0
    _sent: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hold(self, seconds: float) -> None:
        """No request until ``seconds`` from now (the venue's ``Retry-After``); waits only grow."""
        with self._lock:
            self._held_until = max(self._held_until, self.clock() + max(seconds, 0.0))

    def wait_needed(self) -> float:
        """Seconds until a request may go now (0 when it may go at once)."""
        with self._lock:
            return self._wait_locked(self.clock())

    def acquire(self) -> None:
        """Sleep until a request may go, then count it."""
        while True:
            with self._lock:
                now = self.clock()
                wait = self._wait_locked(now)
                if wait <= 0.0:
                    self._sent.append(now)
                    return
            self.sleep(wait)

    def _wait_locked(self, now: float) -> float:
        wait = self._held_until - now
        if self.per_minute is not None:
            while self._sent and self._sent[0] <= now - 60.0:
                self._sent.popleft()
            if len(self._sent) >= self.per_minute:
                wait = max(wait, self._sent[0] + 60.0 - now)
        return max(wait, 0.0)
