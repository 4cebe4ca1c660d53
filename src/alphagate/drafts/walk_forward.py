"""The walk-forward check of a rule-based draft: its periods, and the band it must stay in.

**Periods.** The bars' distinct timestamps are cut by
:func:`alphagate.training.splits.walk_forward` (no labels, so nothing to
purge): the last ``windows * size`` timestamps are ``windows`` consecutive
windows of equal ``size``, and everything before the first window is the
training period, about ``training_fraction`` of the bars. The draft is
written and repaired with the training period's backtest only; the windows
are later and unseen.

**The band.** A rule-based strategy is not refitted between windows, so the
question is whether the behaviour the training backtest showed carries on.
The measure is the annualised Sharpe ratio of each period (the metric every
gate reads), taken from the first bar the strategy decides at. With ``S`` the
training Sharpe, each window's Sharpe must lie in::

    S ± tolerance * max(|S|, sharpe_floor)

``sharpe_floor`` (0.1 by default) is the absolute floor near zero: without
it, a training Sharpe of 0.01 would ask every window for 0.008 to 0.012,
a band no real strategy could hit; with it the band is at least ±0.02 wide.
The band is two-sided, as the issue asks ("within ±20%"): a window far
*better* than the training period also says the training number does not
describe the strategy (one regime carried it). Beforehand the training
Sharpe must exceed ``min_training_sharpe`` (0 by default): a draft that loses
in its own backtest has nothing to validate. An undefined Sharpe (a flat
curve: no trade) fails, since it cannot be judged.

This is a consistency check, not a significance test: it is the gates'
work (deflated Sharpe, stress, paper) to decide whether the edge is real.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alphagate.config.llm import DraftValidationConfig
from alphagate.drafts.records import PeriodMetrics
from alphagate.errors import AlphagateError
from alphagate.training.splits import walk_forward


@dataclass(frozen=True)
class Periods:
    """Where the training period ends, and the windows after it, as int64 ns (inclusive)."""

    training_end_ns: int
    windows: tuple[tuple[int, int], ...]


def periods_of(bars: pd.DataFrame, validation: DraftValidationConfig) -> Periods:
    """Cut ``bars`` into the training period and the walk-forward windows.

    Raises
    ------
    AlphagateError
        When there are too few bars for the windows (the message says how many are needed).
    """
    stamps = pd.DatetimeIndex(np.unique(bars.index.get_level_values("ts")))
    n_times = len(stamps)
    size = int(n_times * (1.0 - validation.training_fraction)) // validation.windows
    if size < 2:
        needed = int(np.ceil(2 * validation.windows / (1.0 - validation.training_fraction)))
        raise AlphagateError(
            f"{n_times} bar(s) are too few for {validation.windows} walk-forward windows after "
            f"a training share of {validation.training_fraction:g}; give at least {needed} bars "
            "(--start/--end, --data) or fewer llm.validation.windows"
        )
    splits = walk_forward(
        stamps, pd.Series(stamps, index=stamps), n_splits=validation.windows, test_size=size
    )
    asi8 = stamps.as_unit("ns").asi8
    training_end = int(asi8[splits[0].train[-1]])
    windows = tuple((int(asi8[s.test[0]]), int(asi8[s.test[-1]])) for s in splits)
    return Periods(training_end, windows)


@dataclass(frozen=True)
class Verdict:
    """Whether a check passed, and the reasons it did not (each says what was compared)."""

    passed: bool
    reasons: tuple[str, ...]


def judge_training(training: PeriodMetrics, validation: DraftValidationConfig) -> Verdict:
    """The training backtest must have a Sharpe, above ``min_training_sharpe``."""
    if training.sharpe is None:
        return Verdict(
            False,
            (
                f"the training backtest ({training.start} to {training.end}) has no Sharpe "
                f"ratio: its equity never moved ({training.trades} trade(s))",
            ),
        )
    if training.sharpe <= validation.min_training_sharpe:
        return Verdict(
            False,
            (
                f"the training backtest's Sharpe {training.sharpe:.3f} is not above "
                f"llm.validation.min_training_sharpe={validation.min_training_sharpe:g}",
            ),
        )
    return Verdict(True, ())


def judge_windows(
    training: PeriodMetrics, windows: tuple[PeriodMetrics, ...], validation: DraftValidationConfig
) -> Verdict:
    """Every window's Sharpe within the band around the training Sharpe (module docstring)."""
    assert training.sharpe is not None, "judge_training passed first"
    centre = training.sharpe
    half_width = validation.tolerance * max(abs(centre), validation.sharpe_floor)
    low, high = centre - half_width, centre + half_width
    reasons: list[str] = []
    for number, window in enumerate(windows, start=1):
        if window.sharpe is None:
            reasons.append(
                f"window {number} ({window.start} to {window.end}) has no Sharpe ratio: "
                "its equity never moved"
            )
        elif not low <= window.sharpe <= high:
            reasons.append(
                f"window {number} ({window.start} to {window.end}) has Sharpe "
                f"{window.sharpe:.3f}, outside [{low:.3f}, {high:.3f}] (training "
                f"{centre:.3f} ± {validation.tolerance:g} * max(|{centre:.3f}|, "
                f"{validation.sharpe_floor:g}))"
            )
    return Verdict(not reasons, tuple(reasons))
