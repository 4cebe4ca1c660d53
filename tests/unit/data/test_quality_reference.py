"""The series checks report what a plain, row-by-row reading of each rule reports.

The reference below is written from the rules' documentation (the module
docstring of :mod:`alphagate.data.quality` and :class:`QualityConfig`) with
Python loops over one row at a time, for series without a calendar on
minute, hour and day bars, whose bar ends are the epoch-anchored multiples of
the bar's length. It shares no code with the rules, so a vectorised rule
that drifts from its documented meaning fails here.
"""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.config import QualityConfig
from alphagate.data.quality import SeriesContext, check_series
from alphagate.domain.quality_report import Action, Rule
from alphagate.domain.timeframe import Timeframe

PRICES = ("open", "high", "low", "close")
COLUMNS = (*PRICES, "volume")

_RULE_POLICIES = (
    "order",
    "duplicates",
    "non_finite",
    "price_positive",
    "volume_non_negative",
    "ohlc_consistent",
    "off_calendar",
    "gaps",
)
POLICIES = {
    "default": QualityConfig(),
    "warn": QualityConfig.model_validate(dict.fromkeys(_RULE_POLICIES, "warn")),
    "repair": QualityConfig.model_validate(
        {**dict.fromkeys(_RULE_POLICIES, "repair"), "max_fill_bars": 2}
    ),
    "any outlier": QualityConfig(gaps="warn", outlier_min_abs_return=0.0, outlier_robust_z=1.0),
}

DEFECTS = st.sampled_from(
    ["none"] * 6 + ["nan", "inf", "negative", "zero", "high below low", "jump", "drop", "off grid"]
)


@st.composite
def series(draw: st.DrawFn) -> tuple[pd.DataFrame, Timeframe]:
    """A flat series on its timeframe's grid, with the defects every rule looks for."""
    timeframe = Timeframe.parse(draw(st.sampled_from(["1m", "5m", "1h", "1d"])))
    moves = draw(st.lists(st.sampled_from([1, 1, 1, 1, 2, 4, 0, -1]), max_size=30))
    positions = np.cumsum([0, *moves])
    size = len(positions)
    step = timeframe.delta
    first = pd.Timestamp("2024-01-03", tz="UTC") + draw(
        st.sampled_from([pd.Timedelta(0)] * 3 + [pd.Timedelta(1, "us"), step / 2])
    )
    ts = pd.Series(first + step * positions).dt.as_unit(draw(st.sampled_from(["ns", "us"])))
    close = 100.0 * np.exp(
        np.cumsum(draw(st.lists(st.floats(-0.01, 0.01), min_size=size, max_size=size)))
    )
    frame = pd.DataFrame(
        {
            "row": np.arange(1, size + 1),
            "ts": ts,
            "open": close,
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": np.full(size, 10.0),
            "rejected": draw(st.lists(st.booleans(), min_size=size, max_size=size)),
        }
    )
    for position, defect in enumerate(draw(st.lists(DEFECTS, min_size=size, max_size=size))):
        column = draw(st.sampled_from(list(COLUMNS)))
        if defect in ("nan", "inf", "negative", "zero"):
            value = {"nan": np.nan, "inf": np.inf, "negative": -1.0, "zero": 0.0}[defect]
            frame.loc[position, column] = value
        elif defect == "high below low":
            frame.loc[position, "high"] = frame.loc[position, "low"] - 1.0
        elif defect in ("jump", "drop"):
            frame.loc[position:, list(PRICES)] *= 5.0 if defect == "jump" else 0.2
        elif defect == "off grid":
            frame.loc[position, "ts"] += draw(st.sampled_from([pd.Timedelta(1, "us"), step / 2]))
    return frame, timeframe


@dataclass
class Bar:
    row: int | None
    ts: int  # UTC nanoseconds
    values: dict[str, float]
    rejected: bool


Finding = tuple[Rule, Action, int | None, int, str]
"""What a report says of one problem: rule, action, source row, UTC nanoseconds, column."""


def _action(policy: str) -> Action:
    return {"error": Action.REJECTED, "warn": Action.WARNED}.get(policy, Action.DROPPED)


def _row_rule(
    bars: list[Bar], findings: list[Finding], rule: Rule, policy: str, broken: dict[str, object]
) -> list[Bar]:
    """Report each judged bar with a broken cell (columns in ``broken``'s order); drop on repair."""
    action, kept = _action(policy), []
    for bar in bars:
        bad = [name for name, test in broken.items() if test(bar.values)]  # type: ignore[operator]
        if bad and not bar.rejected:
            findings.append((rule, action, bar.row, bar.ts, ", ".join(bad)))
            if action is Action.DROPPED:
                continue
        kept.append(bar)
    return kept


