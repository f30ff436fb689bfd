"""What the person running `grade` sees while it runs: a live status line on stderr.

`Display(total, console, workers, quiet)` is told when a notebook starts (`started`), which cell it
is at (`cell`, for a notebook graded in this process) and when it is done (`finished`). On a
terminal it keeps one spinner line: "alice · 1.3 · cell 14/41", elapsed time and, in a batch, an
ETA that counts down every second between completions (the mean time of the notebooks finished so
far, minus what the running ones have already spent). Elsewhere (a log, CI) it prints a plain line
per finished notebook and, for a notebook in this process, an occasional line saying where it is.
`quiet` prints nothing: the summary at the end is all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column
from rich.text import Text

from grader.results import CellProgress

if TYPE_CHECKING:
    from grader.batch.progress import StudentLine

PLAIN_EVERY = 15.0  # seconds between two plain "where it is" lines when not on a terminal


def clock_text(seconds: float) -> str:
    """'0:42', '12:05', '1:02:03'."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def where_text(progress: CellProgress) -> str:
    """'alice · 1.3 · cell 14/41' (no question before the first heading)."""
    parts = [progress.student, progress.question_id, f"cell {progress.done}/{progress.total}"]
    return " · ".join(p for p in parts if p)


class EtaColumn(ProgressColumn):
    """'ETA 1:23', recomputed at every refresh (so it counts down between completions)."""

    def __init__(self, eta: Callable[[], float | None]) -> None:
        super().__init__(table_column=Column(no_wrap=True))
        self.eta = eta

    def render(self, task: Task) -> Text:
        seconds = self.eta()
        return Text("ETA " + ("–:––" if seconds is None else clock_text(seconds)),
                    style="progress.remaining")


class Display:
    """Live progress on stderr; one line per finished notebook (see the module docstring)."""

    def __init__(self, total: int, console: Console, workers: int = 1, quiet: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console, self.total, self.workers, self.quiet = console, total, max(1, workers), quiet
        self.clock = clock
        self.done = 0
        self.running: dict[str, float] = {}  # student -> when it started
        self.where: dict[str, CellProgress] = {}
        self.durations: list[float] = []  # seconds of the notebooks executed so far
        self.last_plain = -PLAIN_EVERY
        self.last_question = ""
        self.progress: Progress | None = None
        if console.is_terminal and total and not quiet:
            columns: list[ProgressColumn] = [SpinnerColumn(), TextColumn("grading")]
            if total > 1:
                columns += [BarColumn(bar_width=16), MofNCompleteColumn(),
                            EtaColumn(self.eta_seconds)]
            columns += [TimeElapsedColumn(),
                        TextColumn("{task.fields[current]}", table_column=Column(
                            ratio=1, no_wrap=True, overflow="ellipsis"))]
            self.progress = Progress(*columns, console=console, transient=True, expand=True)
            self.task = self.progress.add_task("grading", total=total, current="")

    def __enter__(self) -> Self:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def eta_seconds(self) -> float | None:
        """Seconds until the last notebook is done, from the mean of those done; None before."""
        if not self.durations:
            return None
        mean = sum(self.durations) / len(self.durations)
        now = self.clock()
        running = [max(mean - (now - t0), 0.0) for t0 in self.running.values()]
        queued = max(self.total - self.done - len(running), 0)
        work = sum(running) + queued * mean
        return max(work / self.workers, max(running, default=0.0))

    def current_text(self) -> str:
        """Who is running and, for a notebook graded here, where it is."""
        names = [where_text(self.where[s]) if s in self.where else s for s in self.running]
        shown = ", ".join(names[:3])
        return shown + (f" +{len(names) - 3}" if len(names) > 3 else "")

    def _refresh(self) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=self.done, current=self.current_text())

    def started(self, student: str) -> None:
        self.running[student] = self.clock()
        self._refresh()

    def cell(self, progress: CellProgress) -> None:
        """A cell of a notebook graded in this process is about to run."""
        self.where[progress.student] = progress
        if self.progress is not None:
            self._refresh()
            return
        now = self.clock()
        moved = progress.question_id != self.last_question
        if self.quiet or not (moved or now - self.last_plain >= PLAIN_EVERY):
            return
        self.last_plain, self.last_question = now, progress.question_id
        t0 = self.running.get(progress.student, now)
        self.console.print(f"  {where_text(progress)} ({clock_text(now - t0)} elapsed)",
                           highlight=False, markup=False)

    def finished(self, line: StudentLine) -> None:
        """A notebook is done: a line for it (off a terminal, with the ETA of the rest)."""
        self.running.pop(line.student, None)
        self.where.pop(line.student, None)
        self.done += 1
        if line.how == "executed":
            self.durations.append(line.seconds)
        if not self.quiet:
            score = "" if line.score is None else f" {line.score:.4g}/{line.max_score:g}"
            colour = "green" if line.status == "graded" else "red"
            note = Text(f": {line.note[:120]}") if line.note else Text("")
            eta = self.eta_seconds() if self.progress is None and self.done < self.total else None
            text = Text.assemble(f"[{self.done}/{self.total}] {line.student}: ",
                                 (line.status, colour),
                                 f"{score} ({line.how}, {line.seconds:.1f} s)", note,
                                 f" · ETA {clock_text(eta)}" if eta is not None else "")
            self.console.print(text, highlight=False)
        self._refresh()
