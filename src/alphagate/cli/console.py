"""The ``alphagate`` console script: import the command line, freeze what start-up made, run.

Importing the command line (pandas, NumPy, pyarrow, pydantic, the settings
tree) makes objects that live until the process ends. ``gc.freeze()`` moves
them out of the collector's way once, so its later passes during a long
command do not walk them again.
"""

from __future__ import annotations

import gc


def main() -> None:
    """Import the command line, freeze the start-up objects, and run it."""
    from alphagate.cli.root import main as command_line

    gc.freeze()
    command_line()