def reference(
    frame: pd.DataFrame, timeframe: Timeframe, policy: QualityConfig
) -> tuple[list[Finding], list[Bar]]:
    """Every finding of the documented rules, in the order they run, and the bars kept."""
    stamps = pd.DatetimeIndex(frame["ts"]).as_unit("ns").asi8
    bars = [
        Bar(int(r["row"]), int(ns), {c: float(r[c]) for c in COLUMNS}, bool(r["rejected"]))
        for (_, r), ns in zip(frame.iterrows(), stamps, strict=True)
    ]
    findings: list[Finding] = []
    step = int(timeframe.delta.value)

    # order: a stamp earlier than one on an earlier row; later rules see sorted bars.
    action = Action.SORTED if policy.order == "repair" else _action(policy.order)
    latest = None
    backwards = False
    for bar in bars:
        if latest is not None and bar.ts < latest:
            findings.append((Rule.ORDER, action, bar.row, bar.ts, "ts"))
            backwards = True
        latest = bar.ts if latest is None else max(latest, bar.ts)
    if backwards:
        bars = sorted(bars, key=lambda b: b.ts)

    # duplicates: a stamp that occurs again on a later row; repair keeps the last.
    action = _action(policy.duplicates)
    kept = []
    for i, bar in enumerate(bars):
        if any(later.ts == bar.ts for later in bars[i + 1 :]):
            findings.append((Rule.DUPLICATES, action, bar.row, bar.ts, "ts"))
            if action is Action.DROPPED:
                continue
        kept.append(bar)
    bars = kept

    bars = _row_rule(
        bars,
        findings,
        Rule.NON_FINITE,
        policy.non_finite,
        {c: (lambda v, c=c: not math.isfinite(v[c])) for c in COLUMNS},
    )
    bars = _row_rule(
        bars,
        findings,
        Rule.PRICE_POSITIVE,
        policy.price_positive,
        {c: (lambda v, c=c: v[c] <= 0) for c in PRICES},
    )
    bars = _row_rule(
        bars,
        findings,
        Rule.VOLUME_NON_NEGATIVE,
        policy.volume_non_negative,
        {"volume": lambda v: v["volume"] < 0},
    )
    bars = _row_rule(
        bars,
        findings,
        Rule.OHLC_CONSISTENT,
        policy.ohlc_consistent,
        {
            "high": lambda v: v["high"] < v["low"],
            "open": lambda v: v["open"] > v["high"] or v["open"] < v["low"],
            "close": lambda v: v["close"] > v["high"] or v["close"] < v["low"],
        },
    )

    # calendar: without one, a bar ends on a multiple of its length since the epoch.
    action = _action(policy.off_calendar)
    kept = []
    for bar in bars:
        if bar.ts % step:
            findings.append((Rule.OFF_CALENDAR, action, bar.row, bar.ts, "ts"))
            if action is Action.DROPPED:
                continue
        kept.append(bar)
    bars = kept

    # gaps: every bar end from the first bar to the last should be there.
    if len(bars) >= 2:
        present = {bar.ts for bar in bars}
        times = [bar.ts for bar in bars]
        start = -(-bars[0].ts // step) * step
        runs: list[list[int]] = []
        previous_missing = False
        for end in range(start, bars[-1].ts + 1, step):
            if end in present:
                previous_missing = False
                continue
            if previous_missing:
                runs[-1].append(end)
            else:
                runs.append([end])
            previous_missing = True
        filled = []
        for run in runs:
            position = bisect.bisect_left(times, run[0])
            fill = policy.gaps == "repair" and len(run) <= policy.max_fill_bars
            failed = "error" if policy.gaps == "repair" else policy.gaps
            action = Action.FILLED if fill else _action(failed)
            findings.append((Rule.GAPS, action, bars[position].row, run[0], "ts"))
            if fill:
                close = bars[position - 1].values["close"]
                filled += [
                    Bar(None, end, {**dict.fromkeys(PRICES, close), "volume": 0.0}, False)
                    for end in run
                ]
        bars = sorted(bars + filled, key=lambda b: b.ts)

    # outliers: a log return many robust standard deviations from the median.
    if len(bars) >= 3:
        # Logs of zero and negative closes, and infinities minus infinities, are NaN by design.
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a median of NaNs alone is NaN
            logs = np.log([bar.values["close"] for bar in bars])
            returns = [math.nan] + [float(b - a) for a, b in itertools.pairwise(logs)]
            median = float(np.nanmedian(returns))
            spread = 1.4826 * float(np.nanmedian([abs(r - median) for r in returns]))
        if math.isfinite(spread) and spread != 0:
            action = _action(policy.outliers)
            for bar, r in zip(bars, returns, strict=True):
                z = abs(r - median) / spread
                if z > policy.outlier_robust_z and abs(r) >= policy.outlier_min_abs_return:
                    findings.append((Rule.OUTLIERS, action, bar.row, bar.ts, "close"))
    return findings, bars


def _close(value: float) -> float | None:
    return None if math.isnan(value) else value


@settings(max_examples=300, deadline=None)
@given(case=series(), policy=st.sampled_from(list(POLICIES)))
def test_each_rule_reports_and_keeps_what_its_plain_reading_does(
    case: tuple[pd.DataFrame, Timeframe], policy: str
) -> None:
    frame, timeframe = case
    rules = POLICIES[policy]
    expected, expected_bars = reference(frame, timeframe, rules)
    context = SeriesContext("x", "AAA", timeframe, None)
    with np.errstate(all="ignore"):  # logs of the zero and negative closes
        out, report = check_series(frame, context, rules)

    found = [
        (v.rule, v.action, v.row, None if v.ts is None else v.ts.value, v.column)
        for v in report.violations
    ]
    assert found == expected
    counted: dict[tuple[Rule, Action], int] = {}
    for rule, action, *_ in expected:
        counted[(rule, action)] = counted.get((rule, action), 0) + 1
    assert {key: n for key, n in report.counts.items() if n} == counted
    kept = [
        (None if pd.isna(row) else int(row), int(ns), _close(close))
        for row, ns, close in zip(
            out["row"],
            pd.DatetimeIndex(out["ts"]).as_unit("ns").asi8,
            out["close"],
            strict=True,
        )
    ]
    assert kept == [(b.row, b.ts, _close(b.values["close"])) for b in expected_bars]
    assert report.rows_out == len(expected_bars) == len(out)
