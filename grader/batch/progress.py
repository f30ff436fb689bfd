"""What the person running `grade` sees: live progress on stderr, then a summary on stdout.

`Display` shows done/total, who is running, elapsed time and an ETA while a batch runs, and a line
per finished student. `print_summary` prints the class table and counts; `print_student` the
per-question table of one student, read back from the gradebook (so a skipped, unchanged notebook
shows the same table as a freshly graded one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from grader.ledger import AutoQuestion, Ledger, build_ledger
from grader.options import GradeOptions
from grader.report import safe_name
from grader.store import Gradebook, QuestionRow, SubmissionRow

EXIT_FAILED = 1  # some notebook could not be graded
EXIT_GRADER_PROBLEM = 3  # some question could not be checked for an instructor-side reason


@dataclass
class StudentLine:
    student: str
    status: str  # graded, failed, missing
    how: str  # executed, rescored, skipped, ''
    score: float | None
    max_score: float
    seconds: float
    note: str = ""
    grader_problems: list[tuple[str, str]] = field(default_factory=list)  # (question, why)


@dataclass
class BatchSummary:
    assignment: str
    out_dir: Path
    lines: list[StudentLine] = field(default_factory=list)
    not_on_roster: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    def count(self, status: str | None = None, how: str | None = None) -> int:
        return sum((status is None or x.status == status) and (how is None or x.how == how)
                   for x in self.lines)

    @property
    def exit_code(self) -> int:
        """3 when some question is a grader problem (left out of the scores), else 1 when a
        submission of this run stands as failed to grade (new or unchanged), else 0."""
        if self.grader_problems():
            return EXIT_GRADER_PROBLEM
        return EXIT_FAILED if self.count("failed") else 0

    def grader_problems(self) -> dict[str, tuple[str, list[str]]]:
        """Question id -> (the first reason, the students it was left out for)."""
        found: dict[str, tuple[str, list[str]]] = {}
        for line in self.lines:
            for qid, why in line.grader_problems:
                found.setdefault(qid, (why, []))[1].append(line.student)
        return found

    def headline(self) -> str:
        n = len([x for x in self.lines if x.status != "missing"])
        skipped = self.count(how="skipped")
        failed_skipped = self.count("failed", "skipped")
        text = (f"{n} submissions: {self.count('graded') - self.count('graded', 'skipped')} "
                f"graded, {self.count('failed') - failed_skipped} failed to grade, {skipped} "
                "skipped (unchanged since the last run"
                + (f"; {failed_skipped} of them had failed to grade" if failed_skipped else "")
                + ")")
        if self.count(how="rescored"):
            text += (f"; {self.count(how='rescored')} of them re-scored from cached executions "
                     "(no notebook ran)")
        if self.count("missing"):
            text += f"; {self.count('missing')} on the roster without a submission"
        if self.not_on_roster:
            text += f"; {len(self.not_on_roster)} not on the roster"
        return text + f". {self.wall_seconds:.1f} s."


class Display:
    """Live progress on stderr (done/total, who is running, elapsed, ETA); one line per result."""

    def __init__(self, total: int, console: Console) -> None:
        self.console = console
        self.total = total
        self.done = 0
        self.running: list[str] = []
        self.progress: Progress | None = None
        if console.is_terminal and total:
            self.progress = Progress(
                SpinnerColumn(), TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                TextColumn("{task.fields[current]}"), console=console, transient=True)
            self.task = self.progress.add_task("grading", total=total, current="")

    def __enter__(self) -> Self:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def _refresh(self) -> None:
        if self.progress is not None:
            shown = ", ".join(self.running[:4]) + (f" +{len(self.running) - 4}"
                                                   if len(self.running) > 4 else "")
            self.progress.update(self.task, completed=self.done, current=shown)

    def started(self, student: str) -> None:
        self.running.append(student)
        self._refresh()

    def finished(self, line: StudentLine) -> None:
        if line.student in self.running:
            self.running.remove(line.student)
        self.done += 1
        score = "" if line.score is None else f" {line.score:.4g}/{line.max_score:g}"
        colour = "green" if line.status == "graded" else "red"
        note = f": {line.note[:120]}" if line.note else ""
        self.console.print(f"[{self.done}/{self.total}] {line.student}: [{colour}]{line.status}"
                           f"[/]{score} ({line.how}, {line.seconds:.1f} s){note}",
                           highlight=False, soft_wrap=True)
        self._refresh()


def print_summary(summary: BatchSummary, console: Console, limit: int = 60) -> None:
    """The final table (failures first) and the headline counts."""
    order = {"failed": 0, "missing": 1, "graded": 2}
    lines = sorted(summary.lines, key=lambda x: (order.get(x.status, 3), x.student))
    table = Table(title=f"{summary.assignment}: {summary.out_dir}", title_justify="left")
    for column, justify in (("student", "left"), ("status", "left"), ("score", "right"),
                            ("how", "left"), ("seconds", "right"), ("note", "left")):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    colours = {"graded": "green", "failed": "bold red", "missing": "yellow"}
    for x in lines[:limit]:
        score = "" if x.score is None else f"{x.score:.4g}/{x.max_score:g}"
        table.add_row(x.student, f"[{colours.get(x.status, '')}]{x.status}[/]", score, x.how,
                      f"{x.seconds:.1f}" if x.how else "", x.note[:100])
    console.print(table)
    if len(lines) > limit:
        console.print(f"... and {len(lines) - limit} more: see {summary.out_dir / 'grades.csv'}",
                      soft_wrap=True)
    console.print(summary.headline(), highlight=False, soft_wrap=True)
    print_grader_problems(summary, console)
    if summary.not_on_roster:
        console.print("Not on the roster: " + ", ".join(summary.not_on_roster), highlight=False,
                      soft_wrap=True)


def print_grader_problems(summary: BatchSummary, console: Console) -> None:
    """Each question left out of the scores, why, and for whom: the instructor's to fix."""
    problems = summary.grader_problems()
    if not problems:
        return
    console.print(f"[bold red]Grader problems[/] (not the students'; these questions are left out "
                  f"of the scores and maxima until fixed; exit status {EXIT_GRADER_PROBLEM}):",
                  highlight=False, soft_wrap=True)
    for qid, (why, students) in problems.items():
        who = ", ".join(students[:5]) + (f" and {len(students) - 5} more" if len(students) > 5
                                         else "")
        console.print(f"  question {qid} ({who}): {why}", highlight=False, soft_wrap=True,
                      markup=False)
    # a check the grader could not prepare failed while the notebook ran: only running it again
    # redoes it; one that failed while scoring is redone by a re-score from the cached execution
    console.print("  Fix the rubric or the reference and check it with `grade validate`, then "
                  "grade again (everyone: the reference changed), or re-score with `--rescore` "
                  "when the check failed while scoring.", highlight=False, soft_wrap=True,
                  markup=False)


