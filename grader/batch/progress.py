"""What the person running `grade` sees at the end: a summary on stdout (live progress: live.py).

`print_summary` prints the class table and counts; `print_student` the per-question table of one
student, read back from the gradebook (so a skipped, unchanged notebook shows the same table as a
freshly graded one); `print_quiet` (`--quiet`) only the counts and what went wrong. Tables fit the
console's width: long cells are cut with an ellipsis, one row per line. Student names and messages
are printed as text, never as rich markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

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


def _table(console: Console, title: str, columns: list[tuple[str, str, bool]],
           rows: list[list[Text]]) -> Table:
    """A table that fits the console, one line per row: fixed columns (False) keep their width,
    the flexible ones (True) share the rest and end in an ellipsis when cut."""
    need = [max([len(name), *(row[i].cell_len for row in rows)])
            for i, (name, _, _) in enumerate(columns)]
    room = console.width - 3 * len(columns) - 1 - sum(
        n for n, (_, _, flexible) in zip(need, columns, strict=True) if not flexible)
    flexible = [i for i, column in enumerate(columns) if column[2]]
    widths = dict(enumerate(need))
    for i in sorted(flexible, key=lambda i: need[i]):  # the narrow ones first, the rest after
        widths[i] = max(min(need[i], room // len(flexible)), 4)
        room -= widths[i]
        flexible.remove(i)
    table = Table(title=Text(title), title_justify="left")
    for i, (name, justify, _) in enumerate(columns):
        table.add_column(name, justify=justify, no_wrap=True,  # type: ignore[arg-type]
                         overflow="ellipsis", width=widths[i])
    for row in rows:
        table.add_row(*row)
    return table


def _say(console: Console, text: str | Text) -> None:
    """A plain line, wrapped at the console's width, never read as markup."""
    console.print(text if isinstance(text, Text) else Text(text), highlight=False)


def _say_path(console: Console, label: str, path: Path) -> None:
    """`label: path` on one line, never wrapped: a path broken over two lines cannot be copied."""
    console.print(Text(f"{label}: {path}"), highlight=False, soft_wrap=True)


def print_summary(summary: BatchSummary, console: Console, limit: int = 60) -> None:
    """The final table (failures first) and the headline counts."""
    order = {"failed": 0, "missing": 1, "graded": 2}
    lines = sorted(summary.lines, key=lambda x: (order.get(x.status, 3), x.student))
    colours = {"graded": "green", "failed": "bold red", "missing": "yellow"}
    rows = [[Text(x.student), Text(x.status, colours.get(x.status, "")),
             Text("" if x.score is None else f"{x.score:.4g}/{x.max_score:g}"), Text(x.how),
             Text(f"{x.seconds:.1f}" if x.how else ""), Text(" ".join(x.note.split()))]
            for x in lines[:limit]]
    table = _table(console, f"{summary.assignment}: {summary.out_dir}",
                   [("student", "left", True), ("status", "left", False),
                    ("score", "right", False), ("how", "left", False),
                    ("s", "right", False), ("note", "left", True)], rows)
    console.print(table)
    if len(lines) > limit:
        _say(console, f"... and {len(lines) - limit} more: see {summary.out_dir / 'grades.csv'}")
    _say(console, summary.headline())
    print_grader_problems(summary, console)
    if summary.not_on_roster:
        _say(console, "Not on the roster: " + ", ".join(summary.not_on_roster))


def print_quiet(summary: BatchSummary, console: Console) -> None:
    """`--quiet`: the headline, then only what went wrong (failed notebooks, grader problems)."""
    if len(summary.lines) == 1 and summary.lines[0].score is not None:
        x = summary.lines[0]
        _say(console, f"{x.student}: {x.score:.4g}/{x.max_score:g}")
    else:
        _say(console, summary.headline())
    for x in summary.lines:
        if x.status == "failed":
            _say(console, f"{x.student}: failed to grade: {x.note}")
    print_grader_problems(summary, console)


