"""A refused file, told so a person can fix it: counts, first rows, one likely fix, a full list.

A file with 4,796 bad rows printed in full teaches nothing: the reader needs
to know which rules broke and how often, to see a few rows of each, and to
read the one change that most likely fixes them (a calendar, a bar size, a
policy). The full list goes to a CSV file whose path is printed, for the
reader who wants every row.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

from alphagate.data.inference import Inference, symbol_of_path
from alphagate.domain.quality_report import Action, DataValidationError, QualityReport, Rule

SHOWN_PER_RULE = 3
"""Rows printed per broken rule; the report file holds the rest."""

_REPAIRABLE = {
    Rule.ORDER: "sorts them",
    Rule.DUPLICATES: "keeps the last of each",
    Rule.NON_FINITE: "drops those rows",
    Rule.PRICE_POSITIVE: "drops those rows",
    Rule.VOLUME_NON_NEGATIVE: "drops those rows",
    Rule.OHLC_CONSISTENT: "drops those rows",
    Rule.OFF_CALENDAR: "drops those rows",
}


class FileRefusedError(DataValidationError):
    """A file broke rules whose policy is ``error``; the message is the readable refusal."""

    def __init__(self, report: QualityReport, hint: str | None, report_file: Path | None) -> None:
        self.hint = hint
        self.report_file = report_file
        super().__init__(report)
        # The parent's message lists the first errors of any rule; this one is per rule.
        self.args = (refusal_text(report, hint, report_file),)

    def __str__(self) -> str:
        return str(self.args[0])


def refusal_text(report: QualityReport, hint: str | None, report_file: Path | None) -> str:
    """Counts per rule, the first rows of each, the likely fix and where the full list is."""
    errors = report.error_count
    lines = [f"{report.source}: {errors:,} data-quality error(s); nothing was stored"]
    lines.extend(rule_lines(report))
    if hint:
        lines.append(f"likely fix: {hint}")
    if report_file is not None:
        lines.append(f"full list: {report_file}")
    return "\n".join(lines)


def rule_lines(report: QualityReport) -> list[str]:
    """For each (rule, action), its count and its first :data:`SHOWN_PER_RULE` rows."""
    lines: list[str] = []
    for (rule, action), count in sorted(report.counts.items()):
        lines.append(f"  {rule.value}: {count:,} {action.value}")
        shown = [v for v in report.violations if (v.rule, v.action) == (rule, action)]
        lines.extend(f"    {violation}" for violation in shown[:SHOWN_PER_RULE])
        if count > SHOWN_PER_RULE:
            lines.append(f"    ... and {count - SHOWN_PER_RULE:,} more")
    return lines


def write_report_file(report: QualityReport, folder: Path | None = None) -> Path:
    """Write every recorded violation as CSV in ``folder`` (a temporary one by default).

    The report keeps up to 200 rows per rule and action (counts are never
    capped); the file says so on its last line when a rule had more.
    """
    folder = folder or Path(tempfile.gettempdir()) / "alphagate-reports"
    folder.mkdir(parents=True, exist_ok=True)
    stem = symbol_of_path(Path(report.source)) or "input"
    handle, name = tempfile.mkstemp(prefix=f"{stem}-quality-", suffix=".csv", dir=folder)
    path = Path(name)
    with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["rule", "action", "file", "row", "ts", "symbol", "column", "detail"])
        for v in report.violations:
            ts = "" if v.ts is None else v.ts.isoformat()
            row = "" if v.row is None else v.row
            writer.writerow(
                [v.rule.value, v.action.value, v.source, row, ts, v.symbol or "", v.column or "",
                 v.detail]
            )  # fmt: skip
        unlisted = sum(report.counts.values()) - len(report.violations)
        if unlisted > 0:
            writer.writerow(["", "", "", "", "", "", "", f"{unlisted:,} more counted, not listed"])
    return path


def fix_hint(report: QualityReport, inference: Inference | None) -> str | None:
    """The one change most likely to make the file pass, or None when none is known.

    Structural rules come first (nothing else can be judged while they
    break), then the calendar and the bar size, which explain most of the
    rows of a file read with the wrong ones, then the rule with most rows.
    """
    broken = dict.fromkeys(Rule, 0)
    for (rule, action), count in report.counts.items():
        if action is Action.REJECTED:
            broken[rule] += count
    order = [Rule.EMPTY, Rule.REQUIRED_COLUMNS, Rule.TIMEZONE, Rule.TIMESTAMP, Rule.NUMERIC]
    for rule in order:
        if broken[rule]:
            return _structural_hint(rule, report)
    if inference is not None:
        fix = _calendar_hint(broken, inference) or _spacing_hint(broken, inference)
        if fix is not None:
            return fix
    return _policy_hint(broken)


def _policy_hint(broken: dict[Rule, int]) -> str | None:
    """The policy that would let the rule with most rejected rows through, if one would."""
    worst = max(broken, key=lambda rule: broken[rule])
    if not broken[worst]:
        return None
    if worst is Rule.GAPS:
        return (
            f"{broken[worst]:,} stretch(es) of missing bars: fill short ones with "
            "--set data.quality.gaps=repair, or keep the bars as they are with "
            "--set data.quality.gaps=warn"
        )
    if worst in _REPAIRABLE:
        return (
            f"fix the rows in the file, or --set data.quality.{worst.value}=repair "
            f"({_REPAIRABLE[worst]})"
        )
    return None


_STRUCTURAL_HINTS: tuple[tuple[Rule, str, str], ...] = (
    (Rule.EMPTY, "", "check the path, and that the file holds a header and rows"),
    (
        Rule.REQUIRED_COLUMNS,
        "",
        "name the file's columns, e.g. --set data.csv.ts_column=Date "
        "(or --symbol for a file without a symbol column)",
    ),
    (
        Rule.TIMEZONE,
        "no UTC offset",
        "the times have no UTC offset: give the zone the file was written in, "
        "--set data.csv.timezone=America/New_York (or --timezone on data commands)",
    ),
    (
        Rule.TIMESTAMP,
        "epoch",
        "the times are epoch numbers: give their unit, --set data.csv.timestamp_unit=s",
    ),
    (
        Rule.TIMESTAMP,
        "date without a time",
        "the file holds dates: read it as daily bars, --timeframe 1d",
    ),
    (
        Rule.TIMESTAMP,
        "",
        "write ISO 8601 times, or give their layout: --set data.csv.timestamp_format=...",
    ),
    (
        Rule.TIMEZONE,
        "",
        "write ISO 8601 times, or give their layout: --set data.csv.timestamp_format=...",
    ),
    (Rule.NUMERIC, "", "fix the cells named above: prices and volumes must be numbers"),
)
"""Per structural rule, the first hint whose words appear in the rule's messages."""


