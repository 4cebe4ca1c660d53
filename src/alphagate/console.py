"""The ``alphagate`` console script: the command line imported with the collector off.

Importing the command line (pandas, NumPy, pyarrow, pydantic, the settings
tree) makes a few hundred thousand objects (modules, classes, functions)
that live until the process ends. With the cyclic collector on, its passes
walk them again and again while they are being made: about 230 collections
and 0.07 s of every command's start (counted with ``gc.callbacks``), to
free nothing. So the collector is off until the imports are done, and what
they made is then frozen out of its way before it is switched back on:
otherwise every full collection would walk all of it again, several times
during a backtest of a million bars and once more as the interpreter exits
(a fifth of a second there alone).
"""

from __future__ import annotations

import gc


def main() -> None:
    """Import the command line with the collector off, freeze what it made, and run it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        from alphagate.cli import main as command_line

        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()
    command_line()
