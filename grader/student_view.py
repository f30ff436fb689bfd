"""Student view: a `GradeResult` and its `Ledger` -> `StudentReport`, what a student may read.

The instructor's report keeps everything. A student's keeps the student's own work (their errors,
printed output, figures and written answers), each check's student sentence (reference values left
out: grader/secret.py), points and statuses from the ledger, people's comments and override reasons;
it never holds a model answer, the reviewer's instructions, a hidden check's name or sentence (only
"a hidden check passed / failed", its points and the rubric's hint), an `after_due` check's details
before the due date, a grader problem's cause, or a path of the grading machine (the notebook is
named by its file name alone; paths in tracebacks and printed output are reduced to file names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from grader.ledger import Ledger, QuestionLedger
from grader.results import CheckOutcome, GradeResult, QuestionResult
from grader.secret import scrub_paths, student_text

HIDDEN_NAME = "hidden check"


@dataclass(frozen=True)
class StudentCheck:
    name: str
    passed: bool
    points: float
    max_points: float
    message: str  # the student's sentence, or the hint of a hidden check that failed
    hidden: bool
    informational: bool = False


@dataclass(frozen=True)
class StudentError:
    cell_index: int
    ename: str
    evalue: str
    traceback: str
    source: str
    expected: str


@dataclass(frozen=True)
class StudentQuestion:
    id: str
    title: str
    status: str
    points: float
    max_points: float
    manual_pending: float
    checks: list[StudentCheck]
    errors: list[StudentError]
    figures: list[str]  # PNG, base64
    markdown: list[str]
    stdout: str
    note: str  # the section's note, why it did not run, not counted, ...
    manual_line: str  # "6/8 awarded by ta1: comment" / "8 points await a reviewer"
    override_line: str


@dataclass(frozen=True)
class StudentReport:
    assignment: str
    student: str
    notebook: str  # file name only
    score: float
    max_score: float
    pending_manual: float
    fatal: str
    notes: list[str]
    questions: list[StudentQuestion] = field(default_factory=list)
    grader_version: str = ""


def after_due_visible(result: GradeResult, after_due: bool, now: datetime | None = None) -> bool:
    """Whether `after_due` checks are shown: asked for, or the rubric's due date has passed."""
    if after_due:
        return True
    if not result.due:
        return False
    due = datetime.fromisoformat(result.due)
    due = due if due.tzinfo else due.replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) >= due


def student_check(c: CheckOutcome, show_after_due: bool) -> StudentCheck:
    hidden = c.visibility == "hidden" or (c.visibility == "after_due" and not show_after_due)
    if hidden:
        said = ("passed" if c.passed else
                "failed" + (f": {scrub_paths(c.hint)}" if c.hint else ""))
        return StudentCheck(HIDDEN_NAME, c.passed, c.points, c.max_points,
                            f"a hidden check {said}", True, c.informational)
    message = c.student_message or ("passed" if c.passed else "failed")
    return StudentCheck(c.name, c.passed, c.points, c.max_points, student_text(message), False,
                        c.informational)


def _manual_line(q: QuestionLedger) -> str:
    if q.override is not None or not q.manual_max:
        return ""
    if q.manual_pending:
        return f"{q.manual_pending:g} points await a reviewer"
    if q.manual is not None:
        said = f": {q.manual.comment}" if q.manual.comment else ""
        return f"{q.manual_awarded:g}/{q.manual_max:g} points awarded by {q.manual.grader}{said}"
    return ""


def student_question(q: QuestionResult, g: QuestionLedger, show_after_due: bool
                     ) -> StudentQuestion:
    s = q.section
    notes = []
    if not g.counted:
        notes.append("Not counted: the grader could not check this question (its problem, not "
                     "yours); it is left out of the score and the maximum until the instructor "
                     "fixes it.")
    if g.status == "not_attempted":
        notes.append("Not attempted: this section's code is the handout's, unchanged.")
    if s is not None and s.note:
        notes.append(scrub_paths(s.note))
    if s is not None and not s.executed and s.not_run_reason:
        notes.append("Not run: " + scrub_paths(s.not_run_reason))
    errors = [StudentError(e.cell_index, e.ename, scrub_paths(e.evalue),
                           scrub_paths(e.traceback), e.source, scrub_paths(e.expected))
              for e in (s.errors if s else [])]
    override = (f"{g.override.points:g}/{g.max_points:g} points set by {g.override.grader}: "
                f"{g.override.reason}" if g.override is not None else "")
    return StudentQuestion(
        id=q.id, title=q.title, status=g.status, points=g.points, max_points=g.max_points,
        manual_pending=g.manual_pending,
        checks=[student_check(c, show_after_due) for c in q.checks],
        errors=errors, figures=[f.png_base64 for f in (s.figures if s else [])],
        markdown=list(s.markdown if s else []),
        stdout=scrub_paths(s.stdout[-4000:]) if s else "", note=" ".join(notes),
        manual_line=_manual_line(g), override_line=override)


def student_report(result: GradeResult, ledger: Ledger, after_due: bool = False,
                   now: datetime | None = None) -> StudentReport:
    show = after_due_visible(result, after_due, now)
    by_id = {g.id: g for g in ledger.questions}
    return StudentReport(
        assignment=result.assignment, student=result.student,
        notebook=Path(result.notebook).name, score=ledger.score, max_score=ledger.max_score,
        pending_manual=ledger.pending_manual, fatal=scrub_paths(result.fatal),
        notes=[scrub_paths(n) for n in result.notes],
        questions=[student_question(q, by_id[q.id], show) for q in result.questions],
        grader_version=str(result.environment.get("grader_version", "")))