def _structural_hint(rule: Rule, report: QualityReport) -> str:
    details = " ".join(v.detail for v in report.violations if v.rule is rule)
    for hinted, words, hint in _STRUCTURAL_HINTS:
        if hinted is rule and words in details:
            return hint
    return "fix the rows named above"


def _calendar_hint(broken: dict[Rule, int], inference: Inference) -> str | None:
    guess = inference.guess
    rows = broken[Rule.OFF_CALENDAR] + broken[Rule.GAPS]
    if not rows or guess.calendar == inference.calendar:
        return None
    looks = {None: "a market that trades around the clock", "fx": "FX"}.get(
        guess.calendar, f"{guess.calendar} sessions"
    )
    option = guess.calendar or "none"
    what = (
        f"{broken[Rule.OFF_CALENDAR]:,} bars fall outside the "
        f"{inference.calendar or '24/7'} sessions"
        if broken[Rule.OFF_CALENDAR]
        else f"{broken[Rule.GAPS]:,} gaps against the {inference.calendar or '24/7'} sessions"
    )
    return f"{what} ({guess.because}): the data looks like {looks}; try --calendar {option}"


def _spacing_hint(broken: dict[Rule, int], inference: Inference) -> str | None:
    spacing = inference.spacing
    rows = broken[Rule.DUPLICATES] + broken[Rule.GAPS] + broken[Rule.OFF_CALENDAR]
    if not rows or spacing is None or spacing == inference.timeframe:
        return None
    return (
        f"the bars are {spacing} apart but are read as {inference.timeframe} bars; "
        f"try --timeframe {spacing}"
    )


def refuse(error: DataValidationError, inference: Inference | None) -> FileRefusedError:
    """The readable form of ``error``: its report, the likely fix and the full list's file."""
    try:
        report_file: Path | None = write_report_file(error.report)
    except OSError:
        report_file = None  # the refusal still prints; only the full list is lost
    return FileRefusedError(error.report, fix_hint(error.report, inference), report_file)
