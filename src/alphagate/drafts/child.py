"""The subprocess that runs a draft: ``python -m alphagate.drafts.child JOB.json``.

This is the only process in which generated code executes. Before it
imports anything else it makes every socket operation that could reach
another process fail (connect, send, bind, name resolution, on any address
family, loopback included: a draft has no reason to talk to anyone) and caps
its CPU time; the parent also gives it a wall-clock limit, a scratch working
folder and an environment without secrets (:mod:`alphagate.drafts.sandbox`).

It then runs the checks in order and stops at the first that fails, writing
``stage`` (the check it is in, so a time-out can say where it hung) and
finally the report, JSON, for the parent to judge:

1. ``import``: the draft loaded as a user's strategy file
   (:func:`~alphagate.strategies.loading.load_strategy`), contract checked;
2. ``look_ahead``: its declared indicators recomputed on cut histories
   (:func:`~alphagate.engine.declared_indicators.declared_indicators`);
3. ``backtest``: the training period through the event engine;
4. ``walk_forward``: each later window through the same engine, with the
   bars before it as warm-up history only.

Metrics of a period are taken from the first bar the strategy decides at,
so the warm-up's flat stretch dilutes neither the training Sharpe nor a
window's.
"""

from __future__ import annotations

import resource
import socket
import sys
from typing import Any, NoReturn


class NetworkBlockedError(ConnectionRefusedError):
    """A draft tried to use the network; drafts run with none."""


def block_network() -> None:
    """Make every socket operation that could reach another process raise, from now on."""

    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise NetworkBlockedError("network access is blocked for generated strategies")

    for method in ("connect", "connect_ex", "bind", "listen", "sendto", "sendmsg", "send"):
        setattr(socket.socket, method, refuse)
    for function in ("create_connection", "create_server", "getaddrinfo", "socketpair", "fromfd"):
        setattr(socket, function, refuse)


def main(argv: list[str]) -> int:
    """Run the job file ``argv[0]``; the report says what happened, the exit code is 0."""
    block_network()
    cpu_seconds = int(float(argv[1])) + 1 if len(argv) > 1 else 300
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    # Imported after the guard: nothing below may open a socket before it is in place.
    from alphagate.drafts.validation_run import run_job

    run_job(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
