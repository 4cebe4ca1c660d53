"""How a pipeline run looks on a console: a live line per stage, then a summary table.

On a terminal each running stage gets a spinner with its elapsed time and its
steps print above it; piped into a log, the same events become plain
timestamped lines, because a live display written to a file is unreadable.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from alphagate.pipeline.runner import PipelineResult, StageOutcome, StageState

_STYLES = {"ran": "green", "cached": "cyan", "failed": "bold red", "interrupted": "yellow"}


class RichReporter:
    """A ``Reporter`` that draws on ``console`` (use it as a context manager)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._began = time.perf_counter()
        self._live = console.is_terminal
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            disable=not self._live,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def stage_started(self, name: str) -> None:
        """Show a spinner for ``name`` (or a plain line when not on a terminal)."""
        if self._live:
            self._tasks[name] = self._progress.add_task(f"[bold]{name}[/bold] running", total=None)
        else:
            self._line(f"{name}: started")

    def stage_message(self, name: str, text: str) -> None:
        """Print one step of a running stage above the live display."""
        self._line(f"{name}: ", text)

    def stage_finished(self, outcome: StageOutcome) -> None:
        """Replace the spinner by the outcome, or print it."""
        style = _STYLES[outcome.status]
        seconds = "" if outcome.seconds is None else f" {outcome.seconds:.1f}s"
        styled = f"{outcome.name}: [{style}]{outcome.status}[/{style}]{seconds}"
        tail = outcome.error or outcome.summary
        if outcome.name in self._tasks:
            task = self._tasks.pop(outcome.name)
            self._progress.update(task, description=styled, total=1, completed=1)
            self._progress.stop_task(task)
            if tail:
                self._line(f"{outcome.name}: ", tail)
        else:
            self._line(styled + (" " if tail else ""), tail)

    def _line(self, styled: str, plain: str = "") -> None:
        """Print ``styled`` (Rich markup) followed by ``plain`` (printed as is)."""
        line = Text.from_markup(f"[dim]{time.perf_counter() - self._began:7.1f}s[/dim] {styled}")
        line.append(plain)
        self._progress.console.print(line, highlight=False, soft_wrap=True)


def summary_table(result: PipelineResult) -> Table:
    """One row per stage: status, seconds, peak MiB and its key outputs."""
    table = Table(title=f"Pipeline run {result.run_id}")
    for column in ("stage", "status", "seconds", "peak MiB", "key outputs"):
        table.add_column(column, justify="right" if column in ("seconds", "peak MiB") else "left")
    for outcome in result.outcomes:
        style = _STYLES[outcome.status]
        table.add_row(
            outcome.name,
            f"[{style}]{outcome.status}[/{style}]",
            _number(outcome.seconds, "{:.1f}"),
            _number(outcome.peak_mib, "{:,.0f}"),
            Text(outcome.error or outcome.summary),
        )
    table.caption = (
        f"{result.seconds:.1f}s wall in {result.run_dir}; cached rows show the seconds and "
        "memory of the run that made them"
    )
    return table


def status_table(run_id: str, states: Sequence[StageState]) -> Table:
    """One row per stage of a run: complete, stale (and why), interrupted or missing."""
    styles = {"complete": "green", "stale": "yellow", "missing": "dim", "interrupted": "red"}
    table = Table(title=f"Pipeline run {run_id}")
    for column in ("stage", "state", "finished (UTC)", "seconds", "peak MiB", "notes"):
        table.add_column(column, justify="right" if column in ("seconds", "peak MiB") else "left")
    for item in states:
        manifest = item.manifest or {}
        style = styles[item.state]
        table.add_row(
            item.name,
            f"[{style}]{item.state}[/{style}]",
            str(manifest.get("finished_utc", "—")),
            _number(manifest.get("wall_seconds"), "{:.1f}"),
            _number(manifest.get("peak_memory_mib"), "{:,.0f}"),
            Text(item.reason or str(manifest.get("summary", ""))),
        )
    return table


def _number(value: object, template: str) -> str:
    return template.format(value) if isinstance(value, int | float) else "—"


def validation_table(run_id: str, report: Mapping[str, Any]) -> Table:
    """The validation report as a table: every check, its value, threshold and result."""
    table = Table(title=f"Validation of {run_id}: verdict {report.get('verdict', '?')}")
    for column in ("check", "value", "must be", "result"):
        table.add_column(column, justify="left" if column in ("check", "result") else "right")
    for check in report.get("checks", []):
        passed = check.get("passed")
        result = "pass" if passed is True else "FAIL" if passed is False else "missing"
        threshold = f"{check.get('comparison', '')} {_number(check.get('threshold'), '{:.4g}')}"
        value = check.get("value")
        table.add_row(str(check.get("name")), _number(value, "{:.4g}"), threshold, result)
    return table