QUESTION_COLOURS = {"pass": "green", "partial": "yellow", "fail": "red", "error": "bold red",
                    "manual_pending": "cyan", "manual": "cyan", "override": "blue",
                    "not_attempted": "dim", "grader_error": "magenta"}


def print_student(sub: SubmissionRow, questions: list[QuestionRow], how: str,
                  console: Console, ledger: Ledger | None = None) -> None:
    """One student's questions: status, points (the ledger's) and the first problem of each."""
    rows = {q.question_id: q for q in questions}
    ledger = ledger or build_ledger(sub.student, [
        AutoQuestion(q.question_id, q.title, q.status, q.points, q.max_points, q.manual_points,
                     q.not_attempted) for q in questions])
    score = "" if sub.score is None else f"{ledger.score:.1f} / {ledger.max_score:g}"
    table = Table(title=f"{sub.assignment} — {sub.student}: {score}", title_justify="left")
    for column, justify in (("question", "left"), ("status", "left"), ("points", "right"),
                            ("first problem", "left")):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for g in ledger.questions:
        q = rows[g.id]
        problem = next((m["message"] for m in q.messages
                        if not m["passed"] and m["max_points"]), "") or q.not_run_reason
        pending = f" ({g.manual_pending:g} pending)" if g.manual_pending else ""
        table.add_row(g.id, f"[{QUESTION_COLOURS.get(g.status, '')}]{g.status}[/]",
                      f"{g.points:.4g}/{g.max_points:g}{pending}", problem[:160])
    console.print(table)
    if sub.status == "failed":
        console.print(f"[bold red]could not grade:[/] {sub.reason}", highlight=False)
    if ledger.pending_manual:
        console.print(f"{ledger.pending_manual:g} points await manual review.", highlight=False)
    if ledger.manual_awarded:
        console.print(f"{ledger.manual_awarded:g} points awarded by a reviewer.", highlight=False)
    for g in ledger.questions:
        for note in g.notes:
            console.print(f"{g.id}: {note}", highlight=False, soft_wrap=True)
    if ledger.overridden:
        console.print(f"Overridden by a person: question {', '.join(ledger.overridden)}.",
                      highlight=False)
    if how == "skipped":
        console.print(f"Unchanged since it was graded ({sub.graded_at}); --force grades it "
                      "again.", highlight=False)


def print_run(summary: BatchSummary, options: GradeOptions, console: Console | None = None
              ) -> None:
    """The end of a run: one notebook's question table, or the class table."""
    from grader.batch.discover import is_single_notebook

    console = console or Console()
    if is_single_notebook(options.paths) and len(summary.lines) == 1:
        line = summary.lines[0]
        with Gradebook(summary.out_dir) as gradebook:
            sub = gradebook.submission(line.student)
            if sub is not None:
                print_student(sub, gradebook.questions(line.student), line.how, console,
                              gradebook.ledger(line.student))
                stem = safe_name(line.student)
                console.print(f"report: {summary.out_dir / (stem + '.html')}   result: "
                              f"{summary.out_dir / (stem + '.json')}", highlight=False,
                              soft_wrap=True)
                print_grader_problems(summary, console)
                return
    print_summary(summary, console)
