"""The checks ``alphagate live`` makes before it may trade real money (RELIABILITY SE-04).

Paper is the default everywhere; live is refused unless every one of these
holds, checked in this order so that the cheapest refusal comes first:

1. the kill switch is not tripped (an operator's halt outlives any start);
2. ``--confirm`` was given, and the typed phrase ``YES I AM SURE`` was
   entered at the terminal or set in ``ALPHAGATE_LIVE_CONFIRM`` for an
   unattended start; a start with neither, and no terminal, is refused;
3. the venue's credentials are in the environment. Their names are printed
   when missing, their values never (not in messages, not in logs).

Then the venue's adapter is looked up. No live adapter ships yet (they come
with the broker adapters), so a start that passes every check still stops
there, having sent nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Final

from alphagate.config import Settings
from alphagate.errors import AlphagateError

CONFIRM_PHRASE: Final = "YES I AM SURE"
CONFIRM_ENV: Final = "ALPHAGATE_LIVE_CONFIRM"
CREDENTIALS: Final[Mapping[str, tuple[str, ...]]] = {
    "alpaca": ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY"),
    "binance": ("ALPHAGATE_BINANCE_API_KEY", "ALPHAGATE_BINANCE_SECRET"),
    "okx": ("ALPHAGATE_OKX_API_KEY", "ALPHAGATE_OKX_SECRET", "ALPHAGATE_OKX_PASSWORD"),
}
"""The environment variables each venue's credentials come from."""


class LiveRefused(AlphagateError):  # noqa: N818 - a refusal, named as the user reads it
    """``alphagate live`` will not start; the message says what to do."""


def check_live_start(
    settings: Settings,
    venue: str,
    *,
    confirm: bool,
    ask: Callable[[str], str] | None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Raise :class:`LiveRefused` unless a live start on ``venue`` may go ahead; see the module.

    ``ask`` prompts at a terminal and returns what was typed; ``None`` when
    there is no terminal.
    """
    from alphagate.app.kill_switch import open_kill_switch

    env = os.environ if environ is None else environ
    switch = open_kill_switch(settings)
    if switch.is_tripped():
        raise LiveRefused(
            f"the kill switch is tripped ({switch.reason or 'trigger file present'}); "
            "see `alphagate kill-switch status`, and reset it with "
            "`alphagate kill-switch reset --reason R --by NAME` once it is safe"
        )
    if venue not in CREDENTIALS:
        known = ", ".join(sorted(CREDENTIALS))
        raise LiveRefused(f"unknown venue {venue!r}; live venues: {known}")
    if not confirm:
        raise LiveRefused(
            "live trading sends real orders: add --confirm, then type the phrase "
            f"{CONFIRM_PHRASE!r} (or set {CONFIRM_ENV} for an unattended start)"
        )
    typed = env.get(CONFIRM_ENV)
    if typed is None and ask is not None:
        typed = ask(f"Type {CONFIRM_PHRASE} to trade real money on {venue}")
    if typed is None:
        raise LiveRefused(
            f"no terminal to type the confirmation at: set {CONFIRM_ENV}={CONFIRM_PHRASE!r} "
            "for an unattended start"
        )
    if typed.strip() != CONFIRM_PHRASE:
        raise LiveRefused(f"the confirmation was not {CONFIRM_PHRASE!r}; nothing was started")
    missing = [name for name in CREDENTIALS[venue] if not env.get(name)]
    if missing:
        raise LiveRefused(
            f"{venue} credentials are missing from the environment: set {', '.join(missing)} "
            "(they are read from the environment only, never from files or flags)"
        )
    raise LiveRefused(
        f"every check passed, but no live adapter for {venue} ships yet (broker adapters are "
        "a later change); nothing was sent. Use `alphagate paper` meanwhile"
    )
