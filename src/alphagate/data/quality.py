"""Value rules for one symbol's bars, each with its own policy.

The checks run on a symbol's whole series, after parsing, so ordering,
duplicates, gaps and outliers are judged across chunk boundaries. Each rule
records every row it touched; ``error`` rejects the input, ``warn`` keeps the
row and reports it, and ``repair`` applies the rule's one documented fix.
Nothing here writes anywhere: the caller stores the result only when the
report has no errors.

The input is a flat frame with columns ``row`` (the row in the source, for
messages), ``ts`` (UTC bar close), the five OHLCV columns and optionally
``rejected``, which marks rows the source already refused: they count as
present for ordering and gaps, but their values are not judged again.
Rejected rows stay in the frame so every later rule still sees them; only
``repair`` removes rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alphagate.config import QualityConfig
from alphagate.data.calendar import bar_end_labels, expected_bar_ends, session_positions
from alphagate.domain.bars import BAR_COLUMNS, PRICE_COLUMNS
from alphagate.domain.quality_report import (
    MAX_RECORDED_PER_RULE,
    Action,
    QualityReport,
    Rule,
    Violation,
)
from alphagate.domain.timeframe import Timeframe

_ROBUST_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation


@dataclass(frozen=True)
class SeriesContext:
    """Where a series came from and how its bars should be spaced."""

    source: str
    symbol: str
    timeframe: Timeframe
    calendar: str | None


def check_series(
    frame: pd.DataFrame, context: SeriesContext, policy: QualityConfig
) -> tuple[pd.DataFrame, QualityReport]:
    """Apply every value rule to one symbol's bars; return the kept rows and the report.

    Rules run in a fixed order (order, duplicates, finite values, positive
    prices, volume, OHLC consistency, calendar, gaps, outliers) so a repair by
    one rule is visible to the next, and later rules see sorted, unique data
    even when an earlier rule only reported.
    """
    report = QualityReport(source=context.source, rows_in=len(frame))
    frame = frame.reset_index(drop=True)
    if "rejected" not in frame.columns:
        frame = frame.assign(rejected=False)
    frame = _check_order(frame, context, policy, report)
    frame = _check_duplicates(frame, context, policy, report)
    frame = _check_row_rule(
        frame,
        context,
        policy.non_finite,
        report,
        rule=Rule.NON_FINITE,
        find=_non_finite_columns,
    )
    frame = _check_row_rule(
        frame,
        context,
        policy.price_positive,
        report,
        rule=Rule.PRICE_POSITIVE,
        find=_non_positive_prices,
    )
    frame = _check_row_rule(
        frame,
        context,
        policy.volume_non_negative,
        report,
        rule=Rule.VOLUME_NON_NEGATIVE,
        find=_negative_volume,
    )
    frame = _check_row_rule(
        frame,
        context,
        policy.ohlc_consistent,
        report,
        rule=Rule.OHLC_CONSISTENT,
        find=_inconsistent_ohlc,
    )
    frame = _check_calendar(frame, context, policy, report)
    frame = _check_gaps(frame, context, policy, report)
    _check_outliers(frame, context, policy, report)
    report.rows_out = len(frame)
    return frame, report


def _action(policy: str) -> Action:
    return {"error": Action.REJECTED, "warn": Action.WARNED}.get(policy, Action.DROPPED)


def _drop_flagged(frame: pd.DataFrame, flagged: np.ndarray, action: Action) -> pd.DataFrame:
    """The frame without its ``flagged`` rows when the rule's action drops them, else as it is.

    Only ``repair`` drops: ``error`` rows stop the write anyway and ``warn``
    rows are kept on purpose, so every rule leaves its rows in for both.
    """
    if action is not Action.DROPPED:
        return frame
    kept: pd.DataFrame = frame.loc[~flagged].reset_index(drop=True)
    return kept


def _violation(
    context: SeriesContext,
    rule: Rule,
    action: Action,
    detail: str,
    *,
    row: object = None,
    ts: object = None,
    column: str | None = None,
) -> Violation:
    return Violation(
        rule=rule,
        action=action,
        source=context.source,
        detail=detail,
        row=None if row is None or pd.isna(row) else int(row),  # type: ignore[call-overload]
        ts=None if ts is None or pd.isna(ts) else pd.Timestamp(ts),  # type: ignore[call-overload,arg-type]
        symbol=context.symbol,
        column=column,
    )


def _report_rows(
    report: QualityReport,
    context: SeriesContext,
    frame: pd.DataFrame,
    mask: np.ndarray,
    *,
    rule: Rule,
    action: Action,
    column: str | Callable[[int], str],
    describe: Callable[[int], str],
) -> None:
    """Report each row in ``mask``; past the report's cap rows are only counted.

    Building a message per row for a million bad rows would cost more than the
    check itself, so only the rows the report keeps are described.
    """
    indices = np.flatnonzero(mask)
    for index in indices[:MAX_RECORDED_PER_RULE]:
        position = int(index)
        report.add(
            _violation(
                context,
                rule,
                action,
                describe(position),
                row=frame["row"].iloc[position],
                ts=frame["ts"].iloc[position],
                column=column(position) if callable(column) else column,
            )
        )
    if len(indices) > MAX_RECORDED_PER_RULE:
        report.counts[(rule, action)] += len(indices) - MAX_RECORDED_PER_RULE


def _check_order(
    frame: pd.DataFrame, context: SeriesContext, policy: QualityConfig, report: QualityReport
) -> pd.DataFrame:
    ts = frame["ts"]
    latest = ts.cummax().shift(1)
    backwards = ts.lt(latest).to_numpy()
    if not backwards.any():
        return frame
    action = Action.SORTED if policy.order == "repair" else _action(policy.order)
    _report_rows(
        report,
        context,
        frame,
        backwards,
        rule=Rule.ORDER,
        action=action,
        column="ts",
        describe=lambda i: (
            f"timestamp is earlier than {latest.iloc[i].isoformat()} on an earlier row"
        ),
    )
    # Later rules judge sorted data either way; only `repair` lets it be stored.
    return frame.sort_values("ts", kind="stable").reset_index(drop=True)


def _check_duplicates(
    frame: pd.DataFrame, context: SeriesContext, policy: QualityConfig, report: QualityReport
) -> pd.DataFrame:
    repeated = frame["ts"].duplicated(keep="last").to_numpy()
    if not repeated.any():
        return frame
    action = _action(policy.duplicates)
    later_rows = frame.groupby("ts")["row"].transform("last")
    _report_rows(
        report,
        context,
        frame,
        repeated,
        rule=Rule.DUPLICATES,
        action=action,
        column="ts",
        describe=lambda i: f"timestamp repeats on row {later_rows.iloc[i]} (repair keeps the last)",
    )
    return _drop_flagged(frame, repeated, action)


_Flags = dict[str, np.ndarray]
"""Per judged column, in order, a boolean array of the rows whose cell breaks a rule."""


def _floats(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].to_numpy(dtype=np.float64, na_value=np.nan)


def _non_finite_columns(frame: pd.DataFrame) -> _Flags:
    return {c: ~np.isfinite(_floats(frame, c)) for c in BAR_COLUMNS}


def _non_positive_prices(frame: pd.DataFrame) -> _Flags:
    return {c: _floats(frame, c) <= 0 for c in PRICE_COLUMNS}


def _negative_volume(frame: pd.DataFrame) -> _Flags:
    return {"volume": _floats(frame, "volume") < 0}


def _inconsistent_ohlc(frame: pd.DataFrame) -> _Flags:
    low, high = _floats(frame, "low"), _floats(frame, "high")
    open_, close = _floats(frame, "open"), _floats(frame, "close")
    return {
        "high": high < low,
        "open": (open_ > high) | (open_ < low),
        "close": (close > high) | (close < low),
    }


_ROW_RULE_TEXT = {
    Rule.NON_FINITE: "value is NaN or infinite ({value})",
    Rule.PRICE_POSITIVE: "price must be greater than zero, got {value}",
    Rule.VOLUME_NON_NEGATIVE: "volume must not be negative, got {value}",
    Rule.OHLC_CONSISTENT: "low <= open, close <= high and low <= high must hold ({bar})",
}


def _check_row_rule(
    frame: pd.DataFrame,
    context: SeriesContext,
    rule_policy: str,
    report: QualityReport,
    *,
    rule: Rule,
    find: Callable[[pd.DataFrame], _Flags],
) -> pd.DataFrame:
    """Run one row-wise rule: ``find`` flags the offending cells of each column it judges."""
    flags = find(frame)
    bad_rows = np.logical_or.reduce(list(flags.values())) & ~frame["rejected"].to_numpy(dtype=bool)
    if not bad_rows.any():
        return frame
    action = _action(rule_policy)

    def offending(position: int) -> list[str]:
        return [name for name, flagged in flags.items() if flagged[position]]

    def describe(position: int) -> str:
        record = frame.iloc[position]
        bar = ", ".join(f"{c}={record[c]}" for c in PRICE_COLUMNS)
        values = ", ".join(str(record[c]) for c in offending(position))
        return _ROW_RULE_TEXT[rule].format(value=values, bar=bar)

    _report_rows(
        report,
        context,
        frame,
        bad_rows,
        rule=rule,
        action=action,
        column=lambda position: ", ".join(offending(position)),
        describe=describe,
    )
    return _drop_flagged(frame, bad_rows, action)


def _check_calendar(
    frame: pd.DataFrame, context: SeriesContext, policy: QualityConfig, report: QualityReport
) -> pd.DataFrame:
    """A bar must end where its own period ends: on a session close, a clock boundary, …"""
    if frame.empty:
        return frame
    ts = pd.DatetimeIndex(frame["ts"])
    labels = bar_end_labels(ts, context.timeframe, context.calendar)
    off = np.asarray(labels != ts.as_unit("ns"))
    closed = np.zeros(len(ts), dtype=bool)
    if context.calendar is not None and context.timeframe.is_intraday:
        # Outside every session the labels fall back to clock boundaries, which such
        # a bar may sit on: a bar on a closed market is off the calendar all the same.
        closed = session_positions(ts, context.calendar) < 0
        off |= closed
    if not off.any():
        return frame
    action = _action(policy.off_calendar)
    where = f"calendar {context.calendar}" if context.calendar else "UTC boundaries"

    def describe(i: int) -> str:
        if closed[i]:
            return f"falls outside every session of calendar {context.calendar}"
        return (
            f"not a {context.timeframe} bar close on {where} "
            f"(the bar containing it closes at {labels[i].isoformat()})"
        )

    _report_rows(
        report,
        context,
        frame,
        off,
        rule=Rule.OFF_CALENDAR,
        action=action,
        column="ts",
        describe=describe,
    )
    return _drop_flagged(frame, off, action)


def _check_gaps(
    frame: pd.DataFrame, context: SeriesContext, policy: QualityConfig, report: QualityReport
) -> pd.DataFrame:
    """Compare the bars with the ones the market should have produced between first and last."""
    if len(frame) < 2:
        return frame
    ts = pd.DatetimeIndex(frame["ts"]).as_unit("ns")
    expected = expected_bar_ends(context.timeframe, context.calendar, ts[0], ts[-1])
    missing_mask = np.asarray(~expected.isin(ts))
    if not missing_mask.any():
        return frame
    run_id = np.cumsum(~missing_mask)  # consecutive missing bars share a run id
    missing = pd.Series(expected[missing_mask], index=run_id[missing_mask])
    fills = []
    for _, run in missing.groupby(level=0):
        first, last, length = run.iloc[0], run.iloc[-1], len(run)
        position = int(ts.searchsorted(first))
        after = frame.iloc[position]
        fill = policy.gaps == "repair" and length <= policy.max_fill_bars
        action = (
            Action.FILLED if fill else _action("error" if policy.gaps == "repair" else policy.gaps)
        )
        report.add(
            _violation(
                context,
                Rule.GAPS,
                action,
                (
                    f"missing bar at {first.isoformat()}"
                    if length == 1
                    else f"{length} missing bars from {first.isoformat()} to {last.isoformat()}"
                )
                + (" (longer than max_fill_bars)" if policy.gaps == "repair" and not fill else ""),
                row=after["row"],
                ts=first,
                column="ts",
            )
        )
        if fill:
            previous_close = frame["close"].iloc[position - 1]
            fills.append(
                pd.DataFrame(
                    {
                        "row": pd.array([pd.NA] * length, dtype="Int64"),
                        "ts": pd.DatetimeIndex(run.tolist()),
                        **dict.fromkeys(PRICE_COLUMNS, previous_close),
                        "volume": 0.0,
                        "rejected": False,
                    }
                )
            )
    if not fills:
        return frame
    combined = pd.concat([frame.astype({"row": "Int64"}), *fills], ignore_index=True)
    return combined.sort_values("ts", kind="stable").reset_index(drop=True)


def _check_outliers(
    frame: pd.DataFrame, context: SeriesContext, policy: QualityConfig, report: QualityReport
) -> None:
    """Flag returns far outside the series' own robust spread (a +1000% bar, say)."""
    if len(frame) < 3:
        return
    returns: pd.Series = np.log(frame["close"]).diff()
    median = returns.median()
    spread = _ROBUST_SIGMA * (returns - median).abs().median()
    if not np.isfinite(spread) or spread == 0:
        return
    z = (returns - median).abs() / spread
    flagged = (z > policy.outlier_robust_z) & (returns.abs() >= policy.outlier_min_abs_return)
    action = _action(policy.outliers)
    _report_rows(
        report,
        context,
        frame,
        flagged.to_numpy(),
        rule=Rule.OUTLIERS,
        action=action,
        column="close",
        describe=lambda i: (
            f"log return {returns.iloc[i]:+.4f} is {z.iloc[i]:.1f} robust "
            "standard deviations from the median"
        ),
    )