def print_grader_problems(summary: BatchSummary, console: Console) -> None:
    """Each question left out of the scores, why, and for whom: the instructor's to fix."""
    problems = summary.grader_problems()
    if not problems:
        return
    _say(console, Text.assemble(("Grader problems", "bold red"), (
        " (not the students'; these questions are left out of the scores and maxima until "
        f"fixed; exit status {EXIT_GRADER_PROBLEM}):")))
    for qid, (why, students) in problems.items():
        who = ", ".join(students[:5]) + (f" and {len(students) - 5} more" if len(students) > 5
                                         else "")
        _say(console, f"  question {qid} ({who}): {why}")
    # a check the grader could not prepare failed while the notebook ran: only running it again
    # redoes it; one that failed while scoring is redone by a re-score from the cached execution
    _say(console, "  Fix the rubric or the reference and check it with `grade validate`, then "
                  "grade again (everyone: the reference changed), or re-score with `--rescore` "
                  "when the check failed while scoring.")


QUESTION_COLOURS = {"pass": "green", "partial": "yellow", "fail": "red", "error": "bold red",
                    "manual_pending": "cyan", "manual": "cyan", "override": "blue",
                    "not_attempted": "dim", "grader_error": "magenta"}


def print_student(sub: SubmissionRow, questions: list[QuestionRow], how: str,
                  console: Console, ledger: Ledger | None = None) -> None:
    """One student's questions: status, points (the ledger's) and the first problem of each."""
    by_id = {q.question_id: q for q in questions}
    ledger = ledger or build_ledger(sub.student, [
        AutoQuestion(q.question_id, q.title, q.status, q.points, q.max_points, q.manual_points,
                     q.not_attempted) for q in questions])
    score = "" if sub.score is None else f"{ledger.score:.1f} / {ledger.max_score:g}"
    rows = []
    for g in ledger.questions:
        q = by_id[g.id]
        problem = next((m["message"] for m in q.messages
                        if not m["passed"] and m["max_points"]), "") or q.not_run_reason
        pending = f" ({g.manual_pending:g} pending)" if g.manual_pending else ""
        rows.append([Text(g.id), Text(g.status, QUESTION_COLOURS.get(g.status, "")),
                     Text(f"{g.points:.4g}/{g.max_points:g}{pending}"),
                     Text(" ".join(problem.split()))])
    table = _table(console, f"{sub.assignment} — {sub.student}: {score}",
                   [("question", "left", False), ("status", "left", False),
                    ("points", "right", False), ("first problem", "left", True)], rows)
    console.print(table)
    if sub.status == "failed":
        _say(console, Text.assemble(("could not grade:", "bold red"), f" {sub.reason}"))
    if ledger.pending_manual:
        _say(console, f"{ledger.pending_manual:g} points await manual review.")
    if ledger.manual_awarded:
        _say(console, f"{ledger.manual_awarded:g} points awarded by a reviewer.")
    for g in ledger.questions:
        for note in g.notes:
            _say(console, f"{g.id}: {note}")
    if ledger.overridden:
        _say(console, f"Overridden by a person: question {', '.join(ledger.overridden)}.")
    if how == "skipped":
        _say(console, f"Unchanged since it was graded ({sub.graded_at}); --force grades it again.")


def print_run(summary: BatchSummary, options: GradeOptions, console: Console | None = None
              ) -> None:
    """The end of a run: one notebook's question table, or the class table (`--quiet`: the
    counts and what went wrong)."""
    from grader.batch.discover import is_single_notebook

    console = console or Console()
    if options.quiet:
        print_quiet(summary, console)
        return
    if is_single_notebook(options.paths) and len(summary.lines) == 1:
        line = summary.lines[0]
        with Gradebook(summary.out_dir) as gradebook:
            sub = gradebook.submission(line.student)
            if sub is not None:
                print_student(sub, gradebook.questions(line.student), line.how, console,
                              gradebook.ledger(line.student))
                stem = safe_name(line.student)
                _say_path(console, "report", summary.out_dir / (stem + ".html"))
                _say_path(console, "result", summary.out_dir / (stem + ".json"))
                _say_path(console, "class dashboard", summary.out_dir / "index.html")
                print_grader_problems(summary, console)
                return
    print_summary(summary, console)
    _say_path(console, "class dashboard", summary.out_dir / "index.html")
