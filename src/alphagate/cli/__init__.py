"""The ``alphagate`` command line: one module per command group, each thin.

Every group module registers its commands on :data:`alphagate.cli.root.cli`
when imported; importing this package imports them all, in the order
``alphagate --help`` lists them.
"""

from alphagate.cli import (
    backtest,
    config,
    data,
    db,
    gates,
    kill_switch,
    live,
    paper,
    pipeline,
    research,
    root,
    serve,
    strategy,
    stress,
    sweep,
    train,
)
from alphagate.cli.root import cli, main

__all__ = [
    "backtest",
    "cli",
    "config",
    "data",
    "db",
    "gates",
    "kill_switch",
    "live",
    "main",
    "paper",
    "pipeline",
    "research",
    "root",
    "serve",
    "strategy",
    "stress",
    "sweep",
    "train",
]
